// Optimisation: schedule values, clipping, one AdamW step by hand, state save/load, and
// gradient accumulation over uneven micro-batches equal to one big batch (tiny Policy).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "scorch/learner/losses.h"
#include "scorch/learner/optimizer.h"
#include "scorch/model/policy.h"

namespace scorch::learner {
namespace {

TEST(ScheduleTest, WarmupThenCosine) {
  OptimizerConfig c;
  c.lr = 1.0;
  c.warmup_steps = 10;
  c.total_steps = 110;
  ASSERT_TRUE(c.Validate().ok());
  EXPECT_DOUBLE_EQ(ScheduledLr(c, 0), 0.0);
  EXPECT_DOUBLE_EQ(ScheduledLr(c, 5), 0.5);
  EXPECT_DOUBLE_EQ(ScheduledLr(c, 10), 1.0);
  EXPECT_NEAR(ScheduledLr(c, 60), 0.5, 1e-12);  // half-way down the cosine
  EXPECT_NEAR(ScheduledLr(c, 110), 0.0, 1e-12);
  EXPECT_NEAR(ScheduledLr(c, 500), 0.0, 1e-12);
  c.min_lr_ratio = 0.1;
  EXPECT_NEAR(ScheduledLr(c, 60), 0.55, 1e-12);
  EXPECT_NEAR(ScheduledLr(c, 110), 0.1, 1e-12);
  c.total_steps = 0;
  EXPECT_DOUBLE_EQ(ScheduledLr(c, 1000), 1.0);
}

TEST(ScheduleTest, ValidateNamesTheField) {
  OptimizerConfig c;
  c.warmup_steps = 20;
  c.total_steps = 10;
  auto s = c.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("warmup_steps"), std::string::npos);
  c = OptimizerConfig{};
  c.beta2 = 1.0;
  EXPECT_FALSE(c.Validate().ok());
}

TEST(ClipTest, GlobalNorm) {
  auto a = torch::zeros({1}, torch::requires_grad());
  auto b = torch::zeros({1}, torch::requires_grad());
  a.mutable_grad() = torch::tensor({3.0f});
  b.mutable_grad() = torch::tensor({4.0f});
  EXPECT_NEAR(ClipGradNorm({a, b}, 1.0), 5.0, 1e-6);
  EXPECT_NEAR(a.grad().item<double>(), 0.6, 1e-6);
  EXPECT_NEAR(b.grad().item<double>(), 0.8, 1e-6);
  // Below the limit: untouched.
  EXPECT_NEAR(ClipGradNorm({a, b}, 10.0), 1.0, 1e-5);
  EXPECT_NEAR(a.grad().item<double>(), 0.6, 1e-6);
}

TEST(OptimizerTest, FirstAdamWStepByHand) {
  // Step 1 of Adam: m̂ = g, v̂ = g², update = lr·g/(|g| + ε) ≈ lr·sign(g); decoupled decay
  // first multiplies p by (1 − lr·wd).
  auto p = torch::tensor({1.0f, -2.0f}).requires_grad_(true);
  OptimizerConfig c;
  c.lr = 0.1;
  c.weight_decay = 0.5;
  c.max_grad_norm = 0.0;
  auto opt = Optimizer::Create({p}, c);
  ASSERT_TRUE(opt.ok()) << opt.status();
  p.mutable_grad() = torch::tensor({0.3f, -0.01f});
  auto r = (*opt)->Step();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->step, 1);
  EXPECT_DOUBLE_EQ(r->lr, 0.1);
  EXPECT_NEAR(p[0].item<double>(), 1.0 * (1 - 0.05) - 0.1, 1e-5);
  EXPECT_NEAR(p[1].item<double>(), -2.0 * (1 - 0.05) + 0.1, 1e-5);
  EXPECT_EQ(p.grad()[0].item<float>(), 0.0f);  // zeroed after the step
}

TEST(OptimizerTest, NonFiniteGradientSkipsTheUpdate) {
  auto p = torch::tensor({1.0f}).requires_grad_(true);
  auto opt = Optimizer::Create({p}, OptimizerConfig{});
  ASSERT_TRUE(opt.ok());
  p.mutable_grad() = torch::tensor({NAN});
  auto r = (*opt)->Step();
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(p.item<float>(), 1.0f);
  EXPECT_EQ((*opt)->step(), 0);
  EXPECT_FALSE(Optimizer::Create({}, OptimizerConfig{}).ok());
}

TEST(OptimizerTest, SaveLoadResumesIdentically) {
  auto make = [] { return torch::tensor({0.5f, -0.25f, 2.0f}).requires_grad_(true); };
  auto grad = [](int step) { return torch::tensor({0.1f * step, -0.2f, 0.05f * step * step}); };
  OptimizerConfig c;
  c.lr = 0.01;
  c.warmup_steps = 2;
  c.total_steps = 6;
  auto pa = make();
  auto a = std::move(Optimizer::Create({pa}, c).value());
  for (int s = 1; s <= 4; ++s) {
    pa.mutable_grad() = grad(s);
    ASSERT_TRUE(a->Step().ok());
  }
  // B: two steps, save, fresh optimizer + params copy, load, two more steps.
  auto pb = make();
  auto b = std::move(Optimizer::Create({pb}, c).value());
  for (int s = 1; s <= 2; ++s) {
    pb.mutable_grad() = grad(s);
    ASSERT_TRUE(b->Step().ok());
  }
  const auto path = std::filesystem::temp_directory_path() / ("scorch_opt_" + std::to_string(::getpid()) + ".pt");
  ASSERT_TRUE(b->Save(path.string()).ok());
  auto pc = pb.detach().clone().requires_grad_(true);
  auto c2 = std::move(Optimizer::Create({pc}, c).value());
  ASSERT_TRUE(c2->Load(path.string()).ok());
  EXPECT_EQ(c2->step(), 2);
  for (int s = 3; s <= 4; ++s) {
    pc.mutable_grad() = grad(s);
    ASSERT_TRUE(c2->Step().ok());
  }
  std::filesystem::remove(path);
  EXPECT_TRUE(torch::equal(pa, pc)) << pa << pc;
  EXPECT_FALSE(c2->Load("/nonexistent/opt.pt").ok());
}

