// RewardEngine and the composed rules with a fake oracle: correctness, per-turn and verdict
// components, the SRR 1.5-bonus rule and its staged variant, cosine + dense repetition,
// PCL accuracy/format_all/consistency, config parsing and grader `error` handling.
#include <gtest/gtest.h>

#include <atomic>
#include <string>

#include "scorch/reward/reward_config.h"
#include "scorch/reward/reward_engine.h"

namespace scorch::reward {
namespace {

// Fake oracle: the last \boxed{X} (no nesting) equals gold → correct; gold "ERR" → error.
class FakeOracle : public Oracle {
 public:
  OracleResult Grade(const OracleQuery& q) override {
    ++calls;
    if (q.gold == "ERR") return {OracleVerdict::kError, "deadline", 0};
    std::string_view t = q.text;
    size_t b = t.rfind("\\boxed{");
    if (b == std::string_view::npos) return {OracleVerdict::kWrong, "no_answer", 0};
    size_t e = t.find('}', b);
    std::string_view ans = t.substr(b + 7, e - b - 7);
    return ans == q.gold ? OracleResult{OracleVerdict::kCorrect, "string_equal", 0}
                         : OracleResult{OracleVerdict::kWrong, "not_equal", 0};
  }
  std::atomic<int> calls{0};
};

TrajectoryView Srr(const std::string& response, const std::string& gold) {
  TrajectoryView t;
  t.protocol = Protocol::kSrr;
  t.turns = SplitResponse(response, Protocol::kSrr);
  t.gold = gold;
  return t;
}

std::unique_ptr<RewardEngine> Engine(const RewardConfig& c, Oracle* o) {
  auto e = RewardEngine::Create(c, o);
  EXPECT_TRUE(e.ok()) << e.status();
  return std::move(e).value();
}

TEST(RewardEngineTest, DefaultIsFinalCorrectnessWithTurnComponents) {
  FakeOracle oracle;
  auto engine = Engine(RewardConfig{}, &oracle);
  auto r = engine->Score(Srr("\\boxed{5} \\boxed{\\text{[VERIFY] wrong.}} fix: \\boxed{4} [VERIFY] correct.", "4"));
  EXPECT_DOUBLE_EQ(r.reward, 1.0);
  EXPECT_EQ(r.final_verdict, OracleVerdict::kCorrect);
  EXPECT_DOUBLE_EQ(r.Component("attempts"), 2);
  EXPECT_DOUBLE_EQ(r.Component("turn1_correct"), 0);
  EXPECT_DOUBLE_EQ(r.Component("turn2_correct"), 1);
  EXPECT_DOUBLE_EQ(r.Component("turn1_verdict"), 0);  // said wrong
  EXPECT_DOUBLE_EQ(r.Component("turn1_verdict_correct"), 1);  // and a¹ was wrong
  EXPECT_DOUBLE_EQ(r.Component("turn2_verdict_correct"), 1);
  EXPECT_EQ(oracle.calls.load(), 2);
  ASSERT_EQ(r.turns.size(), 4u);
  EXPECT_TRUE(r.turns[1].verdict_agrees.value());
}

TEST(RewardEngineTest, StopAfterCorrectVerdictGradesFirstAttempt) {
  FakeOracle oracle;
  auto engine = Engine(RewardConfig{}, &oracle);
  auto r = engine->Score(Srr("\\boxed{7} [VERIFY] correct.", "4"));
  EXPECT_DOUBLE_EQ(r.reward, 0.0);
  EXPECT_DOUBLE_EQ(r.Component("turn1_verdict_correct"), 0);  // said correct, was wrong
}

TEST(RewardEngineTest, GraderErrorEarnsWrongRewardAndIsCountedApart) {
  FakeOracle oracle;
  auto engine = Engine(RewardConfig{}, &oracle);
  auto r = engine->Score(Srr("\\boxed{4}", "ERR"));
  EXPECT_DOUBLE_EQ(r.reward, 0.0);
  EXPECT_EQ(r.final_verdict, OracleVerdict::kError);
  EXPECT_EQ(r.final_reason, "deadline");
  EXPECT_DOUBLE_EQ(r.Component("grader_error"), 1);
  // Cosine treats error as a wrong answer too.
  auto cos = Engine(*RewardConfig::FromJson({{"rules", {{{"name", "cosine"}}}}}), &oracle);
  TrajectoryView t = Srr("\\boxed{4}", "ERR");
  t.generated_tokens = 1024;
  t.max_new_tokens = 2048;
  EXPECT_DOUBLE_EQ(cos->Score(t).reward, -5.0);
}

TEST(RewardEngineTest, WrongToCorrectBonusRuleAndItsHack) {
  FakeOracle oracle;
  auto engine = Engine(*RewardConfig::Preset("srr_bonus"), &oracle);
  // wrong → correct: 1.5 (the rule the SRR model hacked by answering wrong on purpose).
  EXPECT_DOUBLE_EQ(engine->Score(Srr("\\boxed{5} [VERIFY] wrong. \\boxed{4} [VERIFY] correct.", "4")).reward, 1.5);
  // correct at once: 1.0; correct → correct: 1.0; wrong at the end: 0.
  EXPECT_DOUBLE_EQ(engine->Score(Srr("\\boxed{4} [VERIFY] correct.", "4")).reward, 1.0);
  EXPECT_DOUBLE_EQ(engine->Score(Srr("\\boxed{4} [VERIFY] wrong. \\boxed{4} [VERIFY] correct.", "4")).reward, 1.0);
  EXPECT_DOUBLE_EQ(engine->Score(Srr("\\boxed{4} [VERIFY] wrong. \\boxed{5} [VERIFY] correct.", "4")).reward, 0.0);
}

TEST(RewardEngineTest, StagedBonusSwitchesAtStep) {
  FakeOracle oracle;
  auto cfg = RewardConfig::FromJson(
      {{"rules", {{{"name", "staged_bonus"}, {"params", {{"switch_step", 10}}}}}}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  auto engine = Engine(*cfg, &oracle);
  TrajectoryView t = Srr("\\boxed{5} [VERIFY] wrong. \\boxed{4} [VERIFY] correct.", "4");
  t.step = 9;
  EXPECT_DOUBLE_EQ(engine->Score(t).reward, 1.0);
  t.step = 10;
  EXPECT_DOUBLE_EQ(engine->Score(t).reward, 1.5);
  t.step = -1;  // unknown → first stage
  EXPECT_DOUBLE_EQ(engine->Score(t).reward, 1.0);
}

TEST(RewardEngineTest, PerTurnAndVerdictRulesCanBeRewarded) {
  FakeOracle oracle;
  auto cfg = RewardConfig::FromJson({{"rules",
                                      {{{"name", "correctness"}, {"weight", 1.0}},
                                       {{"name", "turn_correctness"}, {"weight", 0.5}, {"params", {{"turn", 1}}}},
                                       {{"name", "verdict_correctness"}, {"weight", 0.25}},
                                       "format_verdict"}}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  auto engine = Engine(*cfg, &oracle);
  // a¹ right, y¹ "wrong" (disagrees), a² right, y² "correct" (agrees).
  auto r = engine->Score(Srr("\\boxed{4} [VERIFY] wrong. \\boxed{4} [VERIFY] correct.", "4"));
  EXPECT_DOUBLE_EQ(r.Component("verdict_correctness"), 0.5);
  EXPECT_DOUBLE_EQ(r.Component("format_verdict"), 1.0);
  EXPECT_DOUBLE_EQ(r.reward, 1.0 + 0.5 * 1.0 + 0.25 * 0.5 + 1.0);
}

TEST(RewardEngineTest, TwoTurnYesNoVerdicts) {
  FakeOracle oracle;
  auto engine = Engine(RewardConfig{}, &oracle);
  TrajectoryView t;
  t.protocol = Protocol::kTwoTurn;
  t.gold = "4";
  t.turns = SplitResponse("\\boxed{5}\n\nIs my most recent final answer correct (Yes or No)? No.\n\\boxed{4}",
                          Protocol::kTwoTurn);
  auto r = engine->Score(t);
  EXPECT_DOUBLE_EQ(r.reward, 1.0);
  EXPECT_DOUBLE_EQ(r.Component("turn1_verdict"), 0.0);
  EXPECT_DOUBLE_EQ(r.Component("turn1_verdict_correct"), 1.0);
}

TEST(RewardEngineTest, CosinePlusDenseRepetition) {
  FakeOracle oracle;
  auto engine = Engine(*RewardConfig::Preset("cosine"), &oracle);
  TrajectoryView t;
  t.turns = {{TurnKind::kAttempt, "\\boxed{4}"}};
  t.gold = "4";
  t.max_new_tokens = 200;
  for (int r = 0; r < 2; ++r) {
    for (int i = 0; i < 50; ++i) t.token_ids.push_back(i);
  }  // L = 100 = L_max/2; the second copy (positions 50..99) repeats 40-grams
  auto res = engine->Score(t);
  EXPECT_DOUBLE_EQ(res.reward, 1.5);
  ASSERT_EQ(res.dense.size(), 100u);
  EXPECT_FLOAT_EQ(res.dense[49], 0.0f);
  EXPECT_FLOAT_EQ(res.dense[50], -0.05f);
  EXPECT_NEAR(res.Component("repetition"), -0.05 * 50, 1e-5);
  EXPECT_DOUBLE_EQ(res.Component("repetition_tokens"), 50);
}

TEST(RewardEngineTest, CosineSparseVariantForWrongAnswers) {
  FakeOracle oracle;
  auto cfg = RewardConfig::FromJson({{"rules", {{{"name", "cosine"},
      {"params", {{"sparse_max_penalty", -1.0}, {"sparse_ngram_size", 2}, {"max_length", 200}}}}}}});
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  auto engine = Engine(*cfg, &oracle);
  TrajectoryView t;
  t.turns = {{TurnKind::kAttempt, "a b a b \\boxed{5}"}};  // 2-grams: ab ba ab b\boxed → 3/4 unique
  t.gold = "4";
  t.generated_tokens = 100;
  auto r = engine->Score(t);
  EXPECT_NEAR(r.reward, -5.0 - 0.25, 1e-12);
  t.turns[0].text = "a b a b \\boxed{4}";
  EXPECT_NEAR(engine->Score(t).reward, 1.5, 1e-12);  // correct: no sparse penalty
}

TEST(RewardEngineTest, PclPresetSumsAccuracyFormatAllConsistency) {
  FakeOracle oracle;
  auto engine = Engine(*RewardConfig::Preset("pcl"), &oracle);
  TrajectoryView t;
  t.protocol = Protocol::kPcl;
  t.gold = "42";
  t.turns = SplitResponse("<think>r</think>\n<answer> 42 </answer>\n<evaluation>fine</evaluation>\n"
                          "<reward>[1, 1]</reward>", Protocol::kPcl);
  auto r = engine->Score(t);
  EXPECT_DOUBLE_EQ(r.Component("pcl_accuracy"), 1);
  EXPECT_DOUBLE_EQ(r.Component("pcl_format_all"), 1);
  EXPECT_DOUBLE_EQ(r.Component("pcl_consistency"), 1);
  EXPECT_DOUBLE_EQ(r.reward, 3.0);
  // Wrong answer but claims accuracy 1: C = 1 - ½(|0-1|/1 + 0) = 0.5.
  t.turns = SplitResponse("<think>r</think>\n<answer>41</answer>\n<evaluation>e</evaluation>\n"
                          "<reward>[1, 1]</reward>", Protocol::kPcl);
  r = engine->Score(t);
  EXPECT_DOUBLE_EQ(r.reward, 0.0 + 1.0 + 0.5);
  // Malformed <reward>: consistency 0.
  t.turns = SplitResponse("<think>r</think>\n<answer>42</answer>\n<evaluation>e</evaluation>\n"
                          "<reward>[1; 1]</reward>", Protocol::kPcl);
  r = engine->Score(t);
  EXPECT_DOUBLE_EQ(r.Component("pcl_consistency"), 0.0);
  EXPECT_DOUBLE_EQ(r.reward, 2.0);
}

TEST(RewardConfigTest, ErrorsNameTheProblem) {
  auto bad_rule = RewardConfig::FromJson({{"rules", {"nope"}}});
  ASSERT_FALSE(bad_rule.ok());
  EXPECT_NE(bad_rule.status().message().find("unknown reward rule 'nope'"), std::string::npos);
  auto bad_param = RewardConfig::FromJson({{"rules", {{{"name", "cosine"}, {"params", {{"max_lenght", 5}}}}}}});
  ASSERT_FALSE(bad_param.ok());
  EXPECT_NE(bad_param.status().message().find("max_lenght"), std::string::npos);
  auto pos_wrong = RewardConfig::FromJson({{"rules", {{{"name", "cosine"}, {"params", {{"max_value_wrong", 1}}}}}}});
  EXPECT_FALSE(pos_wrong.ok());
  auto pos_pen = RewardConfig::FromJson({{"rules", {{{"name", "repetition"}, {"params", {{"penalty", 0.1}}}}}}});
  EXPECT_FALSE(pos_pen.ok());
  EXPECT_FALSE(RewardConfig::FromJson({{"preset", "nope"}}).ok());
  EXPECT_FALSE(RewardConfig::FromJson({{"bogus", 1}}).ok());
  EXPECT_FALSE(RewardConfig::FromJson(nlohmann::json::array()).ok());
  // Round trip.
  auto c = RewardConfig::Preset("cosine");
  ASSERT_TRUE(c.ok());
  auto back = RewardConfig::FromJson(c->ToJson());
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->rules.size(), 2u);
  for (const auto& p : RewardConfig::PresetNames()) EXPECT_TRUE(RewardConfig::Preset(p)->Validate().ok()) << p;
}

}  // namespace
}  // namespace scorch::reward
