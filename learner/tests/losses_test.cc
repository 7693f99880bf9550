// Objectives against hand-computed values on tiny tensors (losses.h): KL estimators,
// entropy, log-probs, aggregation, SFT, group normalisation, GRPO, GAE (vs its closed form),
// multi-γ returns, PPO value clipping, M-DPO sign and masking, PCL, and zero gradient on
// masked tokens. The expected numbers are worked out in the comments.
#include <gtest/gtest.h>

#include <cmath>

#include "scorch/learner/losses.h"

namespace scorch::learner {
namespace {

constexpr double kTol = 1e-5;
const double kLn2 = std::log(2.0);

torch::Tensor T2(std::vector<std::vector<float>> rows) {
  const int64_t b = rows.size(), t = rows[0].size();
  auto out = torch::zeros({b, t});
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = 0; j < t; ++j) out[i][j] = rows[i][j];
  return out;
}

double D(const torch::Tensor& t) { return t.item<double>(); }

// ---- building blocks ----------------------------------------------------------------------

TEST(KlTest, ThreeEstimatorsByHand) {
  // π = 0.5, π_ref = 0.25: Δ = log(0.25/0.5) = −ln 2.
  auto logp = torch::full({1, 1}, std::log(0.5));
  auto ref = torch::full({1, 1}, std::log(0.25));
  EXPECT_NEAR(D(KlPerToken(logp, ref, KlEstimator::kK1)), kLn2, kTol);                 // −Δ
  EXPECT_NEAR(D(KlPerToken(logp, ref, KlEstimator::kK2)), 0.5 * kLn2 * kLn2, kTol);    // Δ²/2
  EXPECT_NEAR(D(KlPerToken(logp, ref, KlEstimator::kK3)), 0.5 + kLn2 - 1.0, kTol);     // e^Δ − Δ − 1
  // Identical policies: every estimator is 0.
  for (auto e : {KlEstimator::kK1, KlEstimator::kK2, KlEstimator::kK3}) {
    EXPECT_NEAR(D(KlPerToken(ref, ref, e)), 0.0, kTol);
  }
}

TEST(KlTest, EstimatorsAreUnbiasedForTheTrueKl) {
  // π = (0.5, 0.5), π_ref = (0.25, 0.75). KL(π‖π_ref) = 0.5 ln 2 + 0.5 ln(2/3).
  const double kl = 0.5 * std::log(2.0) + 0.5 * std::log(2.0 / 3.0);
  auto logp = torch::full({1, 2}, std::log(0.5));
  auto ref = T2({{std::log(0.25f), std::log(0.75f)}});
  // E_π[k1] and E_π[k3] equal KL exactly (equal weights 0.5 here).
  EXPECT_NEAR(D(KlPerToken(logp, ref, KlEstimator::kK1).mean()), kl, kTol);
  EXPECT_NEAR(D(KlPerToken(logp, ref, KlEstimator::kK3).mean()), kl, kTol);
}

TEST(EntropyTest, UniformAndTwoPoint) {
  auto uniform = torch::zeros({1, 1, 4});
  EXPECT_NEAR(D(EntropyFromLogits(uniform).squeeze()), std::log(4.0), kTol);
  // p = (0.25, 0.75): H = −0.25 ln 0.25 − 0.75 ln 0.75 = 0.562335.
  auto two = torch::tensor({0.0f, static_cast<float>(std::log(3.0))}).view({1, 1, 2});
  EXPECT_NEAR(D(EntropyFromLogits(two).squeeze()), 0.5623351, kTol);
  auto h = TokenEntropy(torch::zeros({2, 3, 4}));
  ASSERT_TRUE(h.ok());
  EXPECT_NEAR(D((*h)[0][0]), 0.0, kTol);  // column 0 has no producing distribution
  EXPECT_NEAR(D((*h)[1][2]), std::log(4.0), kTol);
}

TEST(TokenLogProbsTest, ShiftedAndAligned) {
  // Row 0: logits at t=0 favour token 1 with p = 0.75 -> logp[0][1] = ln 0.75.
  auto logits = torch::zeros({1, 3, 2});
  logits[0][0][1] = static_cast<float>(std::log(3.0));
  auto ids = torch::tensor({{0, 1, 0}}, torch::kLong);
  auto lp = TokenLogProbs(logits, ids);
  ASSERT_TRUE(lp.ok()) << lp.status();
  EXPECT_NEAR(D((*lp)[0][0]), 0.0, kTol);
  EXPECT_NEAR(D((*lp)[0][1]), std::log(0.75), kTol);
  EXPECT_NEAR(D((*lp)[0][2]), std::log(0.5), kTol);
  auto bad = TokenLogProbs(logits, torch::tensor({{0, 5, 0}}, torch::kLong));
  EXPECT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("vocab"), std::string::npos);
}

