// Tests of the SWIFT reward head: the gated average against a hand computation, masking,
// the --disable_gate mean, streaming token terms, feature extraction from a tiny policy
// (layer choice, apply_norm, logits mode, incremental == full forward), config JSON and the
// save/load format.
#include "scorch/model/swift_head.h"

#include <gtest/gtest.h>
#include <torch/torch.h>
#include <unistd.h>

#include <array>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "scorch/model/kv_cache.h"
#include "scorch/model/model_config.h"
#include "scorch/model/policy.h"

namespace scorch::model {
namespace {

namespace fs = std::filesystem;

ModelConfig TinyConfig(int64_t hidden = 16) {
  ModelConfig c;
  c.model_type = "qwen2";
  c.architecture = "Qwen2ForCausalLM";
  c.vocab_size = 29;
  c.hidden_size = hidden;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = hidden / 2;
  c.attention_bias = true;
  c.tie_word_embeddings = true;
  EXPECT_TRUE(c.Validate().ok());
  return c;
}

Policy MakePolicy(const ModelConfig& c, uint64_t seed = 3) {
  Policy p(c);
  InitializeWeights(*p, 0.2, seed);
  {
    torch::NoGradGuard g;
    // Non-trivial norm weights so that applying the final norm is visible.
    p->model->norm->weight.uniform_(0.5, 1.5);
  }
  p->eval();
  return p;
}

double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<double>(); }

double Sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

// A head over D=2 with hand-set weights: gate logit = h0 + 0.5, reward = 2*h1 - 1.
SwiftHead HandHead(bool gate = true) {
  SwiftHead head(2, gate);
  torch::NoGradGuard g;
  head->linear->weight.copy_(torch::tensor({{1.0f, 0.0f}, {0.0f, 2.0f}}));
  head->linear->bias.copy_(torch::tensor({0.5f, -1.0f}));
  return head;
}

TEST(SwiftHeadTest, ShapesAndParameterCount) {
  SwiftHead head(12);
  EXPECT_EQ(CountParameters(*head), 2 * 12 + 2);
  auto params = head->named_parameters();
  EXPECT_NE(params.find("linear.weight"), nullptr);
  EXPECT_NE(params.find("linear.bias"), nullptr);
  auto s = head->forward(torch::randn({3, 5, 12}), torch::ones({3, 5}, torch::kInt64));
  EXPECT_EQ(s.score.sizes(), (std::vector<int64_t>{3}));
  EXPECT_EQ(s.gate.sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(s.token_reward.sizes(), (std::vector<int64_t>{3, 5}));
  EXPECT_EQ(s.score.scalar_type(), torch::kFloat32);
  // Zero-initialised: every score is 0, every gate 1/2.
  EXPECT_EQ(s.score.abs().max().item<float>(), 0.0f);
  EXPECT_NEAR(s.gate.mean().item<double>(), 0.5, 1e-7);
  EXPECT_EQ(head->TokenTerms(torch::randn({4, 12})).sizes(), (std::vector<int64_t>{4, 2}));
  EXPECT_THROW(head->forward(torch::randn({3, 5, 11}), torch::ones({3, 5})), c10::Error);
  EXPECT_THROW(head->forward(torch::randn({3, 5, 12}), torch::ones({3, 4})), c10::Error);
}

TEST(SwiftHeadTest, GatedAverageMatchesHandComputation) {
  auto head = HandHead();
  // One row, three tokens h = (h0, h1).
  const std::vector<std::array<double, 2>> h = {{0.3, 1.0}, {-2.0, 0.25}, {1.5, -0.5}};
  auto feats = torch::tensor({0.3f, 1.0f, -2.0f, 0.25f, 1.5f, -0.5f}).view({1, 3, 2});
  double num = 0, den = 0;
  std::vector<double> gates, rewards;
  for (const auto& t : h) {
    const double g = Sigmoid(t[0] + 0.5), r = 2 * t[1] - 1;
    gates.push_back(g);
    rewards.push_back(r);
    num += g * r;
    den += g;
  }
  auto s = head->forward(feats, torch::ones({1, 3}));
  EXPECT_NEAR(s.score.item<double>(), num / den, 1e-6);
  for (int64_t t = 0; t < 3; ++t) {
    EXPECT_NEAR(s.gate[0][t].item<double>(), gates[static_cast<size_t>(t)], 1e-6);
    EXPECT_NEAR(s.token_reward[0][t].item<double>(), rewards[static_cast<size_t>(t)], 1e-6);
  }
  // The score is differentiable in the head's parameters.
  s.score.sum().backward();
  EXPECT_TRUE(head->linear->weight.grad().defined());
  EXPECT_GT(head->linear->weight.grad().abs().sum().item<double>(), 0.0);
}

TEST(SwiftHeadTest, PaddingIsMaskedAndEmptyRowsAreFinite) {
  auto head = HandHead();
  auto real = torch::tensor({0.3f, 1.0f, -2.0f, 0.25f}).view({1, 2, 2});
  const double ref = head->forward(real, torch::ones({1, 2})).score.item<double>();
  // Row 0: the same two tokens + garbage padding (huge values and NaN); row 1: all padding.
  auto feats = torch::zeros({2, 4, 2});
  feats[0].narrow(0, 0, 2).copy_(real[0]);
  feats[0][2] = torch::tensor({1e6f, -1e6f});
  feats[0][3] = torch::tensor({std::nanf(""), 3.0f});
  feats[1] = torch::full({4, 2}, std::nanf(""));
  auto mask = torch::tensor({1, 1, 0, 0, 0, 0, 0, 0}, torch::kInt64).view({2, 4});
  for (bool gate : {true, false}) {
    auto h = HandHead(gate);
    auto s = h->forward(feats, mask);
    ASSERT_TRUE(torch::isfinite(s.score).all().item<bool>()) << "gate=" << gate;
    EXPECT_EQ(s.score[1].item<float>(), 0.0f);
    EXPECT_EQ(s.gate[0][2].item<float>(), 0.0f);
    EXPECT_EQ(s.token_reward[0][3].item<float>(), 0.0f);
    if (gate) {
      EXPECT_NEAR(s.score[0].item<double>(), ref, 1e-6);
      // Gradients stay finite despite the NaN padding.
      s.score.sum().backward();
      EXPECT_TRUE(torch::isfinite(h->linear->weight.grad()).all().item<bool>());
    }
  }
}

TEST(SwiftHeadTest, DisabledGateIsMaskedMean) {
  auto head = HandHead(/*gate=*/false);
  auto feats = torch::tensor({0.3f, 1.0f, -2.0f, 0.25f, 9.0f, 9.0f}).view({1, 3, 2});
  auto mask = torch::tensor({1, 1, 0}).view({1, 3});
  const double want = ((2 * 1.0 - 1) + (2 * 0.25 - 1)) / 2.0;
  auto s = head->forward(feats, mask);
  EXPECT_NEAR(s.score.item<double>(), want, 1e-6);
  EXPECT_EQ(s.gate[0][0].item<float>(), 1.0f);
  EXPECT_EQ(s.gate[0][2].item<float>(), 0.0f);
}

TEST(SwiftHeadTest, CombineTokenTermsEqualsForward) {
  torch::manual_seed(11);
  for (bool gate : {true, false}) {
    SwiftHead head(6, gate);
    {
      torch::NoGradGuard g;
      head->linear->weight.normal_(0.0, 1.0);
      head->linear->bias.normal_(0.0, 1.0);
    }
    auto feats = torch::randn({3, 7, 6});
    auto mask = torch::ones({3, 7}, torch::kInt64);
    mask[1].narrow(0, 4, 3).zero_();
    mask[2].narrow(0, 0, 2).zero_();  // left padding
    torch::NoGradGuard g;
    auto s = head->forward(feats, mask);
    for (int64_t b = 0; b < 3; ++b) {
      std::vector<std::array<float, 2>> terms;
      for (int64_t t = 0; t < 7; ++t) {  // as a streaming caller would: one token at a time
        if (mask[b][t].item<int64_t>() == 0) continue;
        auto tt = head->TokenTerms(feats[b][t]);
        terms.push_back({tt[0].item<float>(), tt[1].item<float>()});
      }
      EXPECT_NEAR(SwiftHeadImpl::CombineTokenTerms(terms, gate), s.score[b].item<double>(), 1e-5)
          << "row " << b << " gate=" << gate;
    }
  }
  EXPECT_EQ(SwiftHeadImpl::CombineTokenTerms({}, true), 0.0);
  EXPECT_EQ(SwiftHeadImpl::CombineTokenTerms({}, false), 0.0);
}

TEST(SwiftConfigTest, LayersDimsAndValidation) {
  auto c = TinyConfig();  // L = 2, d = 16, V = 29
  SwiftHeadConfig all;
  EXPECT_TRUE(all.Validate(c).ok());
  EXPECT_EQ(SwiftLayers(all, 2), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(SwiftInputDim(all, c), 3 * 16);
  SwiftHeadConfig last2;
  last2.last_k_layers = 2;
  EXPECT_EQ(SwiftLayers(last2, 2), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(SwiftInputDim(last2, c), 2 * 16);
  last2.last_k_layers = 3;
  EXPECT_TRUE(last2.Validate(c).ok());
  last2.last_k_layers = 4;
  Status st = last2.Validate(c);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("last_k_layers"), std::string::npos) << st;
  last2.last_k_layers = -1;
  EXPECT_TRUE(last2.Validate(c).IsInvalidArgument());
  SwiftHeadConfig logits;
  logits.features = "logits";
  EXPECT_TRUE(logits.Validate(c).ok());
  EXPECT_EQ(SwiftInputDim(logits, c), 29);
  EXPECT_EQ(SwiftForwardOptions(logits, c).logits, LogitsMode::kAll);
  EXPECT_TRUE(SwiftForwardOptions(logits, c).hidden_layers.empty());
  SwiftHeadConfig bad;
  bad.features = "attention";
  st = bad.Validate(c);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_NE(st.message().find("features"), std::string::npos) << st;
}

TEST(SwiftConfigTest, JsonRoundTripAndErrors) {
  SwiftHeadConfig c;
  c.features = "hidden";
  c.last_k_layers = 2;
  c.apply_norm = true;
  c.gate = false;
  auto back = SwiftHeadConfig::FromJson(c.ToJson());
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->ToJson(), c.ToJson());
  auto partial = SwiftHeadConfig::FromJson(nlohmann::json{{"gate", false}});
  ASSERT_TRUE(partial.ok());
  EXPECT_FALSE(partial->gate);
  EXPECT_EQ(partial->features, "hidden");

  auto unknown = SwiftHeadConfig::FromJson(nlohmann::json{{"layers", 3}});
  EXPECT_TRUE(unknown.status().IsInvalidArgument());
  EXPECT_NE(unknown.status().message().find("layers"), std::string::npos);
  auto wrong = SwiftHeadConfig::FromJson(nlohmann::json{{"last_k_layers", "four"}});
  EXPECT_TRUE(wrong.status().IsInvalidArgument());
  EXPECT_NE(wrong.status().message().find("last_k_layers"), std::string::npos);
  auto wrong_bool = SwiftHeadConfig::FromJson(nlohmann::json{{"apply_norm", 1}});
  EXPECT_NE(wrong_bool.status().message().find("apply_norm"), std::string::npos);
  EXPECT_TRUE(SwiftHeadConfig::FromJson(nlohmann::json::array()).status().IsInvalidArgument());
}

TEST(SwiftFeaturesTest, HiddenLayersNormAndLogits) {
  auto c = TinyConfig();
  auto p = MakePolicy(c);
  const int64_t d = c.hidden_size, L = c.num_hidden_layers;
  auto ids = torch::randint(0, c.vocab_size, {2, 5}, torch::kInt64);
  torch::NoGradGuard g;
  auto ref = p->forward(ids, {}, ForwardOptions{LogitsMode::kAll, {0, 1, 2}});

  SwiftHeadConfig all;
  auto f = SwiftFeatures(p, all, ids, {});
  EXPECT_EQ(f.sizes(), (std::vector<int64_t>{2, 5, (L + 1) * d}));
  EXPECT_EQ(f.scalar_type(), torch::kFloat32);
  for (int64_t i = 0; i <= L; ++i) {
    EXPECT_TRUE(torch::equal(f.narrow(-1, i * d, d), ref.hidden_states[static_cast<size_t>(i)])) << "layer " << i;
  }

  SwiftHeadConfig last1;
  last1.last_k_layers = 1;
  auto f1 = SwiftFeatures(p, last1, ids, {});
  EXPECT_EQ(f1.size(-1), d);
  EXPECT_TRUE(torch::equal(f1, ref.last_hidden));
  SwiftHeadConfig last2;
  last2.last_k_layers = 2;
  auto f2 = SwiftFeatures(p, last2, ids, {});
  EXPECT_EQ(f2.size(-1), 2 * d);
  EXPECT_TRUE(torch::equal(f2.narrow(-1, 0, d), ref.hidden_states[1]));
  EXPECT_TRUE(torch::equal(f2.narrow(-1, d, d), ref.hidden_states[2]));

  SwiftHeadConfig normed = all;
  normed.apply_norm = true;
  auto fn = SwiftFeatures(p, normed, ids, {});
  for (int64_t i = 0; i < L; ++i) {
    auto want = p->model->norm(ref.hidden_states[static_cast<size_t>(i)]);
    EXPECT_LT(MaxAbsDiff(fn.narrow(-1, i * d, d), want), 1e-6) << "layer " << i;
    EXPECT_GT(MaxAbsDiff(fn.narrow(-1, i * d, d), f.narrow(-1, i * d, d)), 1e-3) << "layer " << i;
  }
  // Index L already carries the final norm: unchanged.
  EXPECT_TRUE(torch::equal(fn.narrow(-1, L * d, d), f.narrow(-1, L * d, d)));

  SwiftHeadConfig logits;
  logits.features = "logits";
  auto fl = SwiftFeatures(p, logits, ids, {});
  EXPECT_EQ(fl.sizes(), (std::vector<int64_t>{2, 5, c.vocab_size}));
  EXPECT_TRUE(torch::equal(fl, ref.logits));
  EXPECT_EQ(SwiftHead(SwiftInputDim(logits, c))->forward(fl, torch::ones({2, 5})).score.size(0), 2);

  // A ForwardOutput without the requested states is a usage error.
  auto bare = p->forward(ids, {}, ForwardOptions{LogitsMode::kNone, {}});
  EXPECT_THROW(SwiftFeaturesFrom(p, all, bare), c10::Error);
  EXPECT_THROW(SwiftFeaturesFrom(p, logits, bare), c10::Error);
}

TEST(SwiftFeaturesTest, IncrementalDecodingMatchesFullForward) {
  auto c = TinyConfig();
  auto p = MakePolicy(c);
  for (bool apply_norm : {false, true}) {
    SwiftHeadConfig cfg;
    cfg.apply_norm = apply_norm;
    const int64_t prompt = 4, total = 9;
    auto ids = torch::randint(0, c.vocab_size, {2, total}, torch::kInt64);
    auto full = SwiftFeatures(p, cfg, ids, {});

    KvCache cache(c, KvCacheOptions{2, 16});
    auto opts = SwiftForwardOptions(cfg, c);
    opts.logits = LogitsMode::kLast;  // what a sampling worker asks for; features do not care
    std::vector<torch::Tensor> parts;
    auto out = p->ForwardIncremental(ids.narrow(1, 0, prompt), {}, {0, 1}, cache, opts);
    parts.push_back(SwiftFeaturesFrom(p, cfg, out));
    for (int64_t t = prompt; t < total; ++t) {
      out = p->ForwardIncremental(ids.narrow(1, t, 1), {}, {0, 1}, cache, opts);
      parts.push_back(SwiftFeaturesFrom(p, cfg, out));
    }
    auto inc = torch::cat(parts, 1);
    ASSERT_EQ(inc.sizes(), full.sizes());
    EXPECT_LT(MaxAbsDiff(inc, full), 1e-4) << "apply_norm=" << apply_norm;
  }
}

class SwiftSaveTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/scorch_swift_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(SwiftSaveTest, RoundTripGivesIdenticalScores) {
  auto c = TinyConfig();
  SwiftHeadConfig cfg;
  cfg.last_k_layers = 2;
  cfg.apply_norm = true;
  cfg.gate = false;
  const int64_t D = SwiftInputDim(cfg, c);
  SwiftHead head(D, cfg.gate);
  {
    torch::NoGradGuard g;
    head->linear->weight.normal_();
    head->linear->bias.normal_();
  }
  SwiftHeadConfig gated = cfg;
  gated.gate = true;
  EXPECT_TRUE(SaveSwiftHead(head, gated, dir_ / "head").IsInvalidArgument());
  ASSERT_TRUE(SaveSwiftHead(head, cfg, dir_ / "head").ok());
  EXPECT_TRUE(fs::exists(dir_ / "head" / kSwiftHeadWeightsFile));
  EXPECT_TRUE(fs::exists(dir_ / "head" / kSwiftHeadConfigFile));

  SwiftHeadConfig got_cfg;
  auto loaded = LoadSwiftHead(dir_ / "head", c, &got_cfg);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(got_cfg.ToJson(), cfg.ToJson());
  EXPECT_EQ((*loaded)->input_dim(), D);
  EXPECT_FALSE((*loaded)->gate());
  auto feats = torch::randn({3, 6, D});
  auto mask = torch::ones({3, 6});
  mask[0][5] = 0;
  torch::NoGradGuard g;
  EXPECT_TRUE(torch::equal(head->forward(feats, mask).score, (*loaded)->forward(feats, mask).score));
}

TEST_F(SwiftSaveTest, OtherModelAndCorruptFilesFail) {
  auto c = TinyConfig(16);
  SwiftHeadConfig cfg;
  SwiftHead head(SwiftInputDim(cfg, c));
  ASSERT_TRUE(SaveSwiftHead(head, cfg, dir_).ok());

  auto other = TinyConfig(32);
  auto wrong = LoadSwiftHead(dir_, other, nullptr);
  EXPECT_EQ(wrong.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(wrong.status().message().find("48"), std::string::npos) << wrong.status();
  EXPECT_NE(wrong.status().message().find("96"), std::string::npos) << wrong.status();

  auto fewer = c;
  fewer.num_hidden_layers = 1;
  EXPECT_EQ(LoadSwiftHead(dir_, fewer, nullptr).status().code(), StatusCode::kFailedPrecondition);

  EXPECT_TRUE(LoadSwiftHead(dir_ / "absent", c, nullptr).status().IsNotFound());

  {
    std::ofstream f(dir_ / kSwiftHeadConfigFile, std::ios::trunc);
    f << "{\"format\": \"scorch.swift_head\", \"config\": {";  // truncated
  }
  auto corrupt = LoadSwiftHead(dir_, c, nullptr);
  EXPECT_FALSE(corrupt.ok());
  EXPECT_TRUE(corrupt.status().IsDataLoss()) << corrupt.status();

  {
    std::ofstream f(dir_ / kSwiftHeadConfigFile, std::ios::trunc);
    f << R"({"format": "scorch.swift_head", "version": 1, "config": {"feature": "hidden"}, "input_dim": 48})";
  }
  auto bad_key = LoadSwiftHead(dir_, c, nullptr);
  EXPECT_TRUE(bad_key.status().IsInvalidArgument()) << bad_key.status();
  EXPECT_NE(bad_key.status().message().find("feature"), std::string::npos);
}

}  // namespace
}  // namespace scorch::model
