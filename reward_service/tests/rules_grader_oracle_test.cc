// The reward rules on the real math grader: the Grader and GraderPool oracle adapters.
#include <gtest/gtest.h>

#include "scorch/reward/reward_engine.h"
#include "scorch/reward/reward_grader_oracle.h"

namespace scorch::reward {
namespace {

TEST(GraderOracleTest, MapsVerdictsAndReasons) {
  Grader grader;
  GraderOracle oracle(&grader);
  OracleResult c = oracle.Grade({"\\frac{1}{2}", "so the answer is \\boxed{0.5}.", true});
  EXPECT_EQ(c.verdict, OracleVerdict::kCorrect) << c.reason;
  OracleResult w = oracle.Grade({"\\frac{1}{2}", "\\boxed{0.6}", true});
  EXPECT_EQ(w.verdict, OracleVerdict::kWrong) << w.reason;
  // A bare answer is compared as is.
  EXPECT_EQ(oracle.Grade({"12", "12", false}).verdict, OracleVerdict::kCorrect);
  // A refused computation is an `error`, which the rules score as wrong.
  OracleResult e = oracle.Grade({"1", "\\boxed{((9!)!)!}", true});
  EXPECT_NE(e.verdict, OracleVerdict::kCorrect);
}

TEST(GraderOracleTest, EngineOnRealGraderPerTurn) {
  Grader grader;
  GraderOracle oracle(&grader);
  auto engine = RewardEngine::Create(*RewardConfig::Preset("srr_bonus"), &oracle);
  ASSERT_TRUE(engine.ok());
  TrajectoryView t;
  t.protocol = Protocol::kSrr;
  t.gold = "\\frac{3}{4}";
  t.turns = SplitResponse("So \\boxed{0.7}. Check: \\boxed{\\text{[VERIFY] wrong.}} The mistake was "
                          "rounding; the answer is \\boxed{\\dfrac{3}{4}}. [VERIFY] correct.",
                          Protocol::kSrr);
  RewardResult r = (*engine)->Score(t);
  EXPECT_DOUBLE_EQ(r.Component("turn1_correct"), 0.0);
  EXPECT_DOUBLE_EQ(r.Component("turn2_correct"), 1.0);
  EXPECT_DOUBLE_EQ(r.reward, 1.5);
}

TEST(GraderOracleTest, PoolOracleGradesBatches) {
  GraderPoolOptions po;
  po.num_workers = 2;
  auto pool = GraderPool::Create(po);
  ASSERT_TRUE(pool.ok()) << pool.status();
  GraderPoolOracle oracle(pool->get());
  std::vector<OracleQuery> q = {{"4", "\\boxed{4}", true}, {"4", "\\boxed{5}", true}, {"x+1", "1+x", false}};
  auto r = oracle.GradeBatch(q);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[0].verdict, OracleVerdict::kCorrect);
  EXPECT_EQ(r[1].verdict, OracleVerdict::kWrong);
  EXPECT_EQ(r[2].verdict, OracleVerdict::kCorrect) << r[2].reason;
}

}  // namespace
}  // namespace scorch::reward