TEST(AggregateTest, TokenAndSequenceMean) {
  auto x = T2({{1, 2, 3}, {4, 100, 100}});
  auto m = T2({{1, 1, 1}, {1, 0, 0}});
  EXPECT_NEAR(D(AggregateTokens(x, m, Aggregation::kTokenMean)), 10.0 / 4.0, kTol);
  EXPECT_NEAR(D(AggregateTokens(x, m, Aggregation::kSequenceMean)), (2.0 + 4.0) / 2.0, kTol);
  EXPECT_NEAR(D(AggregateTokens(x, m, Aggregation::kTokenMean, 20.0)), 10.0 / 20.0, kTol);
  // ±inf under the mask does not leak into the value.
  auto xi = T2({{1, 2, 3}, {4, -INFINITY, INFINITY}});
  EXPECT_NEAR(D(MaskedMean(xi, m)), 2.5, kTol);
}

// ---- SFT ----------------------------------------------------------------------------------

TEST(SftTest, NllOnTrainableTokensOnly) {
  auto logp = T2({{-1, -2, -3}}).requires_grad_(true);
  auto mask = T2({{0, 1, 1}});
  auto r = SftLoss(logp, mask);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(D(r->loss), 2.5, kTol);  // (2 + 3) / 2
  EXPECT_NEAR(r->stats.nll, 2.5, kTol);
  EXPECT_EQ(r->stats.tokens, 2.0);
  r->loss.backward();
  EXPECT_EQ(D(logp.grad()[0][0]), 0.0);
  EXPECT_NEAR(D(logp.grad()[0][1]), -0.5, kTol);
  auto fixed = SftLoss(logp, mask, SftOptions{.normalizer = 10.0});
  ASSERT_TRUE(fixed.ok());
  EXPECT_NEAR(D(fixed->loss), 0.5, kTol);
}

TEST(SftTest, SampleWeightsScaleRows) {
  auto logp = T2({{-1, -1}, {-2, -2}});
  auto mask = T2({{1, 1}, {1, 1}});
  auto r = SftLoss(logp, mask, {}, torch::tensor({1.0f, 0.01f}));
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(D(r->loss), (2.0 + 0.01 * 4.0) / 4.0, kTol);
  EXPECT_FALSE(SftLoss(logp, mask, {}, torch::tensor({1.0f})).ok());
}

TEST(SftTest, ShapeMismatchIsNamed) {
  auto r = SftLoss(torch::zeros({2, 3}), torch::zeros({2, 4}));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("mask"), std::string::npos);
}

// ---- group normalisation --------------------------------------------------------------------

TEST(GroupAdvantageTest, MeanStdPerGroupWithEps) {
  // Group 7: (1,0,0,1), mean .5, unbiased std √(1/3). Group 3: (1,1,1,0), mean .75, std .5.
  // Members interleaved to check grouping by id, not position.
  auto rewards = torch::tensor({1.f, 1.f, 0.f, 1.f, 0.f, 1.f, 1.f, 0.f});
  std::vector<int64_t> ids = {7, 3, 7, 3, 7, 3, 7, 3};
  auto a = GroupNormalizedAdvantages(rewards, ids);
  ASSERT_TRUE(a.ok()) << a.status();
  const double s7 = std::sqrt(1.0 / 3.0) + 1e-4, s3 = 0.5 + 1e-4;
  const double expect[] = {0.5 / s7, 0.25 / s3, -0.5 / s7, 0.25 / s3, -0.5 / s7, 0.25 / s3, 0.5 / s7, -0.75 / s3};
  for (int i = 0; i < 8; ++i) EXPECT_NEAR(D((*a)[i]), expect[i], kTol) << i;

  auto biased = GroupNormalizedAdvantages(rewards, ids, {.unbiased_std = false});
  ASSERT_TRUE(biased.ok());
  EXPECT_NEAR(D((*biased)[0]), 0.5 / (0.5 + 1e-4), kTol);  // biased std of (1,0,0,1) = .5
  auto no_std = GroupNormalizedAdvantages(rewards, ids, {.scale_by_std = false});
  ASSERT_TRUE(no_std.ok());
  EXPECT_NEAR(D((*no_std)[7]), -0.75, kTol);
}

