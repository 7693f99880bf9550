// Trajectory helpers and SplitResponse. See reward_trajectory.h.
#include "scorch/reward/reward_trajectory.h"

#include <algorithm>
#include <string>

#include "scorch/reward/verdict.h"

namespace scorch::reward {
namespace {

bool IsBlank(std::string_view s) {
  for (char c : s) {
    if (c != ' ' && c != '\t' && c != '\n' && c != '\r') return false;
  }
  return true;
}

}  // namespace

std::string_view TurnKindName(TurnKind k) {
  switch (k) {
    case TurnKind::kAttempt: return "attempt";
    case TurnKind::kVerify: return "verify";
    case TurnKind::kEvaluation: return "evaluation";
  }
  return "attempt";
}

StatusOr<TurnKind> ParseTurnKind(std::string_view name) {
  if (name == "attempt") return TurnKind::kAttempt;
  if (name == "verify") return TurnKind::kVerify;
  if (name == "evaluation") return TurnKind::kEvaluation;
  return Status::InvalidArgument("unknown turn kind '" + std::string(name) +
                                 "' (expected attempt, verify or evaluation)");
}

std::string_view ProtocolName(Protocol p) {
  switch (p) {
    case Protocol::kSingle: return "single";
    case Protocol::kSrr: return "srr";
    case Protocol::kTwoTurn: return "two_turn";
    case Protocol::kPcl: return "pcl";
  }
  return "single";
}

StatusOr<Protocol> ParseProtocol(std::string_view name) {
  if (name == "single") return Protocol::kSingle;
  if (name == "srr") return Protocol::kSrr;
  if (name == "two_turn") return Protocol::kTwoTurn;
  if (name == "pcl") return Protocol::kPcl;
  return Status::InvalidArgument("unknown protocol '" + std::string(name) +
                                 "' (expected single, srr, two_turn or pcl)");
}

std::string TrajectoryView::FullText() const {
  size_t n = 0;
  for (const Turn& t : turns) n += t.text.size();
  std::string out;
  out.reserve(n);
  for (const Turn& t : turns) out += t.text;
  return out;
}

std::vector<size_t> TrajectoryView::AttemptIndices() const {
  std::vector<size_t> out;
  for (size_t i = 0; i < turns.size(); ++i) {
    if (turns[i].kind == TurnKind::kAttempt) out.push_back(i);
  }
  return out;
}

Status TrajectoryView::Validate() const {
  if (max_new_tokens < 0) {
    return Status::InvalidArgument("max_new_tokens must be >= 0, got " +
                                   std::to_string(max_new_tokens));
  }
  if (generated_tokens < -1) {
    return Status::InvalidArgument("generated_tokens must be >= 0 (or -1 for token_ids.size()), got " +
                                   std::to_string(generated_tokens));
  }
  if (generated_tokens >= 0 && !token_ids.empty() &&
      generated_tokens > static_cast<int64_t>(token_ids.size())) {
    return Status::InvalidArgument("generated_tokens (" + std::to_string(generated_tokens) +
                                   ") exceeds the number of token_ids (" +
                                   std::to_string(token_ids.size()) + ")");
  }
  return Status::Ok();
}

std::vector<Turn> SplitResponse(std::string_view response, Protocol protocol) {
  std::vector<Turn> turns;
  auto attempt = [&](std::string_view s) { turns.push_back({TurnKind::kAttempt, std::string(s)}); };
  switch (protocol) {
    case Protocol::kSingle:
      attempt(response);
      break;
    case Protocol::kSrr: {
      size_t pos = 0;
      while (true) {
        ParsedVerdict v = FindNextVerifyVerdict(response, pos);
        if (!v.valid()) break;
        attempt(response.substr(pos, v.verdict_begin - pos));
        turns.push_back({TurnKind::kVerify, std::string(response.substr(
                                                v.verdict_begin, v.verdict_end - v.verdict_begin))});
        pos = v.verdict_end;
      }
      std::string_view rest = response.substr(pos);
      if (turns.empty() || !IsBlank(rest)) attempt(rest);
      break;
    }
    case Protocol::kTwoTurn: {
      size_t q = response.find(kYesNoQuestion);
      if (q == std::string_view::npos) {
        attempt(response);
        break;
      }
      // Parse the answer word right after the first question only.
      size_t line_end = response.find('\n', q + kYesNoQuestion.size() + 1);
      std::string_view head =
          response.substr(0, line_end == std::string_view::npos ? response.size() : line_end);
      ParsedVerdict v = ParseYesNoVerdict(head.substr(0, std::min(head.size(), q + kYesNoQuestion.size() + 16)));
      size_t end = v.valid() ? v.verdict_end : q + kYesNoQuestion.size();
      attempt(response.substr(0, q));
      turns.push_back({TurnKind::kVerify, std::string(response.substr(q, end - q))});
      std::string_view rest = response.substr(end);
      if (!IsBlank(rest)) attempt(rest);
      break;
    }
    case Protocol::kPcl: {
      constexpr std::string_view kClose = "</answer>";
      size_t close = response.find(kClose);
      if (close == std::string_view::npos) {
        attempt(response);
        break;
      }
      size_t end = close + kClose.size();
      attempt(response.substr(0, end));
      std::string_view rest = response.substr(end);
      if (!IsBlank(rest)) turns.push_back({TurnKind::kEvaluation, std::string(rest)});
      break;
    }
  }
  return turns;
}

}  // namespace scorch::reward
