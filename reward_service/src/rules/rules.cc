// The reward rules of ALGORITHMS §3 and their registry. See rules.h.
#include "scorch/reward/rules.h"

#include <cmath>
#include <set>

#include "scorch/reward/rules_format.h"
#include "scorch/reward/rules_length.h"

namespace scorch::reward {

std::string_view RuleContext::FinalAttemptText() const {
  if (trajectory == nullptr) return {};
  for (size_t i = trajectory->turns.size(); i-- > 0;) {
    if (trajectory->turns[i].kind == TurnKind::kAttempt) return trajectory->turns[i].text;
  }
  return {};
}

bool RuleContext::VerdictAgrees(const VerdictEntry& v) const {
  if (!v.parsed.valid() || v.attempt < 0 || static_cast<size_t>(v.attempt) >= grades.size()) {
    return false;
  }
  bool said_correct = v.parsed.verdict == SelfVerdict::kCorrect;
  return said_correct == grades[static_cast<size_t>(v.attempt)].correct();
}

namespace {

// Reads typed parameters from a JSON object, remembering which keys were used so that an
// unknown (misspelt) key is an error rather than silently ignored.
class Params {
 public:
  Params(std::string_view rule, const nlohmann::json& j) : rule_(rule), j_(j) {
    if (!j_.is_null() && !j_.is_object()) {
      status_ = Status::InvalidArgument("rule '" + rule_ + "': params must be a JSON object");
    }
  }

  double Number(const char* key, double def) {
    used_.insert(key);
    if (!status_.ok() || !j_.is_object() || !j_.contains(key)) return def;
    const auto& v = j_.at(key);
    if (!v.is_number() || !std::isfinite(v.get<double>())) {
      Fail(key, "must be a finite number");
      return def;
    }
    return v.get<double>();
  }
  int64_t Int(const char* key, int64_t def) {
    used_.insert(key);
    if (!status_.ok() || !j_.is_object() || !j_.contains(key)) return def;
    const auto& v = j_.at(key);
    if (!v.is_number_integer()) {
      Fail(key, "must be an integer");
      return def;
    }
    return v.get<int64_t>();
  }
  bool Bool(const char* key, bool def) {
    used_.insert(key);
    if (!status_.ok() || !j_.is_object() || !j_.contains(key)) return def;
    const auto& v = j_.at(key);
    if (!v.is_boolean()) {
      Fail(key, "must be true or false");
      return def;
    }
    return v.get<bool>();
  }
  void Fail(const char* key, const std::string& what) {
    if (status_.ok()) status_ = Status::InvalidArgument("rule '" + rule_ + "': param '" + key + "' " + what);
  }
  // OK, or the first error, or an unknown key.
  Status Finish() {
    if (!status_.ok()) return status_;
    if (j_.is_object()) {
      for (auto it = j_.begin(); it != j_.end(); ++it) {
        if (!used_.count(it.key())) {
          std::string known;
          for (const auto& k : used_) known += (known.empty() ? "" : ", ") + k;
          return Status::InvalidArgument("rule '" + rule_ + "': unknown param '" + it.key() +
                                         "' (known: " + (known.empty() ? "none" : known) + ")");
        }
      }
    }
    return Status::Ok();
  }

 private:
  std::string rule_;
  const nlohmann::json& j_;
  std::set<std::string> used_;
  Status status_;
};

double Mean(double sum, size_t n) { return n == 0 ? 0.0 : sum / static_cast<double>(n); }

// ---- correctness family (§3.1–3.2) ----

class CorrectnessRule final : public RewardRule {
 public:
  CorrectnessRule(double correct, double wrong) : correct_(correct), wrong_(wrong) {}
  std::string_view name() const override { return "correctness"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    return {ctx.FinalCorrect() ? correct_ : wrong_, {}, {}};
  }

 private:
  double correct_, wrong_;
};

class TurnCorrectnessRule final : public RewardRule {
 public:
  explicit TurnCorrectnessRule(int64_t turn) : turn_(turn) {}
  std::string_view name() const override { return "turn_correctness"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    if (turn_ >= 1) {
      size_t k = static_cast<size_t>(turn_ - 1);
      return {k < ctx.grades.size() && ctx.grades[k].correct() ? 1.0 : 0.0, {}, {}};
    }
    double sum = 0;
    for (const auto& g : ctx.grades) sum += g.correct() ? 1.0 : 0.0;
    return {Mean(sum, ctx.grades.size()), {}, {}};
  }

 private:
  int64_t turn_;  // 0: mean over attempts; k ≥ 1: attempt k
};

class VerdictCorrectnessRule final : public RewardRule {
 public:
  std::string_view name() const override { return "verdict_correctness"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    double sum = 0;
    for (const auto& v : ctx.verdicts) sum += ctx.VerdictAgrees(v) ? 1.0 : 0.0;
    return {Mean(sum, ctx.verdicts.size()), {}, {}};
  }
};

struct BonusValues {
  double bonus = 1.5, correct = 1.0, wrong = 0.0;
};

double BonusReward(const RuleContext& ctx, const BonusValues& b) {
  if (!ctx.FinalCorrect()) return b.wrong;
  bool first_wrong = ctx.grades.size() >= 2 && !ctx.grades.front().correct();
  return first_wrong ? b.bonus : b.correct;
}

class WrongToCorrectBonusRule final : public RewardRule {
 public:
  explicit WrongToCorrectBonusRule(BonusValues b) : b_(b) {}
  std::string_view name() const override { return "wrong_to_correct_bonus"; }
  RuleOutput Apply(const RuleContext& ctx) const override { return {BonusReward(ctx, b_), {}, {}}; }

