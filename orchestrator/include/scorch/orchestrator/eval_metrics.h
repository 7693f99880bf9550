// The self-correction evaluation metrics of ALGORITHMS §6 (SRR Tables 3, 4 and 9).
//
// Input: one EvalRecord per trajectory: whether the first attempt a¹ was correct, whether
// the final answer a^H was correct, the model's first verdict y¹ (or none if it gave no
// parsable verdict), whether a correction turn happened, and optionally the final answer
// text (for majority voting). Grader "error" verdicts count as wrong answers, and are counted
// separately in `grader_errors`.
//
// Output (all fractions in [0, 1]; multiply by 100 for the paper's tables):
//   turn1 = ΣC1/N, final = ΣCF/N, delta = final − turn1,
//   delta_i2c = Σ[C1=0 ∧ CF=1]/N, delta_c2i = Σ[C1=1 ∧ CF=0]/N  (delta = i2c − c2i, from exact counts),
//   rm_acc_correct (a) = P(y¹ = correct | a¹ correct), rm_acc_wrong (b) = P(y¹ = wrong | a¹
//   wrong), both over records with a parsable verdict,
//   p_c2i = #[a¹ correct ∧ y¹ wrong ∧ a² wrong] / #[a¹ correct ∧ y¹ wrong]  (scorch's reading,
//   ALGORITHMS §6 [U]), samples_per_trajectory = 1 + P(a correction turn happens).
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace scorch::orchestrator {

enum class SelfVerdict { kNone, kCorrect, kWrong };

struct EvalRecord {
  std::string prompt_id;
  bool first_correct = false;        // C1: a¹ is correct
  bool final_correct = false;        // CF: a^H is correct
  SelfVerdict first_verdict = SelfVerdict::kNone;  // y¹ as the model stated it
  bool corrected = false;            // a correction turn happened
  bool grader_error = false;         // the grader answered "error" for some turn
  std::string final_answer;          // normalised final answer text, for maj@n
};

struct EvalSummary {
  int64_t n = 0;
  double turn1 = 0, final = 0, delta = 0, delta_i2c = 0, delta_c2i = 0;
  std::optional<double> rm_acc_correct;  // undefined when no a¹ was correct
  std::optional<double> rm_acc_wrong;    // undefined when no a¹ was wrong
  std::optional<double> p_c2i;           // undefined when never (a¹ correct ∧ y¹ wrong)
  double samples_per_trajectory = 1;
  int64_t verdict_missing = 0;           // records with no parsable y¹
  int64_t grader_errors = 0;

  nlohmann::json ToJson() const;  // keys n, turn1, final, delta, delta_i2c, ... (null = undefined)
};

EvalSummary Summarize(const std::vector<EvalRecord>& records);

// maj@n: per prompt, the most common final answer among its first `n` records (ties broken by
// first occurrence) is correct if any record with that answer was final-correct. Returns the
// fraction of prompts whose vote is correct. Records keep their order per prompt.
double MajorityAtN(const std::vector<EvalRecord>& records, int n);

// The §6 table as text: "Turn1 Final Δ Δi→c Δc→i RM(a/b) p^{c→i}" in percent.
std::string FormatEvalTable(const std::vector<std::pair<std::string, EvalSummary>>& rows);

}  // namespace scorch::orchestrator