// ---- accumulation ------------------------------------------------------------------------

model::ModelConfig TinyConfig() {
  model::ModelConfig c;
  c.vocab_size = 31;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.attention_bias = true;
  return c;
}

std::vector<torch::Tensor> Grads(model::Policy& p) {
  std::vector<torch::Tensor> g;
  for (auto& t : p->parameters()) g.push_back(t.grad().defined() ? t.grad().clone() : torch::zeros_like(t));
  return g;
}

TEST(AccumulationTest, ThreeUnevenMicroBatchesEqualOneBatch) {
  torch::manual_seed(3);
  model::Policy policy(TinyConfig());
  model::InitializeWeights(*policy, 0.2, 7);
  const int64_t rows = 6, t = 9;
  auto ids = torch::randint(0, 31, {rows, t}, torch::kLong);
  auto mask = (torch::rand({rows, t}) > 0.4).to(torch::kFloat);
  mask.select(1, 0).zero_();  // no log-prob for the first token
  auto old_logp = -torch::rand({rows, t}) * 3;
  auto adv = torch::randn({rows});

  // GRPO (token mean) + SFT in one objective, to exercise both normalisers.
  auto loss_fn = [&](int64_t b, int64_t e, double tokens) -> StatusOr<LossResult> {
    auto logits = policy->forward(ids.slice(0, b, e)).logits;
    SCORCH_ASSIGN_OR_RETURN(auto logp, TokenLogProbs(logits, ids.slice(0, b, e)));
    PolicyBatch pb{logp, old_logp.slice(0, b, e), {}, adv.slice(0, b, e), mask.slice(0, b, e), {}};
    SCORCH_ASSIGN_OR_RETURN(auto g, GrpoLoss(pb, {.normalizer = tokens}));
    SCORCH_ASSIGN_OR_RETURN(auto s, SftLoss(logp, mask.slice(0, b, e), {.normalizer = tokens}));
    g.loss = g.loss + 0.5 * s.loss;
    g.stats.loss = g.loss.item<double>();
    return g;
  };
  const double total_tokens = mask.sum().item<double>();

  policy->zero_grad();
  auto full = AccumulateGradients(1, [&](int64_t) { return loss_fn(0, rows, total_tokens); });
  ASSERT_TRUE(full.ok()) << full.status();
  auto g_full = Grads(policy);

  policy->zero_grad();
  const std::vector<std::pair<int64_t, int64_t>> ranges = {{0, 1}, {1, 3}, {3, 6}};
  auto acc = AccumulateGradients(3, [&](int64_t i) { return loss_fn(ranges[i].first, ranges[i].second, total_tokens); });
  ASSERT_TRUE(acc.ok()) << acc.status();
  auto g_acc = Grads(policy);

  double max_diff = 0.0;
  for (size_t i = 0; i < g_full.size(); ++i) {
    max_diff = std::max(max_diff, (g_full[i] - g_acc[i]).abs().max().item<double>());
  }
  EXPECT_LT(max_diff, 1e-6);
  EXPECT_NEAR(acc->loss, full->loss, 1e-6);
  EXPECT_DOUBLE_EQ(acc->tokens, total_tokens);
  EXPECT_NEAR(acc->ratio_mean, full->ratio_mean, 1e-6);
  // Without the whole-batch normaliser the micro-batch means do NOT add up to the batch
  // mean: the test above would fail, which is why losses take `normalizer`.
  policy->zero_grad();
  auto naive = AccumulateGradients(3, [&](int64_t i) { return loss_fn(ranges[i].first, ranges[i].second, 0.0); });
  ASSERT_TRUE(naive.ok());
  auto g_naive = Grads(policy);
  double naive_diff = 0.0;
  for (size_t i = 0; i < g_full.size(); ++i) {
    naive_diff = std::max(naive_diff, (g_full[i] - g_naive[i]).abs().max().item<double>());
  }
  EXPECT_GT(naive_diff, 1e-4);
}

TEST(AccumulationTest, RangesAndErrors) {
  EXPECT_EQ(MicroBatchRanges(7, 3), (std::vector<std::pair<int64_t, int64_t>>{{0, 3}, {3, 6}, {6, 7}}));
  EXPECT_EQ(MicroBatchRanges(2, 0), (std::vector<std::pair<int64_t, int64_t>>{{0, 2}}));
  EXPECT_TRUE(MicroBatchRanges(0, 4).empty());
  EXPECT_FALSE(AccumulateGradients(0, [](int64_t) -> StatusOr<LossResult> { return LossResult{}; }).ok());
  auto err = AccumulateGradients(2, [](int64_t i) -> StatusOr<LossResult> {
    if (i == 1) return Status::InvalidArgument("boom");
    return LossResult{torch::zeros({}), {}};
  });
  ASSERT_FALSE(err.ok());
  EXPECT_EQ(err.status().message(), "boom");
}

}  // namespace
}  // namespace scorch::learner
