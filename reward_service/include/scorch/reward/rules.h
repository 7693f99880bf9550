// The RewardRule interface and the registry of scorch's reward rules (ALGORITHMS §3).
//
// A rule turns one trajectory plus the facts the engine computed once for it (the oracle's
// grade of every attempt, the parsed self-verdict of every verify turn) into a scalar, an
// optional per-token (dense) vector and optional named components. Rules are composed as a
// weighted sum by RewardEngine (reward_engine.h) from a RewardConfig (reward_config.h).
//
// Registered rules (name → what it gives; parameters with defaults in brackets):
//   correctness           1 if the final attempt is correct else 0 [correct=1, wrong=0]
//                         (the default, SRR's u* = r*(x, a^H); `error` earns `wrong`)
//   turn_correctness      correctness of one attempt [turn=0: mean over attempts; k≥1: a^k]
//   verdict_correctness   mean over verify turns of [self-verdict == oracle verdict of the
//                         attempt it judges]; an invalid verdict counts as disagreeing
//   wrong_to_correct_bonus  SRR failed rule 1: bonus if a¹ wrong and a^H correct (H ≥ 2),
//                         else correct/wrong [bonus=1.5, correct=1, wrong=0]
//   staged_bonus          SRR failed rule 2: `correctness` before switch_step, then the
//                         bonus rule [switch_step=100, plus the bonus rule's params];
//                         step unknown (-1) → first stage
//   cosine                Demystify cosine length scaling (§3.3) [see CosineParams]
//   repetition            dense per-token n-gram penalty over token ids (§3.4)
//                         [ngram_size=40, penalty=-0.05, only_start=false]; scalar 0
//   format_boxed          1 if the final attempt has a \boxed{…}/\fbox{…} answer
//   format_verdict        mean over verify turns of "the verdict parses" (SRR or Yes/No)
//   pcl_accuracy          first <answer> content, stripped, == gold stripped (§3.5)
//   pcl_format            ^<think>.*?</think>\n?<answer>.*?</answer> (DOTALL)
//   pcl_format_all        pcl_format + \n?<evaluation>.*?</evaluation>\n?<reward>.*?</reward>
//   pcl_consistency       C = 1 − ½Σ|g_k−p_k|/max(g_k,p_k), g=[accuracy, format], p = last
//                         <reward>[…]</reward>; g_k=p_k=0 scores that term 0 (§8.6 policy)
//
// Rules are immutable after construction: Apply is const, never throws, and is safe to call
// from many threads at once. MakeRule returns InvalidArgument naming the rule and the
// parameter when a name or parameter is unknown or out of range.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/reward/reward_oracle.h"
#include "scorch/reward/reward_trajectory.h"
#include "scorch/reward/verdict.h"

namespace scorch::reward {

// One verify turn's parsed verdict, paired with the attempt it judges.
struct VerdictEntry {
  size_t turn_index = 0;   // index into trajectory.turns
  int attempt = -1;        // ordinal of the judged attempt in RuleContext::grades; -1: none
  ParsedVerdict parsed;
};

// What the engine computes once per trajectory and hands to every rule.
struct RuleContext {
  const TrajectoryView* trajectory = nullptr;
  std::vector<OracleResult> grades;    // one per attempt, in order
  std::vector<VerdictEntry> verdicts;  // one per verify turn, in order

  const OracleResult* FinalGrade() const { return grades.empty() ? nullptr : &grades.back(); }
  const OracleResult* FirstGrade() const { return grades.empty() ? nullptr : &grades.front(); }
  bool FinalCorrect() const { return !grades.empty() && grades.back().correct(); }
  // The text of the final attempt ("" when there is none).
  std::string_view FinalAttemptText() const;
  // Whether verdict `v` agrees with the oracle on the attempt it judges; false when the
  // verdict is invalid or judges nothing.
  bool VerdictAgrees(const VerdictEntry& v) const;
};

struct RuleOutput {
  double value = 0.0;         // scalar contribution, before the rule's weight
  std::vector<float> dense;   // per-token contribution (length L), before weight; empty: none
  std::vector<std::pair<std::string, double>> components;  // extra values to report
};

class RewardRule {
 public:
  virtual ~RewardRule() = default;
  virtual std::string_view name() const = 0;
  virtual RuleOutput Apply(const RuleContext& ctx) const = 0;
};

// Builds a registered rule from its name and a JSON object of parameters ({} = defaults).
StatusOr<std::unique_ptr<RewardRule>> MakeRule(std::string_view name,
                                               const nlohmann::json& params);
// The names MakeRule accepts, in the order documented above.
const std::vector<std::string>& KnownRuleNames();

}  // namespace scorch::reward
