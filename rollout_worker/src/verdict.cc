// Verdict parsing and answer extraction used by the turn protocols.
#include <cctype>
#include <string>

#include "scorch/rollout/protocol.h"

namespace scorch::rollout {
namespace {

void ReplaceAll(std::string* s, std::string_view from, std::string_view to) {
  for (size_t pos = s->find(from); pos != std::string::npos; pos = s->find(from, pos + to.size())) {
    s->replace(pos, from.size(), to);
  }
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

std::optional<proto::Verdict> ParseSrrVerdict(std::string_view text) {
  std::string t(text);
  for (const char* v : {"correct", "wrong"}) {
    const std::string inner = std::string("[VERIFY] ") + v + ".";
    ReplaceAll(&t, "\\boxed{\\text{" + inner + "}}", inner);
    ReplaceAll(&t, "\\boxed{" + inner + "}", inner);
  }
  constexpr std::string_view kTag = "[VERIFY]";
  const size_t pos = t.find(kTag);
  if (pos == std::string::npos || t.find(kTag, pos + 1) != std::string::npos) return std::nullopt;
  std::string_view rest = std::string_view(t).substr(pos + kTag.size());
  while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t')) rest.remove_prefix(1);
  if (rest.starts_with("correct")) return proto::Verdict::kCorrect;
  if (rest.starts_with("wrong")) return proto::Verdict::kWrong;
  return std::nullopt;
}

std::optional<proto::Verdict> ParseYesNoVerdict(std::string_view text) {
  std::string_view t = Trim(text);
  if (t.starts_with("Yes")) return proto::Verdict::kCorrect;
  if (t.starts_with("No")) return proto::Verdict::kWrong;
  return std::nullopt;
}

std::string ExtractLastBoxed(std::string_view text) {
  std::string best;
  size_t best_pos = std::string_view::npos;
  for (std::string_view key : {std::string_view("\\boxed{"), std::string_view("\\fbox{")}) {
    for (size_t pos = text.find(key); pos != std::string_view::npos; pos = text.find(key, pos + 1)) {
      const size_t open = pos + key.size();
      int depth = 1;
      size_t j = open;
      for (; j < text.size() && depth > 0; ++j) {
        if (text[j] == '{') ++depth;
        if (text[j] == '}') --depth;
      }
      if (depth != 0) continue;  // unbalanced: not a complete answer
      if (best_pos == std::string_view::npos || pos > best_pos) {
        best_pos = pos;
        best = std::string(text.substr(open, j - 1 - open));
      }
    }
  }
  return best;
}

std::string ExtractAnswerTag(std::string_view text) {
  const size_t open = text.find("<answer>");
  if (open == std::string_view::npos) return "";
  const size_t begin = open + 8;
  const size_t close = text.find("</answer>", begin);
  if (close == std::string_view::npos) return "";
  return std::string(Trim(text.substr(begin, close - begin)));
}

}  // namespace scorch::rollout
