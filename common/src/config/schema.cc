#include "scorch/common/config/schema.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace scorch::config {
namespace {

size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      size_t sub = prev[j - 1] + (std::tolower(a[i - 1]) == std::tolower(b[j - 1]) ? 0 : 1);
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, sub});
    }
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::optional<std::string> SuggestClosest(std::string_view word,
                                          const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  size_t best_d = std::numeric_limits<size_t>::max();
  for (const auto& c : candidates) {
    size_t d = EditDistance(word, c);
    if (d < best_d) {
      best_d = d;
      best = c;
    }
  }
  // A plausible typo: at most a third of the word's letters wrong (and at least 2 allowed).
  size_t limit = std::max<size_t>(2, word.size() / 3);
  if (!best || best_d > limit) return std::nullopt;
  return best;
}

std::string JoinPath(const std::string& parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return parent + "." + std::string(key);
}

// Keys an earlier scorch accepted, with where they live now: an old run directory's
// config.yaml (e.g. for --resume) then says what to change, not just "unknown key".
std::optional<std::string> RenamedTo(const std::string& path) {
  static const std::pair<const char*, const char*> kRenamed[] = {
      {"cluster.learners", "cluster.roles.learner"},
  };
  for (const auto& [old_path, new_path] : kRenamed) {
    if (path == old_path) return std::string(new_path);
  }
  return std::nullopt;
}

std::string IndexPath(const std::string& parent, size_t index) {
  return parent + "[" + std::to_string(index) + "]";
}

void ErrorList::Add(const SourceInfo& src, const YAML::Node& node, const std::string& path,
                    const std::string& what, const std::string* shown_path) {
  std::string where;
  // A key set by --set (or inside a value set by --set) reports the override, not a line.
  for (const auto& [key, text] : src.overrides) {
    if (path == key || path.rfind(key + ".", 0) == 0 || path.rfind(key + "[", 0) == 0) {
      where = text;
      break;
    }
  }
  if (where.empty()) {
    where = src.file.empty() ? "<config>" : src.file;
    YAML::Mark mark = node.Mark();
    if (mark.line >= 0) {
      where += ":" + std::to_string(mark.line + 1) + ":" + std::to_string(mark.column + 1);
    }
  }
  std::string line = where + ": ";
  const std::string& shown = shown_path ? *shown_path : path;
  if (!shown.empty()) line += shown + ": ";
  line += what;
  lines_.push_back(std::move(line));
}

Status ErrorList::ToStatus() const {
  if (lines_.empty()) return Status::Ok();
  std::string msg;
  for (size_t i = 0; i < lines_.size(); ++i) {
    if (i) msg += "\n";
    msg += lines_[i];
  }
  return Status::InvalidArgument(std::move(msg));
}

std::string YamlReader::Describe(const YAML::Node& n) {
  switch (n.Type()) {
    case YAML::NodeType::Map: return "a mapping";
    case YAML::NodeType::Sequence: return "a list";
    case YAML::NodeType::Scalar: return "\"" + n.Scalar() + "\"";
    case YAML::NodeType::Null: return "nothing";
    default: return "an undefined value";
  }
}

void YamlReader::Finish() {
  if (!node_.IsMap()) return;
  for (auto it = node_.begin(); it != node_.end(); ++it) {
    const YAML::Node& key_node = it->first;
    if (!key_node.IsScalar()) {
      Error(key_node, path_, "keys must be plain strings");
      continue;
    }
    const std::string& key = key_node.Scalar();
    if (std::find(known_.begin(), known_.end(), key) != known_.end()) continue;
    std::string msg = "unknown key \"" + key + "\"";
    if (path_.empty()) msg += " at the top level";
    if (auto renamed = RenamedTo(JoinPath(path_, key))) {
      msg += ": it is " + *renamed + " now, same meaning (a config written by an older scorch; edit the key)";
    } else if (auto s = SuggestClosest(key, known_)) {
      msg += " (did you mean \"" + *s + "\"?)";
    }
    errors_->Add(src_, key_node, JoinPath(path_, key), msg, &path_);
  }
}

}  // namespace scorch::config
