#include "scorch/common/config/run_config.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <utility>

#include "scorch/common/logging.h"
#include "scorch/common/version.h"

namespace scorch::config {

Status JobConfig::Validate() const {
  if (name.empty()) return Status::InvalidArgument("name must not be empty");
  if (name.find('/') != std::string::npos || name == "." || name == "..") {
    return Status::InvalidArgument("name \"" + name + "\" must be a plain folder name");
  }
  return Status::Ok();
}

Status LoggingConfig::Validate() const {
  log::Level parsed;
  if (!log::ParseLevel(level, &parsed)) {
    return Status::InvalidArgument("level \"" + level +
                                   "\" is not one of debug, info, warning, error");
  }
  return Status::Ok();
}

Status StageConfig::Validate() const {
  static const std::vector<std::string> kProtocols = {"single_turn", "self_correct", "two_turn",
                                                      "post_completion", "post_completion_train"};
  if (name.empty()) return Status::InvalidArgument("every stage needs a name");
  bool known = false;
  for (const auto& p : kProtocols) known |= (p == protocol);
  if (!known) {
    std::string msg = "protocol \"" + protocol + "\" is not one of single_turn, self_correct, "
                      "two_turn, post_completion, post_completion_train";
    if (auto s = SuggestClosest(protocol, kProtocols)) msg += " (did you mean \"" + *s + "\"?)";
    return Status::InvalidArgument(msg);
  }
  if (kind == StageKind::kMdpo) {
    if (protocol != "self_correct" && protocol != "two_turn") {
      return Status::InvalidArgument("an mdpo stage builds self-correction pairs: protocol must be self_correct or "
                                     "two_turn, not \"" + protocol + "\"");
    }
    if (mdpo_sets.empty()) return Status::InvalidArgument("mdpo_sets is empty: name at least one of d1, d2, d3");
    static const std::vector<std::string> kSets = {"d1", "d2", "d3"};
    for (size_t i = 0; i < mdpo_sets.size(); ++i) {
      if (std::find(kSets.begin(), kSets.end(), mdpo_sets[i]) == kSets.end()) {
        std::string msg = "mdpo_sets[" + std::to_string(i) + "]: \"" + mdpo_sets[i] + "\" is not one of d1, d2, d3";
        if (auto s = SuggestClosest(mdpo_sets[i], kSets)) msg += " (did you mean \"" + *s + "\"?)";
        return Status::InvalidArgument(msg);
      }
      if (std::find(mdpo_sets.begin(), mdpo_sets.begin() + static_cast<std::ptrdiff_t>(i), mdpo_sets[i]) !=
          mdpo_sets.begin() + static_cast<std::ptrdiff_t>(i)) {
        return Status::InvalidArgument("mdpo_sets[" + std::to_string(i) + "]: \"" + mdpo_sets[i] + "\" is listed twice");
      }
    }
  }
  if (swift_features != "hidden" && swift_features != "logits") {
    return Status::InvalidArgument("swift_features \"" + swift_features + "\" is not one of hidden, logits");
  }
  if (swift_loss != "bce" && swift_loss != "pairwise" && swift_loss != "hinge") {
    return Status::InvalidArgument("swift_loss \"" + swift_loss + "\" is not one of bce, pairwise, hinge");
  }
  const bool self_correct_demos = kind == StageKind::kSft && protocol == "self_correct" && dataset == "synthetic";
  for (const auto& [set, name] : {std::pair{demo_recheck, "demo_recheck"},
                                  {demo_verdict_only_fraction > 0.0, "demo_verdict_only_fraction"}}) {
    if (set && !self_correct_demos) {
      return Status::InvalidArgument(std::string(name) +
                                     " shapes the synthetic self_correct demonstrations: it needs an sft stage with "
                                     "protocol self_correct and dataset synthetic");
    }
  }
  if (kind == StageKind::kBon && samples_per_prompt < 2) {
    return Status::InvalidArgument("a bon stage needs samples_per_prompt >= 2 (the N of Best-of-N)");
  }
  if ((sft_reason_weight > 0.0 || sft_eval_weight > 0.0) &&
      (kind != StageKind::kGrpo || protocol.rfind("post_completion", 0) != 0)) {
    return Status::InvalidArgument(
        "sft_reason_weight / sft_eval_weight (PCL's mixed objective) need a grpo stage with protocol "
        "post_completion or post_completion_train");
  }
  if (kind == StageKind::kGrpo && samples_per_prompt < 2) {
    return Status::InvalidArgument(
        "a grpo stage needs samples_per_prompt >= 2 (group-normalised advantages)");
  }
  return Status::Ok();
}

Status TaskConfig::Validate() const {
  if (min_ops > max_ops) {
    return Status::InvalidArgument("min_ops (" + std::to_string(min_ops) + ") is above max_ops (" +
                                   std::to_string(max_ops) + ")");
  }
  return Status::Ok();
}

Status LearnerConfig::Validate() const {
  if (kl_estimator != "k1" && kl_estimator != "k2" && kl_estimator != "k3") {
    return Status::InvalidArgument("kl_estimator \"" + kl_estimator + "\" is not one of k1, k2, k3");
  }
  if (aggregation != "token" && aggregation != "sequence") {
    return Status::InvalidArgument("aggregation \"" + aggregation + "\" is not one of token, sequence");
  }
  if (backend != "mpi" && backend != "nccl") {
    return Status::InvalidArgument("backend \"" + backend + "\" is not one of mpi, nccl");
  }
  if (weights_transport != "shared" && weights_transport != "file") {
    return Status::InvalidArgument("weights_transport \"" + weights_transport + "\" is not one of shared, file");
  }
  return Status::Ok();
}

Status RewardRuleConfig::Validate() const {
  if (name.empty()) return Status::InvalidArgument("name is empty (a reward rule name, e.g. format_verdict)");
  return Status::Ok();
}

Status RewardSection::Validate() const {
  if (preset.empty() && rules.empty()) {
    return Status::InvalidArgument("no reward: preset is empty and no rules are listed");
  }
  return Status::Ok();
}

Status ClusterConfig::Validate() const {
  if (status_port >= 0 && status_host.empty()) {
    return Status::InvalidArgument("status_host is empty (use 127.0.0.1, or status_port: -1 for no status server)");
  }
  if (bind_host.empty()) return Status::InvalidArgument("bind_host is empty (use 127.0.0.1, or 0.0.0.0 for every interface)");
  static const char* kSchemes[] = {"inproc://", "ipc://", "tcp://"};
  for (const char* s : kSchemes) {
    if (control_endpoint.rfind(s, 0) == 0) return Status::Ok();
  }
  return Status::InvalidArgument("control_endpoint \"" + control_endpoint +
                                 "\" must start with inproc://, ipc:// or tcp://");
}

Status RunConfig::Validate() const {
  std::set<std::string> names;
  for (const auto& stage : stages) {
    if (!stage.name.empty() && !names.insert(stage.name).second) {
      return Status::InvalidArgument("stage name \"" + stage.name + "\" is used twice");
    }
  }
  return Status::Ok();
}

Status ApplyOverride(YAML::Node& root, const std::string& assignment, SourceInfo* src) {
  const std::string label = "--set " + assignment;
  auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0) {
    return Status::InvalidArgument(label + ": expected KEY.PATH=VALUE");
  }
  std::string key_path = assignment.substr(0, eq);
  std::string value_text = assignment.substr(eq + 1);
  std::vector<std::string> parts;
  std::stringstream ss(key_path);
  for (std::string part; std::getline(ss, part, '.');) {
    if (part.empty()) return Status::InvalidArgument(label + ": empty segment in key path");
    parts.push_back(part);
  }
  YAML::Node value;
  try {
    value = YAML::Load(value_text);
  } catch (const YAML::Exception&) {
    value = YAML::Node(value_text);  // not YAML: take it as a plain string
  }
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);

  // Walk down, creating mappings as needed; integer segments index existing lists.
  std::vector<YAML::Node> chain{root};
  std::string shown_path;
  for (size_t i = 0; i < parts.size(); ++i) {
    YAML::Node cur = chain.back();
    const std::string& part = parts[i];
    const bool last = i + 1 == parts.size();
    bool is_index = !part.empty() && part.find_first_not_of("0123456789") == std::string::npos;
    if (cur.IsSequence()) {
      if (!is_index) {
        return Status::InvalidArgument(label + ": \"" + shown_path + "\" is a list; use a number");
      }
      size_t idx = std::stoul(part);
      if (idx >= cur.size()) {
        return Status::InvalidArgument(label + ": index " + part + " is past the end of " +
                                       shown_path + " (" + std::to_string(cur.size()) + " items)");
      }
      shown_path += "[" + part + "]";
      if (last) {
        cur[idx] = value;
      } else {
        chain.push_back(cur[idx]);
      }
      continue;
    }
    if (!cur.IsMap()) {
      if (cur.IsNull() || !cur.IsDefined()) {
        cur = YAML::Node(YAML::NodeType::Map);
      } else {
        return Status::InvalidArgument(label + ": \"" + shown_path + "\" is a value, not a section");
      }
    }
    shown_path = JoinPath(shown_path, part);
    if (last) {
      cur[part] = value;
    } else {
      YAML::Node next = cur[part];
      if (!next.IsDefined() || next.IsNull()) {
        cur[part] = YAML::Node(YAML::NodeType::Map);
        next = cur[part];
      }
      chain.push_back(next);
    }
  }
  src->overrides[shown_path] = label;
  return Status::Ok();
}

