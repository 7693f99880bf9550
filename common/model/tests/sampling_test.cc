// Sampling primitives: determinism per seed and independence from batch mates, greedy ==
// argmax, exact top-k / top-p sets, temperature scaling, empirical frequencies, and the two
// kinds of log-probs.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <vector>

#include "scorch/model/sampling.h"

namespace scorch::model {
namespace {

torch::Tensor LogitsFromProbs(const std::vector<double>& p) {
  return torch::log(torch::tensor(p, torch::kFloat64)).to(torch::kFloat32).unsqueeze(0);
}

std::vector<int64_t> Kept(const torch::Tensor& filtered_row) {
  std::vector<int64_t> out;
  auto finite = torch::isfinite(filtered_row);
  for (int64_t i = 0; i < filtered_row.size(0); ++i) {
    if (finite[i].item<bool>()) out.push_back(i);
  }
  return out;
}

TEST(RequestRngTest, DeterministicAndUniform) {
  RequestRng a(5), b(5), c(6);
  double sum = 0;
  bool differs = false;
  for (int i = 0; i < 10000; ++i) {
    double x = a.NextDouble();
    EXPECT_EQ(x, b.NextDouble());
    differs = differs || x != c.NextDouble();
    ASSERT_GE(x, 0.0);
    ASSERT_LT(x, 1.0);
    sum += x;
  }
  EXPECT_TRUE(differs);
  EXPECT_NEAR(sum / 10000, 0.5, 0.02);
}

TEST(SamplingTest, ParamsValidation) {
  EXPECT_TRUE(SamplingParams{}.Validate().ok());
  EXPECT_FALSE((SamplingParams{-1.0, 0, 1.0, 0}).Validate().ok());
  EXPECT_FALSE((SamplingParams{1.0, -3, 1.0, 0}).Validate().ok());
  EXPECT_FALSE((SamplingParams{1.0, 0, 0.0, 0}).Validate().ok());
  EXPECT_FALSE((SamplingParams{1.0, 0, 1.5, 0}).Validate().ok());
  EXPECT_FALSE((SamplingParams{NAN, 0, 1.0, 0}).Validate().ok());
  auto logits = torch::zeros({1, 4});
  EXPECT_THROW(FilterLogits(logits, {SamplingParams{1.0, -1, 1.0, 0}}), c10::Error);
  EXPECT_THROW(FilterLogits(logits, {}), c10::Error);
}

TEST(SamplingTest, SameSeedSameTokensRegardlessOfBatchMates) {
  torch::manual_seed(0);
  auto logits = torch::randn({3, 50});
  SamplingParams p{0.9, 20, 0.95, 0};
  auto run = [&](const torch::Tensor& l, std::vector<SamplingParams> ps, std::vector<uint64_t> seeds, int row) {
    std::vector<RequestRng> rngs;
    for (auto s : seeds) rngs.emplace_back(s);
    std::vector<int64_t> toks;
    for (int step = 0; step < 200; ++step) toks.push_back(SampleTokens(l, ps, rngs).tokens[row].item<int64_t>());
    return toks;
  };
  auto alone = run(logits.narrow(0, 1, 1), {p}, {77}, 0);
  auto again = run(logits.narrow(0, 1, 1), {p}, {77}, 0);
  auto in_batch = run(logits, {SamplingParams{1.0, 0, 1.0, 0}, p, SamplingParams{0.0, 0, 1.0, 0}}, {1, 77, 3}, 1);
  auto other_seed = run(logits.narrow(0, 1, 1), {p}, {78}, 0);
  EXPECT_EQ(alone, again);
  EXPECT_EQ(alone, in_batch);
  EXPECT_NE(alone, other_seed);
}

TEST(SamplingTest, GreedyIsArgmax) {
  torch::manual_seed(1);
  auto logits = torch::randn({4, 33});
  std::vector<SamplingParams> ps(4, SamplingParams{0.0, 5, 0.5, 0});
  std::vector<RequestRng> rngs(4, RequestRng(0));
  auto r = SampleTokens(logits, ps, rngs);
  EXPECT_TRUE(torch::equal(r.tokens, logits.argmax(1)));
  auto ref = torch::log_softmax(logits, -1).gather(1, r.tokens.unsqueeze(1)).squeeze(1);
  EXPECT_TRUE(torch::allclose(r.logprobs, ref));
  EXPECT_TRUE(torch::equal(r.sampling_logprobs, torch::zeros({4})));
  RequestRng untouched(0);
  EXPECT_EQ(rngs[0].NextU64(), untouched.NextU64());  // greedy draws no random numbers
}

TEST(SamplingTest, TopKKeepsExactlyTheKLargest) {
  auto logits = torch::tensor({0.1f, 3.0f, -1.0f, 2.0f, 2.5f, 0.0f}).unsqueeze(0);
  auto f = FilterLogits(logits, {SamplingParams{1.0, 3, 1.0, 0}});
  EXPECT_EQ(Kept(f[0]), (std::vector<int64_t>{1, 3, 4}));
  // Mixed rows: k = 0 (off), k = 1, and k >= V (off).
  auto two = torch::cat({logits, logits, logits});
  auto g = FilterLogits(two, {SamplingParams{1.0, 0, 1.0, 0}, SamplingParams{1.0, 1, 1.0, 0},
                              SamplingParams{1.0, 100, 1.0, 0}});
  EXPECT_EQ(Kept(g[0]).size(), 6u);
  EXPECT_EQ(Kept(g[1]), (std::vector<int64_t>{1}));
  EXPECT_EQ(Kept(g[2]).size(), 6u);
  // Sampled tokens always come from the kept set.
  std::vector<RequestRng> rngs{RequestRng(9)};
  for (int i = 0; i < 300; ++i) {
    int64_t t = SampleTokens(logits, {SamplingParams{2.0, 3, 1.0, 0}}, rngs).tokens[0].item<int64_t>();
    EXPECT_TRUE(t == 1 || t == 3 || t == 4) << t;
  }
}

TEST(SamplingTest, TopPKeepsSmallestNucleus) {
  auto logits = LogitsFromProbs({0.15, 0.5, 0.05, 0.3});
  EXPECT_EQ(Kept(FilterLogits(logits, {SamplingParams{1.0, 0, 0.75, 0}})[0]), (std::vector<int64_t>{1, 3}));
  EXPECT_EQ(Kept(FilterLogits(logits, {SamplingParams{1.0, 0, 0.85, 0}})[0]), (std::vector<int64_t>{0, 1, 3}));
  EXPECT_EQ(Kept(FilterLogits(logits, {SamplingParams{1.0, 0, 0.1, 0}})[0]), (std::vector<int64_t>{1}));
  EXPECT_EQ(Kept(FilterLogits(logits, {SamplingParams{1.0, 0, 1.0, 0}})[0]).size(), 4u);
  // top-k then top-p: k = 2 leaves {0.5, 0.3} renormalised to {0.625, 0.375}; p = 0.6 keeps one.
  EXPECT_EQ(Kept(FilterLogits(logits, {SamplingParams{1.0, 2, 0.6, 0}})[0]), (std::vector<int64_t>{1}));
}

TEST(SamplingTest, TemperatureScalesLogits) {
  torch::manual_seed(2);
  auto logits = torch::randn({2, 10});
  auto f = FilterLogits(logits, {SamplingParams{0.5, 0, 1.0, 0}, SamplingParams{2.0, 0, 1.0, 0}});
  EXPECT_TRUE(torch::allclose(f[0], logits[0] * 2.0));
  EXPECT_TRUE(torch::allclose(f[1], logits[1] * 0.5));
}

TEST(SamplingTest, EmpiricalFrequenciesAndLogprobs) {
  const std::vector<double> probs = {0.1, 0.4, 0.2, 0.3};
  auto logits = LogitsFromProbs(probs);
  // 2000 requests (own seeds) sharing each step, 10 steps: 20000 draws.
  const int64_t rows = 2000;
  auto batch = logits.expand({rows, 4}).contiguous();
  std::vector<SamplingParams> ps(static_cast<size_t>(rows), SamplingParams{1.0, 0, 1.0, 0});
  std::vector<RequestRng> many;
  for (int64_t i = 0; i < rows; ++i) many.emplace_back(static_cast<uint64_t>(i));
  std::vector<int> counts(4, 0);
  const int n = 20000;
  for (int step = 0; step < 10; ++step) {
    auto r = SampleTokens(batch, ps, many);
    auto toks = r.tokens.contiguous();
    auto acc = toks.accessor<int64_t, 1>();
    for (int64_t i = 0; i < rows; ++i) counts[static_cast<size_t>(acc[i])]++;
    auto expected = torch::log(torch::tensor(probs, torch::kFloat64)).to(torch::kFloat32).index_select(0, r.tokens);
    EXPECT_TRUE(torch::allclose(r.logprobs, expected, 1e-5, 1e-5));
    EXPECT_TRUE(torch::allclose(r.sampling_logprobs, expected, 1e-5, 1e-5));
  }
  std::vector<RequestRng> rngs{RequestRng(2024)};
  for (size_t i = 0; i < 4; ++i) EXPECT_NEAR(counts[i] / static_cast<double>(n), probs[i], 0.015) << i;
  // At temperature 2 the policy log-prob stays at temperature 1; the sampling one does not.
  auto r = SampleTokens(logits, {SamplingParams{2.0, 0, 1.0, 0}}, rngs);
  int64_t t = r.tokens[0].item<int64_t>();
  auto scaled = torch::log_softmax(logits[0] / 2.0, -1)[t].item<double>();
  EXPECT_NEAR(r.logprobs[0].item<double>(), std::log(probs[static_cast<size_t>(t)]), 1e-5);
  EXPECT_NEAR(r.sampling_logprobs[0].item<double>(), scaled, 1e-5);
}

TEST(SamplingTest, TokenLogprobsMatchesLogSoftmax) {
  torch::manual_seed(3);
  auto logits = torch::randn({2, 5, 17}, torch::requires_grad());
  auto targets = torch::randint(0, 17, {2, 5}, torch::kInt64);
  auto lp = TokenLogprobs(logits, targets);
  auto ref = torch::log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1);
  EXPECT_TRUE(torch::allclose(lp, ref, 1e-5, 1e-6));
  lp.sum().backward();
  EXPECT_TRUE(logits.grad().defined());
}

}  // namespace
}  // namespace scorch::model