 private:
  BonusValues b_;
};

class StagedBonusRule final : public RewardRule {
 public:
  StagedBonusRule(BonusValues b, int64_t switch_step) : b_(b), switch_step_(switch_step) {}
  std::string_view name() const override { return "staged_bonus"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    int64_t step = ctx.trajectory ? ctx.trajectory->step : -1;
    bool second = step >= switch_step_;
    double v = second ? BonusReward(ctx, b_) : (ctx.FinalCorrect() ? b_.correct : b_.wrong);
    return {v, {}, {{"staged_bonus_stage", second ? 2.0 : 1.0}}};
  }

 private:
  BonusValues b_;
  int64_t switch_step_;
};

// ---- length and repetition (§3.3–3.4) ----

class CosineRule final : public RewardRule {
 public:
  explicit CosineRule(CosineParams p) : p_(p) {}
  std::string_view name() const override { return "cosine"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    const TrajectoryView& t = *ctx.trajectory;
    int64_t lmax = t.max_new_tokens > 0 ? t.max_new_tokens : p_.max_length;
    bool correct = ctx.FinalCorrect();
    double sparse = 0.0;
    if (!correct && p_.sparse_max_penalty != 0.0) {
      sparse = SparseRepetitionPenalty(t.FullText(), p_.sparse_ngram_size, p_.sparse_max_penalty);
    }
    RuleOutput out{CosineReward(t.Length(), lmax, correct, p_, sparse), {}, {}};
    out.components.push_back({"cosine_exceeded", t.Length() + p_.margin >= lmax ? 1.0 : 0.0});
    if (p_.sparse_max_penalty != 0.0) out.components.push_back({"cosine_sparse_repetition", sparse});
    return out;
  }

 private:
  CosineParams p_;
};

class RepetitionRule final : public RewardRule {
 public:
  RepetitionRule(int ngram, float penalty, bool only_start)
      : ngram_(ngram), penalty_(penalty), only_start_(only_start) {}
  std::string_view name() const override { return "repetition"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    const TrajectoryView& t = *ctx.trajectory;
    RuleOutput out;
    out.dense = DenseRepetitionPenalty(t.token_ids, ngram_, penalty_, only_start_, t.Length());
    // A declared length beyond the ids we have: the missing tail gets no penalty.
    if (t.Length() > static_cast<int64_t>(out.dense.size())) out.dense.resize(static_cast<size_t>(t.Length()), 0.0f);
    size_t hit = 0;
    for (float v : out.dense) hit += v != 0.0f;
    out.components.push_back({"repetition_tokens", static_cast<double>(hit)});
    return out;
  }

 private:
  int ngram_;
  float penalty_;
  bool only_start_;
};

// ---- format (§1.2, §3.5) ----

class FormatBoxedRule final : public RewardRule {
 public:
  std::string_view name() const override { return "format_boxed"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    return {HasBoxedAnswer(ctx.FinalAttemptText()) ? 1.0 : 0.0, {}, {}};
  }
};

class FormatVerdictRule final : public RewardRule {
 public:
  std::string_view name() const override { return "format_verdict"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    double sum = 0;
    for (const auto& v : ctx.verdicts) sum += v.parsed.valid() ? 1.0 : 0.0;
    return {Mean(sum, ctx.verdicts.size()), {}, {}};
  }
};

// ---- PCL (§3.5) ----

// accuracy g_1: nullopt when the gold is empty ("cannot be parsed": the sample is skipped).
std::optional<double> PclAccuracyValue(const TrajectoryView& t, const std::string& full) {
  std::string_view gold = StripAscii(t.gold);
  if (gold.empty()) return std::nullopt;
  auto ans = FirstPclAnswer(full);
  return ans && *ans == gold ? 1.0 : 0.0;
}

class PclAccuracyRule final : public RewardRule {
 public:
  std::string_view name() const override { return "pcl_accuracy"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    auto acc = PclAccuracyValue(*ctx.trajectory, ctx.trajectory->FullText());
    RuleOutput out{acc.value_or(0.0), {}, {}};
    if (!acc) out.components.push_back({"pcl_skipped", 1.0});
    return out;
  }
};

class PclFormatRule final : public RewardRule {
 public:
  explicit PclFormatRule(bool all) : all_(all) {}
  std::string_view name() const override { return all_ ? "pcl_format_all" : "pcl_format"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    std::string full = ctx.trajectory->FullText();
    return {(all_ ? PclFormatAllMatch(full) : PclFormatMatch(full)) ? 1.0 : 0.0, {}, {}};
  }

