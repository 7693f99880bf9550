// RewardEngine: scores trajectories with the weighted rules of a RewardConfig.
//
// For one trajectory it grades every attempt with the Oracle (each turn on its own segment,
// ALGORITHMS §9.1), parses every verify turn (SRR `[VERIFY]` or two-turn Yes/No, by the
// trajectory's protocol), then sums weight·rule over the configured rules. Besides the
// scalar and the dense per-token vector it always reports these components:
//   correct            1 if the final attempt is correct (a^H; a¹ if the model stopped)
//   grader_error       1 if the final attempt's grade is `error` (it earned `wrong`)
//   attempts           number of attempts
//   turn<k>_correct    per attempt k = 1..H
//   turn<k>_verdict    per verify turn k: 1 said correct, 0 said wrong, -1 invalid
//   turn<k>_verdict_correct  per verify turn k: 1 if it agrees with the oracle
//   <rule name>        each rule's unweighted scalar (dense rules: the sum of their vector)
//
// Ownership: the engine owns its rules and borrows the Oracle, which must outlive it.
// Thread-safety: Score/ScoreBatch are const and safe to call concurrently when the Oracle
// is. Nothing here throws; a grader failure is an `error` grade.
#pragma once

#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/reward/reward_config.h"
#include "scorch/reward/reward_oracle.h"
#include "scorch/reward/reward_trajectory.h"
#include "scorch/reward/rules.h"

namespace scorch::reward {

struct TurnReport {
  size_t turn_index = 0;
  TurnKind kind = TurnKind::kAttempt;
  std::optional<OracleResult> grade;     // attempts
  std::optional<ParsedVerdict> verdict;  // verify turns
  std::optional<bool> verdict_agrees;    // verify turns that judge an attempt
};

struct RewardResult {
  double reward = 0.0;                                     // Σ weight · scalar
  std::vector<std::pair<std::string, double>> components;  // see the header comment
  std::vector<float> dense;                                // Σ weight · dense; empty if none
  std::vector<TurnReport> turns;
  OracleVerdict final_verdict = OracleVerdict::kWrong;     // of the final attempt
  std::string final_reason;

  // The component's value, or `fallback` when absent.
  double Component(std::string_view name, double fallback = 0.0) const;
};

class RewardEngine {
 public:
  // Validates `config` and builds its rules. `oracle` must be non-null and outlive the engine.
  static StatusOr<std::unique_ptr<RewardEngine>> Create(const RewardConfig& config,
                                                        Oracle* oracle);

  // The oracle questions for `trajectory` (one per attempt), for callers that batch grading.
  std::vector<OracleQuery> Queries(const TrajectoryView& trajectory) const;
  // Scores with grades the caller obtained for Queries(trajectory) (same order and count;
  // missing grades count as `error` "missing_grade").
  RewardResult Score(const TrajectoryView& trajectory,
                     std::span<const OracleResult> grades) const;
  // Grades through the oracle, then scores.
  RewardResult Score(const TrajectoryView& trajectory) const;
  // Grades all attempts of all trajectories in one Oracle::GradeBatch call, then scores.
  std::vector<RewardResult> ScoreBatch(std::span<const TrajectoryView> trajectories) const;

  const RewardConfig& config() const { return config_; }
  Oracle* oracle() const { return oracle_; }

 private:
  RewardEngine(RewardConfig config, Oracle* oracle,
               std::vector<std::unique_ptr<RewardRule>> rules);

  RewardConfig config_;
  Oracle* oracle_;
  std::vector<std::unique_ptr<RewardRule>> rules_;
};

}  // namespace scorch::reward
