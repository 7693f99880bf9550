// RewardEngine: grade attempts, parse verdicts, sum weighted rules. See reward_engine.h.
#include "scorch/reward/reward_engine.h"

#include <algorithm>
#include <string>

#include "scorch/common/check.h"

namespace scorch::reward {

double RewardResult::Component(std::string_view name, double fallback) const {
  for (const auto& [k, v] : components) {
    if (k == name) return v;
  }
  return fallback;
}

RewardEngine::RewardEngine(RewardConfig config, Oracle* oracle,
                           std::vector<std::unique_ptr<RewardRule>> rules)
    : config_(std::move(config)), oracle_(oracle), rules_(std::move(rules)) {}

StatusOr<std::unique_ptr<RewardEngine>> RewardEngine::Create(const RewardConfig& config,
                                                             Oracle* oracle) {
  if (oracle == nullptr) return Status::InvalidArgument("RewardEngine needs an oracle");
  SCORCH_RETURN_IF_ERROR(config.Validate());
  std::vector<std::unique_ptr<RewardRule>> rules;
  for (const auto& spec : config.rules) {
    SCORCH_ASSIGN_OR_RETURN(auto rule, MakeRule(spec.name, spec.params));
    rules.push_back(std::move(rule));
  }
  return std::unique_ptr<RewardEngine>(new RewardEngine(config, oracle, std::move(rules)));
}

std::vector<OracleQuery> RewardEngine::Queries(const TrajectoryView& trajectory) const {
  std::vector<OracleQuery> out;
  for (const Turn& t : trajectory.turns) {
    if (t.kind == TurnKind::kAttempt) out.push_back(OracleQuery{trajectory.gold, t.text, !trajectory.attempts_are_answers});
  }
  return out;
}

RewardResult RewardEngine::Score(const TrajectoryView& trajectory) const {
  std::vector<OracleQuery> q = Queries(trajectory);
  std::vector<OracleResult> grades = oracle_->GradeBatch(q);
  return Score(trajectory, grades);
}

std::vector<RewardResult> RewardEngine::ScoreBatch(std::span<const TrajectoryView> trajectories) const {
  std::vector<OracleQuery> all;
  std::vector<size_t> offsets;
  for (const auto& t : trajectories) {
    offsets.push_back(all.size());
    for (auto& q : Queries(t)) all.push_back(q);
  }
  offsets.push_back(all.size());
  std::vector<OracleResult> grades = oracle_->GradeBatch(all);
  std::vector<RewardResult> out;
  out.reserve(trajectories.size());
  for (size_t i = 0; i < trajectories.size(); ++i) {
    size_t b = std::min(offsets[i], grades.size()), e = std::min(offsets[i + 1], grades.size());
    out.push_back(Score(trajectories[i], std::span<const OracleResult>(grades).subspan(b, e - b)));
  }
  return out;
}

RewardResult RewardEngine::Score(const TrajectoryView& trajectory,
                                 std::span<const OracleResult> grades) const {
  RewardResult result;
  RuleContext ctx;
  ctx.trajectory = &trajectory;

  int attempt = -1;
  for (size_t i = 0; i < trajectory.turns.size(); ++i) {
    const Turn& turn = trajectory.turns[i];
    TurnReport report;
    report.turn_index = i;
    report.kind = turn.kind;
    if (turn.kind == TurnKind::kAttempt) {
      ++attempt;
      OracleResult g = static_cast<size_t>(attempt) < grades.size()
                           ? grades[static_cast<size_t>(attempt)]
                           : OracleResult{OracleVerdict::kError, "missing_grade", 0.0};
      ctx.grades.push_back(g);
      report.grade = g;
    } else if (turn.kind == TurnKind::kVerify) {
      VerdictEntry v;
      v.turn_index = i;
      v.attempt = attempt;
      v.parsed = trajectory.protocol == Protocol::kTwoTurn ? ParseYesNoVerdict(turn.text)
                                                           : ParseVerifyVerdict(turn.text);
      report.verdict = v.parsed;
      ctx.verdicts.push_back(v);
      if (attempt >= 0) report.verdict_agrees = ctx.VerdictAgrees(ctx.verdicts.back());
    }
    result.turns.push_back(std::move(report));
  }

  const OracleResult* final_grade = ctx.FinalGrade();
  if (final_grade != nullptr) {
    result.final_verdict = final_grade->verdict;
    result.final_reason = final_grade->reason;
  } else {
    result.final_verdict = OracleVerdict::kWrong;
    result.final_reason = "no_attempt";
  }
  auto& comp = result.components;
  comp.push_back({"correct", ctx.FinalCorrect() ? 1.0 : 0.0});
  comp.push_back({"grader_error", final_grade != nullptr && final_grade->error() ? 1.0 : 0.0});
  comp.push_back({"attempts", static_cast<double>(ctx.grades.size())});
  for (size_t k = 0; k < ctx.grades.size(); ++k) {
    comp.push_back({"turn" + std::to_string(k + 1) + "_correct", ctx.grades[k].correct() ? 1.0 : 0.0});
  }
  for (size_t k = 0; k < ctx.verdicts.size(); ++k) {
    const VerdictEntry& v = ctx.verdicts[k];
    double said = !v.parsed.valid() ? -1.0 : v.parsed.verdict == SelfVerdict::kCorrect ? 1.0 : 0.0;
    comp.push_back({"turn" + std::to_string(k + 1) + "_verdict", said});
    comp.push_back({"turn" + std::to_string(k + 1) + "_verdict_correct", ctx.VerdictAgrees(v) ? 1.0 : 0.0});
  }

  for (size_t r = 0; r < rules_.size(); ++r) {
    const double w = config_.rules[r].weight;
    RuleOutput out = rules_[r]->Apply(ctx);
    double shown = out.value;
    if (!out.dense.empty()) {
      if (result.dense.size() < out.dense.size()) result.dense.resize(out.dense.size(), 0.0f);
      double sum = 0;
      for (size_t i = 0; i < out.dense.size(); ++i) {
        result.dense[i] += static_cast<float>(w) * out.dense[i];
        sum += out.dense[i];
      }
      shown = sum;
    }
    result.reward += w * out.value;
    comp.push_back({std::string(rules_[r]->name()), shown});
    for (auto& c : out.components) comp.push_back(std::move(c));
  }
  return result;
}

}  // namespace scorch::reward
