// Answer extraction from whole model responses (ALGORITHMS §9.1) and the text helpers it
// shares with normalisation.
//
// The last \boxed{..}/\fbox{..} wins (also `\boxed X`); boxes just before it that are joined
// to it only by connectors ("and", ",", "\quad", a lone "y_2 =") are taken with it as a list
// (e.g. `\boxed{1} and \boxed{2}`). Without a box, and unless `strict`: the last "final
// answer is", then "the answer is", then other answer markers ("Answer:", "réponse est",
// "答案是"); then the last math span ($..$, $$..$$, \(..\), \[..\], a matrix environment) or
// bare number, whichever ends last. Inline spans ($..$, \(..\)) may not cross a newline.
// Every scan is linear in the input; nothing is recursive. Thread-safe (pure functions).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "scorch/reward/grader.h"

namespace scorch::reward {

// All \boxed/\fbox contents of `text` that form the final group (see above), in order.
// Empty when `text` has no box. `unclosed_ok`: an unclosed last box runs to the end.
std::vector<std::string> FinalBoxedGroup(std::string_view text);

// Rewrites double-escaped commands (`\\frac` -> `\frac`) for a list of known commands, as
// produced by responses that were JSON-escaped twice.
std::string CollapseDoubleEscapes(std::string_view text);

// True when `text` reads as prose (two or more words that are not LaTeX commands,
// connectors or units).
bool IsWordy(std::string_view text);

}  // namespace scorch::reward