TEST(GroupAdvantageTest, DegenerateGroupsAndErrors) {
  // All-equal group -> 0; a group of one -> 0 (unbiased std undefined, taken as 0).
  auto a = GroupNormalizedAdvantages(torch::tensor({1.f, 1.f, 5.f}), {0, 0, 1});
  ASSERT_TRUE(a.ok());
  for (int i = 0; i < 3; ++i) EXPECT_EQ(D((*a)[i]), 0.0);
  EXPECT_FALSE(GroupNormalizedAdvantages(torch::tensor({1.f, 2.f}), {0}).ok());
}

// ---- GRPO ---------------------------------------------------------------------------------

PolicyBatch RatioBatch(double ratio0, double ratio1, double a0, double a1) {
  // Two rows, token 0 trained, token 1 padding with −inf log-probs.
  PolicyBatch b;
  b.old_logp = T2({{std::log(0.5f), -INFINITY}, {std::log(0.5f), -INFINITY}});
  b.logp = T2({{static_cast<float>(std::log(0.5 * ratio0)), -INFINITY},
               {static_cast<float>(std::log(0.5 * ratio1)), -INFINITY}})
               .requires_grad_(true);
  b.advantages = torch::tensor({static_cast<float>(a0), static_cast<float>(a1)});
  b.mask = T2({{1, 0}, {1, 0}});
  return b;
}

TEST(GrpoTest, ClippedSurrogateByHand) {
  // Row 0: ρ = 1.5, A = +1 -> min(1.5, 1.2) = 1.2 (clipped, no gradient).
  // Row 1: ρ = 1.5, A = −1 -> min(−1.5, −1.2) = −1.5 (unclipped, d/dlogp of −ρA = ρ = 1.5).
  auto b = RatioBatch(1.5, 1.5, 1.0, -1.0);
  auto r = GrpoLoss(b);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(D(r->loss), (-1.2 + 1.5) / 2.0, kTol);
  EXPECT_NEAR(r->stats.clip_fraction, 0.5, kTol);
  EXPECT_NEAR(r->stats.ratio_mean, 1.5, kTol);
  r->loss.backward();
  auto g = b.logp.grad();
  EXPECT_NEAR(D(g[0][0]), 0.0, kTol);
  EXPECT_NEAR(D(g[1][0]), 1.5 / 2.0, kTol);
  EXPECT_EQ(D(g[0][1]), 0.0);  // masked padding: exactly zero, not NaN
  EXPECT_EQ(D(g[1][1]), 0.0);
}

TEST(GrpoTest, SeparateLowAndHighClip) {
  // clip_high = 0.6: ρ = 1.5 with A > 0 is inside [0.8, 1.6] -> −1.5.
  auto b = RatioBatch(1.5, 0.5, 1.0, -1.0);
  auto r = GrpoLoss(b, {.clip_low = 0.2, .clip_high = 0.6});
  ASSERT_TRUE(r.ok());
  // Row 1: ρ = 0.5, A = −1: min(−0.5, −0.8) = −0.8 -> +0.8, clipped at 1 − clip_low.
  EXPECT_NEAR(D(r->loss), (-1.5 + 0.8) / 2.0, kTol);
  EXPECT_NEAR(r->stats.clip_fraction, 0.5, kTol);
}

TEST(GrpoTest, K3PenaltyValueAndGradient) {
  // ρ = 1 (no clipping), A = 0, π = .5, π_ref = .25: k3 = ln2 − .5; d k3/d logp = 1 − e^Δ = .5.
  auto b = RatioBatch(1.0, 1.0, 0.0, 0.0);
  b.ref_logp = T2({{std::log(0.25f), 0.f}, {std::log(0.25f), 0.f}});
  auto r = GrpoLoss(b, {.beta = 0.1});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(D(r->loss), 0.1 * (kLn2 - 0.5), kTol);
  EXPECT_NEAR(r->stats.kl_k3, kLn2 - 0.5, kTol);
  EXPECT_NEAR(r->stats.kl_k1, kLn2, kTol);
  r->loss.backward();
  EXPECT_NEAR(D(b.logp.grad()[0][0]), 0.1 * 0.5 / 2.0, kTol);
  EXPECT_EQ(D(b.logp.grad()[0][1]), 0.0);
  // beta > 0 without a reference is refused.
  b.ref_logp = torch::Tensor();
  EXPECT_FALSE(GrpoLoss(b, {.beta = 0.1}).ok());
}