StatusOr<RunConfig> ParseRunConfig(const std::string& yaml_text, const std::string& name,
                                   const std::vector<std::string>& overrides) {
  SourceInfo src;
  src.file = name;
  YAML::Node root;
  try {
    root = YAML::Load(yaml_text);
  } catch (const YAML::ParserException& e) {
    return Status::InvalidArgument(name + ":" + std::to_string(e.mark.line + 1) + ":" +
                                   std::to_string(e.mark.column + 1) + ": YAML syntax error: " +
                                   e.msg);
  }
  if (!root.IsDefined() || root.IsNull()) root = YAML::Node(YAML::NodeType::Map);
  for (const auto& o : overrides) SCORCH_RETURN_IF_ERROR(ApplyOverride(root, o, &src));
  RunConfig config;
  SCORCH_RETURN_IF_ERROR(ReadConfig(root, src, &config));
  return config;
}

StatusOr<RunConfig> LoadRunConfig(const std::string& path,
                                  const std::vector<std::string>& overrides) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open config file " + path);
  std::stringstream buf;
  buf << in.rdbuf();
  return ParseRunConfig(buf.str(), path, overrides);
}

std::string ResolvedConfigYaml(const RunConfig& config) {
  return WriteConfigYaml(config, std::string("Resolved by scorch ") + kVersion + " (git " +
                                     kGitHash + "). Every field, defaults included.");
}

}  // namespace scorch::config
