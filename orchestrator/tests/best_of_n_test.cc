#include "scorch/orchestrator/best_of_n.h"

#include <gtest/gtest.h>

#include <random>

namespace scorch::orchestrator {
namespace {

BonCandidate C(bool correct, std::string answer, std::optional<double> swift = std::nullopt,
               std::optional<bool> says = std::nullopt, double logprob = 0.0) {
  return BonCandidate{correct, std::move(answer), swift, says, logprob};
}

// Random problems: each candidate correct with a per-problem rate, SWIFT scores informative.
std::vector<std::vector<BonCandidate>> RandomProblems(int problems, int n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  std::vector<std::vector<BonCandidate>> out(static_cast<size_t>(problems));
  for (auto& p : out) {
    const double rate = u(rng);
    for (int i = 0; i < n; ++i) {
      const bool ok = u(rng) < rate;
      const std::string answer = ok ? "42" : std::to_string(static_cast<int>(u(rng) * 5));
      p.push_back(C(ok, answer, (ok ? 1.0 : -1.0) + 1.5 * (u(rng) - 0.5), u(rng) < (ok ? 0.8 : 0.3),
                    -u(rng)));
    }
  }
  return out;
}

TEST(BestOfNTest, OracleEqualsPassAtK) {
  const auto problems = RandomProblems(200, 8, 1);
  auto table = BestOfN(problems, BonKs(8), {"oracle"}, 7);
  ASSERT_TRUE(table.ok()) << table.status();
  for (size_t i = 0; i < table->ks.size(); ++i) {
    const int k = table->ks[i];
    // The oracle over the first k candidates is pass@k of those k candidates.
    std::vector<std::vector<BonCandidate>> first_k;
    for (const auto& p : problems) first_k.emplace_back(p.begin(), p.begin() + k);
    EXPECT_DOUBLE_EQ(table->accuracy.at("oracle")[i], PassAtK(first_k, k)) << "k=" << k;
  }
  // With all 8 the oracle is pass@8 of the unbiased estimator too.
  EXPECT_DOUBLE_EQ(table->accuracy.at("oracle").back(), PassAtK(problems, 8));
}

TEST(BestOfNTest, PassAtKMatchesTheCombinatorialFormula) {
  // n = 5, c = 2, k = 2: 1 - C(3,2)/C(5,2) = 1 - 3/10.
  std::vector<std::vector<BonCandidate>> p = {{C(true, "1"), C(false, "2"), C(true, "1"), C(false, "3"), C(false, "4")}};
  EXPECT_NEAR(PassAtK(p, 2), 0.7, 1e-12);
  EXPECT_NEAR(PassAtK(p, 1), 0.4, 1e-12);
  EXPECT_NEAR(PassAtK(p, 4), 1.0, 1e-12);  // only 3 wrong: any 4 contain a correct one
}

TEST(BestOfNTest, EachSelectorPicksWhatItPromises) {
  std::vector<BonCandidate> c = {C(false, "7", 0.1, false, -0.2), C(true, "5", 0.9, true, -0.9),
                                 C(false, "7", -0.3, true, -0.1), C(true, "5", 0.2, false, -0.5),
                                 C(false, "7", 0.0, false, -0.3)};
  EXPECT_EQ(*SelectCandidate("swift", c, 0), 1u);
  EXPECT_EQ(*SelectCandidate("majority", c, 0), 0u);      // "7" has 3 votes; its first candidate
  EXPECT_EQ(*SelectCandidate("self_verdict", c, 0), 1u);  // first that says correct
  EXPECT_EQ(*SelectCandidate("likelihood", c, 0), 2u);
  EXPECT_EQ(*SelectCandidate("oracle", c, 0), 1u);
  // Rank: swift ranks 3,1,5,2,4; likelihood ranks 2,5,1,4,3 -> max 3,5,5,4,4: candidate 0.
  EXPECT_EQ(*SelectCandidate("swift+likelihood:rank", c, 0), 0u);
  // Scaled: swift (x+0.3)/1.2, likelihood (x+0.9)/0.8; averages .604,.5,.5,.458,.5 -> candidate 0.
  EXPECT_EQ(*SelectCandidate("swift+likelihood:scaled", c, 0), 0u);
  // A constant score normalises to 1 (§5), so the other score decides.
  std::vector<BonCandidate> flat = {C(false, "1", 0.5, {}, -0.4), C(true, "2", 0.5, {}, -0.1)};
  EXPECT_EQ(*SelectCandidate("swift+likelihood:scaled", flat, 0), 1u);
  // Majority ties go to the answer seen first; no verdict at all falls back to the first.
  std::vector<BonCandidate> tie = {C(false, "a"), C(true, "b"), C(true, "b"), C(false, "a")};
  EXPECT_EQ(*SelectCandidate("majority", tie, 0), 0u);
  EXPECT_EQ(*SelectCandidate("self_verdict", tie, 0), 0u);
}

TEST(BestOfNTest, RandomIsReproducibleAndRoughlyUniform) {
  std::vector<BonCandidate> c(4, C(false, "x"));
  std::vector<int> counts(4, 0);
  for (uint64_t s = 0; s < 4000; ++s) counts[*SelectCandidate("random", c, s)]++;
  for (int n : counts) EXPECT_NEAR(n, 1000, 150);
  EXPECT_EQ(*SelectCandidate("random", c, 99), *SelectCandidate("random", c, 99));
}

TEST(BestOfNTest, InformativeSwiftBeatsRandomAndNeverBeatsTheOracle) {
  const auto problems = RandomProblems(300, 8, 3);
  auto t = BestOfN(problems, BonKs(8), {"swift", "random", "oracle"}, 11);
  ASSERT_TRUE(t.ok());
  EXPECT_DOUBLE_EQ(t->accuracy.at("swift")[0], t->accuracy.at("oracle")[0]);  // k = 1: all the same pick
  EXPECT_GT(t->accuracy.at("swift").back(), t->accuracy.at("random").back() + 0.1);
  for (size_t i = 0; i < t->ks.size(); ++i) {
    EXPECT_LE(t->accuracy.at("swift")[i], t->accuracy.at("oracle")[i]);
  }
  const std::string text = FormatBonTable(*t);
  EXPECT_NE(text.find("k=8"), std::string::npos);
  EXPECT_NE(text.find("swift"), std::string::npos);
  EXPECT_EQ(t->ToJson()["ks"], nlohmann::json({1, 2, 4, 8}));
}

TEST(BestOfNTest, MissingScoresAndBadInputAreErrors) {
  std::vector<BonCandidate> c = {C(true, "1", 0.3), C(false, "2")};
  auto s = SelectCandidate("swift", c, 0);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.status().message().find("candidate 1 has no SWIFT score"), std::string::npos);
  EXPECT_FALSE(SelectCandidate("best", c, 0).ok());
  EXPECT_FALSE(BestOfN({c}, {4}, {"oracle"}, 0).ok());  // k larger than the candidates
  EXPECT_FALSE(BestOfN({c}, {1}, {"nope"}, 0).ok());
  EXPECT_EQ(BonKs(6), (std::vector<int>{1, 2, 4, 6}));
  EXPECT_EQ(BonKs(1), (std::vector<int>{1}));
}

}  // namespace
}  // namespace scorch::orchestrator