TEST(GrpoTest, SequenceVersusTokenAggregation) {
  // Row 0 has 2 tokens with loss −A·ρ = −1 each; row 1 one token with loss −2 (A = 2).
  PolicyBatch b;
  b.logp = torch::zeros({2, 2}, torch::requires_grad());
  b.old_logp = torch::zeros({2, 2});
  b.advantages = torch::tensor({1.f, 2.f});
  b.mask = T2({{1, 1}, {1, 0}});
  auto tok = GrpoLoss(b, {.aggregation = Aggregation::kTokenMean});
  auto seq = GrpoLoss(b, {.aggregation = Aggregation::kSequenceMean});
  ASSERT_TRUE(tok.ok() && seq.ok());
  EXPECT_NEAR(D(tok->loss), (-1 - 1 - 2) / 3.0, kTol);
  EXPECT_NEAR(D(seq->loss), (-1 + -2) / 2.0, kTol);
}

// ---- PPO: GAE and returns ---------------------------------------------------------------------

TEST(GaeTest, MatchesClosedForm) {
  // r = (0,0,1), V = (.5,.6,.7), γ = .9, λ = .8.
  // δ = (0 + .9·.6 − .5, 0 + .9·.7 − .6, 1 − .7) = (.04, .03, .3)
  // A_t = Σ_l (γλ)^l δ_{t+l}: A2 = .3, A1 = .03 + .72·.3 = .246, A0 = .04 + .72·.246 = .21712.
  auto r = ComputeGae(T2({{0, 0, 1}}), T2({{.5f, .6f, .7f}}), T2({{1, 1, 1}}), 0.9, 0.8);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(D(r->advantages[0][0]), 0.21712, kTol);
  EXPECT_NEAR(D(r->advantages[0][1]), 0.246, kTol);
  EXPECT_NEAR(D(r->advantages[0][2]), 0.3, kTol);
  EXPECT_NEAR(D(r->returns[0][0]), 0.71712, kTol);
  // λ = 1: A_t = Σ γ^l r_{t+l} − V_t = (.81 − .5, .9 − .6, 1 − .7).
  auto mc = ComputeGae(T2({{0, 0, 1}}), T2({{.5f, .6f, .7f}}), T2({{1, 1, 1}}), 0.9, 1.0);
  ASSERT_TRUE(mc.ok());
  EXPECT_NEAR(D(mc->advantages[0][0]), 0.31, kTol);
  EXPECT_NEAR(D(mc->advantages[0][1]), 0.30, kTol);
}

TEST(GaeTest, SkipsMaskedTokensAndPadding) {
  // The same three tokens with an instruction token (junk reward/value) at position 1 and
  // padding at the end must give the same advantages at the real positions, 0 elsewhere.
  auto r = ComputeGae(T2({{0, 9, 0, 1, 7}}), T2({{.5f, 9, .6f, .7f, 3}}), T2({{1, 0, 1, 1, 0}}), 0.9, 0.8);
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(D(r->advantages[0][0]), 0.21712, kTol);
  EXPECT_EQ(D(r->advantages[0][1]), 0.0);
  EXPECT_NEAR(D(r->advantages[0][2]), 0.246, kTol);
  EXPECT_NEAR(D(r->advantages[0][3]), 0.3, kTol);
  EXPECT_EQ(D(r->advantages[0][4]), 0.0);
  EXPECT_EQ(D(r->returns[0][4]), 0.0);
}

TEST(GaeTest, TerminalRewardsAreRightAligned) {
  auto r = TerminalRewards(torch::tensor({2.f, 3.f, 4.f}), T2({{1, 1, 0}, {0, 1, 1}, {0, 0, 0}}));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(torch::equal(*r, T2({{0, 2, 0}, {0, 0, 3}, {0, 0, 0}})));
}

TEST(MultiGammaTest, PerStreamDiscounts) {
  // Sparse terminal (γ = 1) + dense 0.1 per token (γ = .5), V = 0:
  // G0 = 1 + .1 + .05 + .025 = 1.175, G1 = 1.15, G2 = 1.1.
  auto mask = T2({{1, 1, 1}});
  auto r = ComputeMultiGammaReturns({T2({{0, 0, 1}}), T2({{.1f, .1f, .1f}})}, {1.0, 0.5}, torch::zeros({1, 3}), mask);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(D(r->advantages[0][0]), 1.175, kTol);
  EXPECT_NEAR(D(r->advantages[0][1]), 1.15, kTol);
  EXPECT_NEAR(D(r->returns[0][2]), 1.1, kTol);
}

