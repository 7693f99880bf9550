// Answer normalisation (ALGORITHMS §9.2): the string rewrites applied to an extracted answer
// before it is parsed. Drops `$`, \left/\right, spacing commands, a trailing period and
// degree marks; \dfrac/\tfrac/\cfrac -> \frac; unwraps \text{}, \mbox{}, \mathrm{},
// \textbf{} (a trailing \text{units} is dropped, as are vetted multi-letter unit words, never a
// single letter); removes thousands separators inside numbers (`1,000`, `1{,}000`, `1\,000`,
// `1 000`); word numbers ("five") become digits; `%`, "percent", "pct" are removed and
// reported. Pure functions, thread-safe; linear in the input.
#pragma once

#include <string>
#include <string_view>

namespace scorch::reward {

struct NormalizedAnswer {
  std::string text;          // normalised LaTeX, ready for the parser
  bool percent = false;      // the answer carried %, \%, "percent" or "pct"
  bool decimal_comma = false;  // text is `d,d` (no space), which may be a decimal comma
};

// Normalises one answer (already extracted; may still be `$`-delimited or boxed).
NormalizedAnswer NormalizeAnswer(std::string_view answer);

// The key used for the string-equality fast path: `text` lower-cased, without whitespace.
std::string ComparisonKey(std::string_view normalized_text);

}  // namespace scorch::reward
