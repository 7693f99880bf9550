#include "scorch/orchestrator/eval_metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <random>

namespace scorch::orchestrator {
namespace {

EvalRecord R(bool c1, bool cf, SelfVerdict v, bool corrected = false) {
  EvalRecord r;
  r.first_correct = c1;
  r.final_correct = cf;
  r.first_verdict = v;
  r.corrected = corrected;
  return r;
}

TEST(EvalMetricsTest, HandComputedTable) {
  using V = SelfVerdict;
  std::vector<EvalRecord> recs = {
      R(true, true, V::kCorrect),         // c -> c, verdict right
      R(true, true, V::kWrong, true),     // misleading verdict, kept correct
      R(true, false, V::kWrong, true),    // misleading verdict, broke it: c -> i
      R(false, true, V::kWrong, true),    // i -> c
      R(false, false, V::kWrong, true),   // i -> i, verdict right
      R(false, false, V::kCorrect),       // i, verdict wrong
      R(false, false, V::kNone),          // no verdict
      R(true, true, V::kNone),
  };
  EvalSummary s = Summarize(recs);
  EXPECT_EQ(s.n, 8);
  EXPECT_DOUBLE_EQ(s.turn1, 4.0 / 8);
  EXPECT_DOUBLE_EQ(s.final, 4.0 / 8);
  EXPECT_DOUBLE_EQ(s.delta_i2c, 1.0 / 8);
  EXPECT_DOUBLE_EQ(s.delta_c2i, 1.0 / 8);
  EXPECT_DOUBLE_EQ(s.delta, 0.0);
  EXPECT_DOUBLE_EQ(*s.rm_acc_correct, 1.0 / 3);  // of 3 correct a¹ with verdicts, 1 said correct
  EXPECT_DOUBLE_EQ(*s.rm_acc_wrong, 2.0 / 3);
  EXPECT_DOUBLE_EQ(*s.p_c2i, 1.0 / 2);
  EXPECT_DOUBLE_EQ(s.samples_per_trajectory, 1.0 + 4.0 / 8);
  EXPECT_EQ(s.verdict_missing, 2);
  auto j = s.ToJson();
  for (const char* key : {"n", "turn1", "final", "delta", "delta_i2c", "delta_c2i",
                          "rm_acc_correct", "rm_acc_wrong"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
}

TEST(EvalMetricsTest, DeltaIdentityHolds) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<EvalRecord> recs;
    int n = 1 + static_cast<int>(rng() % 500);
    for (int i = 0; i < n; ++i) {
      recs.push_back(R(rng() % 2, rng() % 2, static_cast<SelfVerdict>(rng() % 3)));
    }
    EvalSummary s = Summarize(recs);
    EXPECT_NEAR(s.delta, s.delta_i2c - s.delta_c2i, 1e-15) << "n=" << n;
    EXPECT_NEAR(s.delta, s.final - s.turn1, 1e-12);
  }
}

TEST(EvalMetricsTest, SrrTable3AnchorIdentity) {
  // MATH500 self-rewarding IFT: Δi→c 5.0 − Δc→i 0.4 = Δ 4.6 (on N = 500: 25 and 2 problems).
  std::vector<EvalRecord> recs;
  for (int i = 0; i < 25; ++i) recs.push_back(R(false, true, SelfVerdict::kWrong, true));
  for (int i = 0; i < 2; ++i) recs.push_back(R(true, false, SelfVerdict::kWrong, true));
  for (int i = 0; i < 473; ++i) recs.push_back(R(i < 361, i < 361, SelfVerdict::kCorrect));
  EvalSummary s = Summarize(recs);
  EXPECT_NEAR(100 * s.delta_i2c, 5.0, 1e-9);
  EXPECT_NEAR(100 * s.delta_c2i, 0.4, 1e-9);
  EXPECT_NEAR(100 * s.delta, 4.6, 1e-9);
  EXPECT_NEAR(100 * s.turn1, 72.6, 1e-9);
  EXPECT_NEAR(100 * s.final, 77.2, 1e-9);
}

TEST(EvalMetricsTest, EmptyAndUndefinedRatios) {
  EvalSummary empty = Summarize({});
  EXPECT_EQ(empty.n, 0);
  EvalSummary all_right = Summarize({R(true, true, SelfVerdict::kCorrect)});
  EXPECT_FALSE(all_right.rm_acc_wrong.has_value());
  EXPECT_FALSE(all_right.p_c2i.has_value());
  EXPECT_TRUE(all_right.ToJson()["rm_acc_wrong"].is_null());
}

TEST(EvalMetricsTest, MajorityVote) {
  auto rec = [](const std::string& p, const std::string& ans, bool ok) {
    EvalRecord r;
    r.prompt_id = p;
    r.final_answer = ans;
    r.final_correct = ok;
    return r;
  };
  std::vector<EvalRecord> recs = {rec("a", "4", true),  rec("a", "5", false), rec("a", "5", false),
                                  rec("b", "7", true),  rec("b", "7", true),  rec("b", "1", false),
                                  rec("c", "2", false), rec("c", "3", true)};
  EXPECT_DOUBLE_EQ(MajorityAtN(recs, 1), 2.0 / 3);   // a:4 ok, b:7 ok, c:2 wrong
  EXPECT_DOUBLE_EQ(MajorityAtN(recs, 3), 1.0 / 3);   // a:5 wrong, b:7 ok, c:2 (tie, first) wrong
}

TEST(EvalMetricsTest, TableMentionsEveryColumn) {
  std::string t = FormatEvalTable({{"before RL", Summarize({R(false, true, SelfVerdict::kWrong, true)})}});
  EXPECT_THAT(t, ::testing::HasSubstr("Turn1"));
  EXPECT_THAT(t, ::testing::HasSubstr("before RL"));
  EXPECT_THAT(t, ::testing::HasSubstr("+100.0"));
}

}  // namespace
}  // namespace scorch::orchestrator