TEST(MultiGammaTest, SingleStreamEqualsGaeWithLambdaOne) {
  auto rw = T2({{.3f, -.2f, 0, 1}});
  auto v = T2({{.1f, .2f, .3f, .4f}});
  auto m = T2({{1, 1, 0, 1}});
  auto g = ComputeGae(rw, v, m, 0.97, 1.0);
  auto mg = ComputeMultiGammaReturns({rw}, {0.97}, v, m);
  ASSERT_TRUE(g.ok() && mg.ok());
  EXPECT_TRUE(torch::allclose(g->advantages, mg->advantages, 1e-6, 1e-6));
}

TEST(PpoAdvantagesTest, KlFoldedIntoEachStream) {
  // Two zero streams (γ = 1, 1), β = .1, k1 = old − ref = .5 per token: each stream gets
  // −.1·.5/2 per token, −.05 in total per token: G_t = −.05·(3 − t).
  auto mask = T2({{1, 1, 1}});
  auto old_logp = torch::full({1, 3}, -1.0);
  auto ref_logp = torch::full({1, 3}, -1.5);
  auto r = PpoAdvantages({torch::zeros({1, 3}), torch::zeros({1, 3})}, old_logp, ref_logp, torch::zeros({1, 3}), mask,
                         {.gammas = {1.0, 1.0}, .lambda = 1.0, .kl_coef = 0.1});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(D(r->returns[0][0]), -0.15, kTol);
  EXPECT_NEAR(D(r->returns[0][2]), -0.05, kTol);
  // Multi-γ needs λ = 1.
  auto bad = PpoAdvantages({torch::zeros({1, 3}), torch::zeros({1, 3})}, old_logp, ref_logp, torch::zeros({1, 3}),
                           mask, {.gammas = {1.0, 0.99}, .lambda = 0.95});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("lambda"), std::string::npos);
}

TEST(PpoLossTest, ValueClippingByHand) {
  // Token 0: V = 1, V_old = .5, R = 2: V_clip = .7, (V−R)² = 1, (V_clip−R)² = 1.69 -> .845,
  //          clip branch wins (constant in V) -> no value gradient.
  // Token 1: V = 1, V_old = .9, R = 2: V_clip = 1 -> .5·1; d/dV = (V − R) = −1.
  PolicyBatch pb;
  pb.logp = torch::zeros({1, 2}, torch::requires_grad());
  pb.old_logp = torch::zeros({1, 2});
  pb.advantages = T2({{1, 1}});
  pb.mask = T2({{1, 1}});
  ValueBatch vb;
  vb.values = T2({{1, 1}}).requires_grad_(true);
  vb.old_values = T2({{.5f, .9f}});
  vb.returns = T2({{2, 2}});
  auto r = PpoLoss(pb, vb, {.value_clip = 0.2, .value_coef = 0.5});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(r->stats.value_loss, (0.845 + 0.5) / 2.0, kTol);
  EXPECT_NEAR(r->stats.value_clip_fraction, 0.5, kTol);
  EXPECT_NEAR(r->stats.policy_loss, -1.0, kTol);  // ρ = 1, A = 1
  EXPECT_NEAR(D(r->loss), -1.0 + 0.5 * (0.845 + 0.5) / 2.0, kTol);
  r->loss.backward();
  EXPECT_NEAR(D(vb.values.grad()[0][0]), 0.0, kTol);
  EXPECT_NEAR(D(vb.values.grad()[0][1]), 0.5 * (-1.0) / 2.0, kTol);
}

// ---- M-DPO ----------------------------------------------------------------------------------

PreferenceBatch DpoBatch() {
  // Chosen: (log π − log π_ref) = (junk 5 | .2, .3) with mask (0,1,1): ℓ_w = .5.
  // Rejected: (junk −7 | −.1) with mask (0,1): ℓ_l = −.1.
  PreferenceBatch b;
  b.chosen_logp = T2({{5.f, -0.8f, -0.7f}}).requires_grad_(true);
  b.chosen_ref_logp = T2({{0.f, -1.f, -1.f}});
  b.chosen_mask = T2({{0, 1, 1}});
  b.rejected_logp = T2({{-7.f, -1.1f}}).requires_grad_(true);
  b.rejected_ref_logp = T2({{0.f, -1.f}});
  b.rejected_mask = T2({{0, 1}});
  return b;
}

