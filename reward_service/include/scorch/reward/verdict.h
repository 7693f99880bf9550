// Parsing the model's own verdict on its answer (self-verification), ALGORITHMS §1.2–1.3.
//
// SRR (Qwen) verdicts are the literal strings `[VERIFY] correct.` / `[VERIFY] wrong.`,
// possibly wrapped as `\boxed{\text{[VERIFY] wrong.}}` or `\boxed{[VERIFY] wrong.}`, after
// optional free-form reasoning. An evaluation is valid only when `[VERIFY]` occurs exactly
// once and is followed by `correct` or `wrong`; the text is truncated just after the verdict.
// The two-turn (Llama) variant ends turn 1 with
// `Is my most recent final answer correct (Yes or No)? Yes.` (or `No.`).
//
// Pure functions over strings, linear in the input, never throw; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace scorch::reward {

// What the model said about its own most recent answer.
enum class SelfVerdict { kCorrect, kWrong, kInvalid };

std::string_view SelfVerdictName(SelfVerdict v);  // "correct", "wrong", "invalid"

struct ParsedVerdict {
  SelfVerdict verdict = SelfVerdict::kInvalid;
  std::string reason;       // why it is invalid ("no_verify_tag", "multiple_verify_tags",
                            // "no_verdict_word", "no_yes_no_question", "no_yes_no_answer"); empty when valid
  std::string truncated;    // the text cut just after the verdict (unwrapped); empty when invalid
  size_t verdict_begin = 0; // byte offset of the verdict (or its \boxed wrapper) in the input
  size_t verdict_end = 0;   // byte offset one past the verdict in the input

  bool valid() const { return verdict != SelfVerdict::kInvalid; }
};

// The SRR phrasing. Input is one evaluation turn (y^h).
ParsedVerdict ParseVerifyVerdict(std::string_view text);

// The first `[VERIFY] correct|wrong` verdict in `text` at or after `from` (wrappers
// included in [verdict_begin, verdict_end)), without the exactly-once rule: used to split a
// whole multi-turn response into turns. Returns an invalid verdict when none is found.
ParsedVerdict FindNextVerifyVerdict(std::string_view text, size_t from);

// The two-turn Yes/No phrasing (§1.3). Uses the last occurrence of the question.
inline constexpr std::string_view kYesNoQuestion =
    "Is my most recent final answer correct (Yes or No)?";
ParsedVerdict ParseYesNoVerdict(std::string_view text);

}  // namespace scorch::reward