 private:
  bool all_;
};

class PclConsistencyRule final : public RewardRule {
 public:
  std::string_view name() const override { return "pcl_consistency"; }
  RuleOutput Apply(const RuleContext& ctx) const override {
    std::string full = ctx.trajectory->FullText();
    std::vector<double> g = {PclAccuracyValue(*ctx.trajectory, full).value_or(0.0),
                             PclFormatMatch(full) ? 1.0 : 0.0};
    auto p = ParseLastRewardList(full);
    RuleOutput out{PclConsistency(g, p), {}, {}};
    out.components.push_back({"pcl_reward_parsed", p && p->size() == 2 ? 1.0 : 0.0});
    return out;
  }
};

}  // namespace

const std::vector<std::string>& KnownRuleNames() {
  static const std::vector<std::string> kNames = {
      "correctness",  "turn_correctness", "verdict_correctness", "wrong_to_correct_bonus",
      "staged_bonus", "cosine",           "repetition",          "format_boxed",
      "format_verdict", "pcl_accuracy",   "pcl_format",          "pcl_format_all",
      "pcl_consistency"};
  return kNames;
}

StatusOr<std::unique_ptr<RewardRule>> MakeRule(std::string_view name, const nlohmann::json& params) {
  Params p(name, params);
  std::unique_ptr<RewardRule> rule;
  auto bonus = [&p] {
    BonusValues b;
    b.bonus = p.Number("bonus", 1.5);
    b.correct = p.Number("correct", 1.0);
    b.wrong = p.Number("wrong", 0.0);
    return b;
  };
  if (name == "correctness") {
    double c = p.Number("correct", 1.0), w = p.Number("wrong", 0.0);
    rule = std::make_unique<CorrectnessRule>(c, w);
  } else if (name == "turn_correctness") {
    int64_t turn = p.Int("turn", 0);
    if (turn < 0) p.Fail("turn", "must be >= 0 (0 = mean over attempts)");
    rule = std::make_unique<TurnCorrectnessRule>(turn);
  } else if (name == "verdict_correctness") {
    rule = std::make_unique<VerdictCorrectnessRule>();
  } else if (name == "wrong_to_correct_bonus") {
    rule = std::make_unique<WrongToCorrectBonusRule>(bonus());
  } else if (name == "staged_bonus") {
    BonusValues b = bonus();
    int64_t sw = p.Int("switch_step", 100);
    if (sw < 0) p.Fail("switch_step", "must be >= 0");
    rule = std::make_unique<StagedBonusRule>(b, sw);
  } else if (name == "cosine") {
    CosineParams c;
    c.max_value_correct = p.Number("max_value_correct", c.max_value_correct);
    c.min_value_correct = p.Number("min_value_correct", c.min_value_correct);
    c.min_value_wrong = p.Number("min_value_wrong", c.min_value_wrong);
    c.max_value_wrong = p.Number("max_value_wrong", c.max_value_wrong);
    c.exceed_length = p.Number("exceed_length", c.exceed_length);
    c.max_length = p.Int("max_length", c.max_length);
    c.margin = p.Int("margin", c.margin);
    c.sparse_max_penalty = p.Number("sparse_max_penalty", c.sparse_max_penalty);
    int64_t ng = p.Int("sparse_ngram_size", c.sparse_ngram_size);
    if (ng < 1 || ng > 1000) p.Fail("sparse_ngram_size", "must be in [1, 1000]");
    c.sparse_ngram_size = static_cast<int>(ng);
    SCORCH_RETURN_IF_ERROR(p.Finish());
    SCORCH_RETURN_IF_ERROR(c.Validate());
    rule = std::make_unique<CosineRule>(c);
  } else if (name == "repetition") {
    int64_t ng = p.Int("ngram_size", 40);
    double pen = p.Number("penalty", -0.05);
    bool only_start = p.Bool("only_start", false);
    if (ng < 1 || ng > 100000) p.Fail("ngram_size", "must be in [1, 100000]");
    if (pen >= 0) p.Fail("penalty", "must be negative");
    rule = std::make_unique<RepetitionRule>(static_cast<int>(ng), static_cast<float>(pen), only_start);
  } else if (name == "format_boxed") {
    rule = std::make_unique<FormatBoxedRule>();
  } else if (name == "format_verdict") {
    rule = std::make_unique<FormatVerdictRule>();
  } else if (name == "pcl_accuracy") {
    rule = std::make_unique<PclAccuracyRule>();
  } else if (name == "pcl_format") {
    rule = std::make_unique<PclFormatRule>(false);
  } else if (name == "pcl_format_all") {
    rule = std::make_unique<PclFormatRule>(true);
  } else if (name == "pcl_consistency") {
    rule = std::make_unique<PclConsistencyRule>();
  } else {
    std::string known;
    for (const auto& n : KnownRuleNames()) known += (known.empty() ? "" : ", ") + n;
    return Status::InvalidArgument("unknown reward rule '" + std::string(name) + "' (known: " + known + ")");
  }
  SCORCH_RETURN_IF_ERROR(p.Finish());
  return rule;
}

}  // namespace scorch::reward
