// Format checks and post-completion (PCL) parsing used by the format and PCL rules
// (ALGORITHMS §3.5), as pure functions testable on crafted strings.
//
// The PCL regexes are matched by hand, not by a regex engine: they are fixed patterns of
// literal tags with lazy `.*?` gaps (DOTALL, anchored at the start, not at the end), so a
// left-to-right scan that takes the earliest feasible tag at each step decides them exactly,
// in time linear in the input, with no backtracking blow-up or recursion on 1 MB inputs.
//
// Pure, thread-safe, never throw.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace scorch::reward {

// True when `text` contains a \boxed{…} or \fbox{…} with balanced braces, or `\boxed X`.
bool HasBoxedAnswer(std::string_view text);

// `^<think>.*?</think>\n?<answer>.*?</answer>` (DOTALL).
bool PclFormatMatch(std::string_view text);
// The above followed by `\n?<evaluation>.*?</evaluation>\n?<reward>.*?</reward>`.
bool PclFormatAllMatch(std::string_view text);

// The content of the first `<answer>…</answer>`, whitespace-stripped; nullopt when absent.
std::optional<std::string> FirstPclAnswer(std::string_view text);
// Strips ASCII whitespace at both ends (Python's str.strip() on ASCII).
std::string_view StripAscii(std::string_view s);

// The list in the LAST `<reward>…</reward>`: `[a, b, …]` of finite numbers (ints, decimals,
// exponents; surrounding whitespace allowed). nullopt when missing or unparsable.
std::optional<std::vector<double>> ParseLastRewardList(std::string_view text);

// C = 1 − (1/K) Σ_k |g_k − p_k| / max(g_k, p_k), a term with g_k = p_k = 0 scoring 0.
// Returns 0 when p is missing (nullopt), has the wrong length, or a negative entry.
double PclConsistency(const std::vector<double>& g,
                      const std::optional<std::vector<double>>& p);

}  // namespace scorch::reward
