// RewardConfig: which reward rules a trajectory is scored with, and their weights.
//
// The reward is Σ_i weight_i · rule_i(trajectory) (scalar) plus Σ_i weight_i · dense_i
// (per-token), with rules from rules.h. Defaults: one rule, `correctness` with weight 1 —
// the plain oracle reward SRR's main PPO/DPO runs use (§3.2). Presets reproduce the papers:
//   "correctness"  correctness×1                                     (default)
//   "srr_bonus"    wrong_to_correct_bonus×1       (SRR failed rule 1, to reproduce its hacking)
//   "srr_staged"   staged_bonus×1                 (SRR failed rule 2)
//   "cosine"       cosine×1 + repetition×1        (Demystify: cosine + dense repetition)
//   "pcl"          pcl_accuracy×1 + pcl_format_all×1 + pcl_consistency×1   (PCL GRPO, §3.5)
//
// JSON form (config files, HTTP options): either {"preset": "cosine"} or
// {"rules": [{"name": "cosine", "weight": 1.0, "params": {"max_length": 2048}}, …]};
// both keys together = the preset's rules followed by the listed ones.
// Per-turn correctness and verdict correctness are always *reported* as components by the
// engine; listing `turn_correctness` / `verdict_correctness` here also *rewards* them.
//
// Values; thread-compatible. Parsing returns InvalidArgument naming the offending field.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::reward {

struct RuleSpec {
  std::string name;                                   // a name from KnownRuleNames()
  double weight = 1.0;                                // finite; may be negative or 0
  nlohmann::json params = nlohmann::json::object();   // rule parameters; {} = defaults
};

struct RewardConfig {
  std::vector<RuleSpec> rules = {RuleSpec{"correctness", 1.0, nlohmann::json::object()}};

  // Checks that every rule exists, every weight is finite and every parameter is valid.
  Status Validate() const;
  nlohmann::json ToJson() const;
  static StatusOr<RewardConfig> FromJson(const nlohmann::json& j);
  static StatusOr<RewardConfig> Preset(std::string_view name);
  static const std::vector<std::string>& PresetNames();
};

}  // namespace scorch::reward
