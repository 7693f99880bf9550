// Cosine length scaling and repetition penalties (ALGORITHMS §3.3–3.4) on hand-computed values.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "scorch/reward/rules_length.h"

namespace scorch::reward {
namespace {

TEST(CosineTest, PublishedAnchorsAtHalfLength) {
  CosineParams p;  // published defaults: 2→1 correct, −10→0 wrong, r_exceed −10, L_max 14336
  EXPECT_DOUBLE_EQ(CosineReward(7168, 14336, true, p), 1.5);
  EXPECT_DOUBLE_EQ(CosineReward(7168, 14336, false, p), -5.0);
}

TEST(CosineTest, EndpointsAndShape) {
  CosineParams p;
  EXPECT_DOUBLE_EQ(CosineReward(0, 14336, true, p), 2.0);
  EXPECT_DOUBLE_EQ(CosineReward(0, 14336, false, p), -10.0);
  // L = L_max/4: cos(π/4) = √2/2.
  double c = 1.0 + 0.5 * 1.0 * (1.0 + std::sqrt(0.5));
  EXPECT_NEAR(CosineReward(3584, 14336, true, p), c, 1e-12);
  EXPECT_NEAR(CosineReward(3584, 14336, false, p), -5.0 * (1.0 + std::sqrt(0.5)), 1e-12);
  // Short correct beats long correct; short wrong is punished harder than long wrong.
  EXPECT_GT(CosineReward(100, 14336, true, p), CosineReward(10000, 14336, true, p));
  EXPECT_LT(CosineReward(100, 14336, false, p), CosineReward(10000, 14336, false, p));
}

TEST(CosineTest, SixteenTokenMarginGivesExceedReward) {
  CosineParams p;
  // L + 16 >= L_max → r_exceed, for correct and wrong alike.
  EXPECT_DOUBLE_EQ(CosineReward(14320, 14336, true, p), -10.0);
  EXPECT_DOUBLE_EQ(CosineReward(14320, 14336, false, p), -10.0);
  EXPECT_DOUBLE_EQ(CosineReward(20000, 14336, true, p), -10.0);
  // One token earlier is still scored by the curve (close to rL_c = 1).
  double v = CosineReward(14319, 14336, true, p);
  EXPECT_GT(v, 1.0);
  EXPECT_LT(v, 1.001);
  p.exceed_length = -3.0;
  EXPECT_DOUBLE_EQ(CosineReward(2040, 2048, true, p), -3.0);
}

TEST(CosineTest, SparsePenaltyOnlyForWrongAnswers) {
  CosineParams p;
  EXPECT_DOUBLE_EQ(CosineReward(7168, 14336, false, p, -0.25), -5.25);
  EXPECT_DOUBLE_EQ(CosineReward(7168, 14336, true, p, -0.25), 1.5);
}

TEST(CosineTest, ValidateRejectsPositiveWrongValues) {
  CosineParams p;
  EXPECT_TRUE(p.Validate().ok());
  p.max_value_wrong = 0.5;
  EXPECT_TRUE(p.Validate().IsInvalidArgument());
  p = CosineParams{};
  p.max_length = 0;
  EXPECT_FALSE(p.Validate().ok());
  p = CosineParams{};
  p.sparse_max_penalty = 1.0;
  EXPECT_FALSE(p.Validate().ok());
}

std::vector<float> Expect(std::initializer_list<int> marked, size_t len, float pen) {
  std::vector<float> v(len, 0.0f);
  for (int i : marked) v[static_cast<size_t>(i)] = pen;
  return v;
}

TEST(DenseRepetitionTest, NoRepeatNoPenalty) {
  std::vector<int32_t> t = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(DenseRepetitionPenalty(t, 2, -0.05f, false), std::vector<float>(6, 0.0f));
}

TEST(DenseRepetitionTest, RepeatedNgramCoversItsTokens) {
  // n = 3: (1,2,3) at 0 and again at 4 → tokens 4,5,6 penalised.
  std::vector<int32_t> t = {1, 2, 3, 9, 1, 2, 3, 8};
  EXPECT_EQ(DenseRepetitionPenalty(t, 3, -0.05f, false), Expect({4, 5, 6}, 8, -0.05f));
}

TEST(DenseRepetitionTest, OverlapsAreAssignedNotSummed) {
  // All-equal ids, n = 2: n-grams at 1..4 repeat (1,1); tokens 1..5 get P exactly once each.
  std::vector<int32_t> t = {7, 7, 7, 7, 7, 7};
  auto d = DenseRepetitionPenalty(t, 2, -0.05f, false);
  EXPECT_EQ(d, Expect({1, 2, 3, 4, 5}, 6, -0.05f));
  for (float v : d) EXPECT_GE(v, -0.05f);  // never -0.10
}

TEST(DenseRepetitionTest, OnlyStartFollowsReferenceCode) {
  // Repeats start at 1,2,3,4 (n=2). only_start: 1 is taken (curr_end becomes 3); 2 and 3 are
  // skipped (not > curr_end, which moves to 4 and 5); 4 is skipped too (4 > 5 is false).
  std::vector<int32_t> t = {7, 7, 7, 7, 7, 7};
  EXPECT_EQ(DenseRepetitionPenalty(t, 2, -0.05f, true), Expect({1, 2}, 6, -0.05f));
  // Two separate repeats far apart are both taken.
  std::vector<int32_t> u = {1, 2, 5, 1, 2, 6, 7, 8, 9, 1, 2};
  // (1,2) repeats at 3 and at 9: 9 > 3+2 → both assigned.
  EXPECT_EQ(DenseRepetitionPenalty(u, 2, -0.5f, true), Expect({3, 4, 9, 10}, 11, -0.5f));
  EXPECT_EQ(DenseRepetitionPenalty(u, 2, -0.5f, false), Expect({3, 4, 9, 10}, 11, -0.5f));
}

TEST(DenseRepetitionTest, LengthCutsTheIdsAndShortInputsAreSafe) {
  std::vector<int32_t> t = {1, 2, 3, 9, 1, 2, 3, 8};
  // The first 6 ids hold no repeated 3-gram yet.
  EXPECT_EQ(DenseRepetitionPenalty(t, 3, -0.05f, false, 6), std::vector<float>(6, 0.0f));
  EXPECT_EQ(DenseRepetitionPenalty(t, 3, -0.05f, false, 7), Expect({4, 5, 6}, 7, -0.05f));
  EXPECT_TRUE(DenseRepetitionPenalty({}, 40, -0.05f, false).empty());
  EXPECT_EQ(DenseRepetitionPenalty(t, 40, -0.05f, false), std::vector<float>(8, 0.0f));
}

TEST(DenseRepetitionTest, DefaultN40OnLongLoop) {
  // A 50-token block repeated twice: the second copy's n-grams (start 50..60) repeat.
  std::vector<int32_t> t;
  for (int r = 0; r < 2; ++r) {
    for (int i = 0; i < 50; ++i) t.push_back(1000 + i);
  }
  auto d = DenseRepetitionPenalty(t, 40, -0.05f, false);
  for (size_t i = 0; i < 100; ++i) EXPECT_FLOAT_EQ(d[i], i >= 50 ? -0.05f : 0.0f) << i;
}

TEST(SparseRepetitionTest, UniqueOverTotal) {
  // n = 2 over "a b a b": n-grams (a,b),(b,a),(a,b): total 3, unique 2 → -1 * (1 - 2/3).
  EXPECT_NEAR(SparseRepetitionPenalty("a b a b", 2, -1.0), -1.0 / 3.0, 1e-12);
  // Lowercased: "A b a B" is the same.
  EXPECT_NEAR(SparseRepetitionPenalty("A b\n a   B", 2, -1.0), -1.0 / 3.0, 1e-12);
  EXPECT_DOUBLE_EQ(SparseRepetitionPenalty("a b c d", 2, -1.0), 0.0);
}

TEST(SparseRepetitionTest, GuardsTotalZeroAndOff) {
  EXPECT_DOUBLE_EQ(SparseRepetitionPenalty("only three words", 20, -1.0), 0.0);
  EXPECT_DOUBLE_EQ(SparseRepetitionPenalty("", 20, -1.0), 0.0);
  EXPECT_DOUBLE_EQ(SparseRepetitionPenalty("a a a a", 2, 0.0), 0.0);
  // Words that would collide if joined naively stay distinct ("ab c" vs "a bc").
  EXPECT_DOUBLE_EQ(SparseRepetitionPenalty("ab c a bc", 2, -1.0), 0.0);
}

}  // namespace
}  // namespace scorch::reward
