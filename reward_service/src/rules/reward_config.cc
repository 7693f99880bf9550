// RewardConfig parsing, presets and validation. See reward_config.h.
#include "scorch/reward/reward_config.h"

#include <cmath>

#include "scorch/reward/rules.h"

namespace scorch::reward {
namespace {

RuleSpec Spec(const char* name, double weight = 1.0) {
  return RuleSpec{name, weight, nlohmann::json::object()};
}

}  // namespace

const std::vector<std::string>& RewardConfig::PresetNames() {
  static const std::vector<std::string> kNames = {"correctness", "srr_bonus", "srr_staged",
                                                  "cosine", "pcl"};
  return kNames;
}

StatusOr<RewardConfig> RewardConfig::Preset(std::string_view name) {
  RewardConfig c;
  if (name == "correctness") {
    c.rules = {Spec("correctness")};
  } else if (name == "srr_bonus") {
    c.rules = {Spec("wrong_to_correct_bonus")};
  } else if (name == "srr_staged") {
    c.rules = {Spec("staged_bonus")};
  } else if (name == "cosine") {
    c.rules = {Spec("cosine"), Spec("repetition")};
  } else if (name == "pcl") {
    c.rules = {Spec("pcl_accuracy"), Spec("pcl_format_all"), Spec("pcl_consistency")};
  } else {
    std::string known;
    for (const auto& n : PresetNames()) known += (known.empty() ? "" : ", ") + n;
    return Status::InvalidArgument("unknown reward preset '" + std::string(name) + "' (known: " + known + ")");
  }
  return c;
}

Status RewardConfig::Validate() const {
  if (rules.empty()) return Status::InvalidArgument("reward.rules: at least one rule is required");
  for (size_t i = 0; i < rules.size(); ++i) {
    const RuleSpec& r = rules[i];
    std::string where = "reward.rules[" + std::to_string(i) + "]";
    if (!std::isfinite(r.weight)) return Status::InvalidArgument(where + ".weight must be finite");
    auto rule = MakeRule(r.name, r.params);
    if (!rule.ok()) return rule.status().WithContext(where);
  }
  return Status::Ok();
}

nlohmann::json RewardConfig::ToJson() const {
  nlohmann::json arr = nlohmann::json::array();
  for (const auto& r : rules) arr.push_back({{"name", r.name}, {"weight", r.weight}, {"params", r.params}});
  return {{"rules", arr}};
}

StatusOr<RewardConfig> RewardConfig::FromJson(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("reward config must be a JSON object");
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (it.key() != "preset" && it.key() != "rules") {
      return Status::InvalidArgument("reward config: unknown key '" + it.key() +
                                     "' (expected 'preset' and/or 'rules')");
    }
  }
  RewardConfig c;
  c.rules.clear();
  if (j.contains("preset")) {
    if (!j["preset"].is_string()) return Status::InvalidArgument("reward config: 'preset' must be a string");
    SCORCH_ASSIGN_OR_RETURN(RewardConfig p, Preset(j["preset"].get<std::string>()));
    c.rules = p.rules;
  }
  if (j.contains("rules")) {
    const auto& arr = j["rules"];
    if (!arr.is_array()) return Status::InvalidArgument("reward config: 'rules' must be an array");
    for (size_t i = 0; i < arr.size(); ++i) {
      const auto& e = arr[i];
      std::string where = "reward config: rules[" + std::to_string(i) + "]";
      RuleSpec spec;
      if (e.is_string()) {
        spec.name = e.get<std::string>();
      } else if (e.is_object()) {
        for (auto it = e.begin(); it != e.end(); ++it) {
          if (it.key() != "name" && it.key() != "weight" && it.key() != "params") {
            return Status::InvalidArgument(where + ": unknown key '" + it.key() +
                                           "' (expected name, weight, params)");
          }
        }
        if (!e.contains("name") || !e["name"].is_string()) {
          return Status::InvalidArgument(where + ": 'name' (string) is required");
        }
        spec.name = e["name"].get<std::string>();
        if (e.contains("weight")) {
          if (!e["weight"].is_number()) return Status::InvalidArgument(where + ": 'weight' must be a number");
          spec.weight = e["weight"].get<double>();
        }
        if (e.contains("params")) spec.params = e["params"];
      } else {
        return Status::InvalidArgument(where + ": must be a rule name or an object");
      }
      c.rules.push_back(std::move(spec));
    }
  }
  if (c.rules.empty()) return Status::InvalidArgument("reward config: no rules (give 'preset' or 'rules')");
  SCORCH_RETURN_IF_ERROR(c.Validate());
  return c;
}

}  // namespace scorch::reward