TEST(MdpoTest, SignValueAndMasking) {
  // η = .5: margin = .5·(.5 + .1) = .3; L = −log σ(.3) = log(1 + e^−.3) = 0.5543552.
  auto b = DpoBatch();
  auto r = MdpoLoss(b, {.eta = 0.5});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NEAR(D(r->loss), 0.5543552, kTol);
  EXPECT_NEAR(r->stats.reward_margin, 0.3, kTol);
  EXPECT_NEAR(r->stats.reward_chosen, 0.25, kTol);
  EXPECT_NEAR(r->stats.reward_accuracy, 1.0, kTol);
  r->loss.backward();
  // dL/dlogp_w = −η·σ(−.3) = −.2127790 on masked-in tokens, +.2127790 for the rejected.
  EXPECT_NEAR(D(b.chosen_logp.grad()[0][1]), -0.2127790, kTol);
  EXPECT_NEAR(D(b.rejected_logp.grad()[0][1]), 0.2127790, kTol);
  EXPECT_EQ(D(b.chosen_logp.grad()[0][0]), 0.0);  // instruction / shared prefix
  EXPECT_EQ(D(b.rejected_logp.grad()[0][0]), 0.0);

  // Swapping winner and loser gives the larger loss −log σ(−.3) = 0.8543552.
  auto s = DpoBatch();
  PreferenceBatch swapped{s.rejected_logp, s.rejected_ref_logp, s.rejected_mask,
                          s.chosen_logp,   s.chosen_ref_logp,   s.chosen_mask};
  auto rs = MdpoLoss(swapped, {.eta = 0.5});
  ASSERT_TRUE(rs.ok());
  EXPECT_NEAR(D(rs->loss), 0.8543552, kTol);
}

TEST(MdpoTest, OptionalNllOnWinner) {
  // NLL over the chosen mask: −(−.8 − .7)/2 = .75.
  auto b = DpoBatch();
  auto r = MdpoLoss(b, {.eta = 0.5, .nll_coef = 2.0});
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(D(r->loss), 0.5543552 + 2.0 * 0.75, kTol);
  EXPECT_NEAR(r->stats.nll, 0.75, kTol);
  b.rejected_logp = torch::zeros({2, 2});
  b.rejected_ref_logp = torch::zeros({2, 2});
  b.rejected_mask = torch::zeros({2, 2});
  EXPECT_FALSE(MdpoLoss(b).ok());  // 1 chosen row vs 2 rejected rows
}

// ---- PCL ------------------------------------------------------------------------------------

TEST(PclTest, WeightedSumAndSchedule) {
  auto g = SftLoss(T2({{-1}}), T2({{1}}));
  auto s1 = SftLoss(T2({{-2}}), T2({{1}}));
  auto s2 = SftLoss(T2({{-4}}), T2({{1}}));
  ASSERT_TRUE(g.ok() && s1.ok() && s2.ok());
  auto r = PclLoss(*g, *s1, *s2, {.w_grpo = 1.0, .w_reason = 0.1, .w_eval = 0.1});
  ASSERT_TRUE(r.ok());
  EXPECT_NEAR(D(r->loss), 1.0 + 0.2 + 0.4, kTol);
  EXPECT_NEAR(r->stats.nll, 2.0, kTol);
  EXPECT_EQ(PclEvalSchedule(5, 0), 1.0);
  EXPECT_NEAR(PclEvalSchedule(25, 100), 0.75, kTol);
  EXPECT_EQ(PclEvalSchedule(200, 100), 0.0);
  EXPECT_NEAR(PclEvalSampleWeight(0.5, false), 0.005, kTol);
  EXPECT_EQ(PclEvalSampleWeight(0.5, true), 0.5);
  EXPECT_FALSE(PclLoss(*g, *s1, *s2, {.w_eval = -1.0}).ok());
}

TEST(StatsTest, ToMapSkipsNotApplicable) {
  LossStats s;
  s.loss = 1.0;
  s.kl_k3 = 0.5;
  auto m = s.ToMap();
  EXPECT_EQ(m.size(), 2u);
  EXPECT_EQ(m["kl_k3"], 0.5);
}

}  // namespace
}  // namespace scorch::learner
