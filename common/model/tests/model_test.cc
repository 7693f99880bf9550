// Tests of the transformer: config parsing, HF parameter names, rotary closed form,
// padding invariance, KV-cache decoding == full forward on ragged batches (left and right
// padding, early finish, chunked prefill, non-prefix slots), hidden states and value head.
//
// Tolerance: float32 throughout; logits of the incremental path must match the full
// forward within 1e-5 absolute (the only difference is summation order in the matmuls).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <string>
#include <vector>

#include "scorch/model/kv_cache.h"
#include "scorch/model/model_config.h"
#include "scorch/model/policy.h"

namespace scorch::model {
namespace {

constexpr double kTol = 1e-5;

ModelConfig TinyConfig(bool tie = true, bool bias = true) {
  ModelConfig c;
  c.model_type = bias ? "qwen2" : "llama";
  c.architecture = bias ? "Qwen2ForCausalLM" : "LlamaForCausalLM";
  c.vocab_size = 97;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.attention_bias = bias;
  c.tie_word_embeddings = tie;
  c.rope_theta = 10000.0;
  EXPECT_TRUE(c.Validate().ok());
  return c;
}

Policy MakePolicy(const ModelConfig& c, uint64_t seed = 7) {
  Policy p(c);
  // A larger init than HF's 0.02 so that attention patterns are far from uniform and a
  // masking or position bug shows up in the logits.
  InitializeWeights(*p, 0.2, seed);
  {
    torch::NoGradGuard g;
    for (auto& item : p->named_parameters()) {
      if (item.key().find(".bias") != std::string::npos) item.value().normal_(0.0, 0.1);
    }
  }
  p->eval();
  return p;
}

std::vector<int64_t> RandomTokens(int64_t n, int64_t vocab, uint64_t seed) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  uint64_t x = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (auto& t : v) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    t = static_cast<int64_t>((x >> 33) % static_cast<uint64_t>(vocab));
  }
  return v;
}

// Logits (n,V) of one unpadded sequence.
torch::Tensor Reference(Policy& p, const std::vector<int64_t>& toks) {
  torch::NoGradGuard g;
  auto ids = torch::tensor(toks, torch::kInt64).unsqueeze(0);
  return p->forward(ids).logits.squeeze(0);
}

// Pads `seqs` into (B,T) ids + mask.
std::pair<torch::Tensor, torch::Tensor> Pad(const std::vector<std::vector<int64_t>>& seqs, bool left) {
  int64_t T = 0;
  for (const auto& s : seqs) T = std::max<int64_t>(T, static_cast<int64_t>(s.size()));
  const int64_t B = static_cast<int64_t>(seqs.size());
  auto ids = torch::full({B, T}, 5, torch::kInt64);  // pad id != 0 on purpose
  auto mask = torch::zeros({B, T}, torch::kInt64);
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = seqs[static_cast<size_t>(b)];
    const int64_t n = static_cast<int64_t>(s.size());
    const int64_t off = left ? T - n : 0;
    for (int64_t t = 0; t < n; ++t) {
      ids[b][off + t] = s[static_cast<size_t>(t)];
      mask[b][off + t] = 1;
    }
  }
  return {ids, mask};
}

double MaxAbsDiff(const torch::Tensor& a, const torch::Tensor& b) {
  return (a - b).abs().max().item<double>();
}

TEST(ModelConfigTest, ParsesHfConfigAndRejectsBadOnes) {
  nlohmann::json j = {{"architectures", {"Qwen2ForCausalLM"}}, {"vocab_size", 100},   {"hidden_size", 64},
                      {"intermediate_size", 128},               {"num_hidden_layers", 2}, {"num_attention_heads", 4},
                      {"num_key_value_heads", 2}};
  auto c = ParseModelConfig(j);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->model_type, "qwen2");
  EXPECT_EQ(c->head_dim, 16);
  EXPECT_TRUE(c->attention_bias);  // Qwen2 default
  auto round = ParseModelConfig(c->ToJson());
  ASSERT_TRUE(round.ok()) << round.status();
  EXPECT_EQ(round->ToJson(), c->ToJson());

  auto missing = j;
  missing.erase("hidden_size");
  EXPECT_TRUE(ParseModelConfig(missing).status().IsInvalidArgument());
  EXPECT_NE(ParseModelConfig(missing).status().message().find("hidden_size"), std::string::npos);

  auto wrong_type = j;
  wrong_type["num_hidden_layers"] = "two";
  EXPECT_TRUE(ParseModelConfig(wrong_type).status().IsInvalidArgument());

  auto arch = j;
  arch["architectures"] = {"GPT2LMHeadModel"};
  EXPECT_EQ(ParseModelConfig(arch).status().code(), StatusCode::kUnimplemented);

  auto gqa = j;
  gqa["num_key_value_heads"] = 3;
  EXPECT_TRUE(ParseModelConfig(gqa).status().IsInvalidArgument());

  auto scaling = j;
  scaling["rope_scaling"] = {{"rope_type", "yarn"}, {"factor", 4.0}};
  EXPECT_EQ(ParseModelConfig(scaling).status().code(), StatusCode::kUnimplemented);

  EXPECT_TRUE(LoadModelConfig("/nonexistent/config.json").status().IsNotFound());
  EXPECT_FALSE(ParseModelConfig(nlohmann::json::array()).ok());
}

TEST(PolicyTest, ParameterNamesMatchHuggingFace) {
  for (bool tie : {true, false}) {
    auto c = TinyConfig(tie, /*bias=*/true);
    Policy p(c);
    auto params = p->named_parameters();
    EXPECT_NE(params.find("model.embed_tokens.weight"), nullptr);
    EXPECT_NE(params.find("model.layers.0.self_attn.q_proj.weight"), nullptr);
    EXPECT_NE(params.find("model.layers.2.self_attn.k_proj.bias"), nullptr);
    EXPECT_NE(params.find("model.layers.1.mlp.gate_proj.weight"), nullptr);
    EXPECT_NE(params.find("model.layers.1.input_layernorm.weight"), nullptr);
    EXPECT_NE(params.find("model.layers.1.post_attention_layernorm.weight"), nullptr);
    EXPECT_NE(params.find("model.norm.weight"), nullptr);
    EXPECT_EQ(params.find("model.layers.0.self_attn.o_proj.bias"), nullptr);
    EXPECT_EQ(params.find("lm_head.weight") != nullptr, !tie);
    EXPECT_EQ(params["model.layers.0.self_attn.k_proj.weight"].sizes(), (std::vector<int64_t>{16, 32}));
    EXPECT_EQ(CountParameters(*p), c.ParameterCount());
  }
}

TEST(RotaryTest, MatchesClosedForm) {
  auto c = TinyConfig();
  c.rope_theta = 500.0;
  RotaryEmbedding rope(c);
  const int64_t D = c.head_dim, half = D / 2;
  auto pos = torch::tensor({0, 1, 7, 1000}, torch::kInt64).view({1, 4});
  auto [cos, sin] = rope.Tables(pos);
  auto x = torch::randn({1, 1, 4, D});
  auto y = RotaryEmbedding::Apply(x, cos, sin);
  auto xa = x.accessor<float, 4>();
  auto ya = y.accessor<float, 4>();
  const int64_t positions[] = {0, 1, 7, 1000};
  for (int64_t t = 0; t < 4; ++t) {
    for (int64_t i = 0; i < half; ++i) {
      const double theta = positions[t] * std::pow(500.0, -2.0 * static_cast<double>(i) / static_cast<double>(D));
      const double a = xa[0][0][t][i], b = xa[0][0][t][i + half];
      EXPECT_NEAR(ya[0][0][t][i], a * std::cos(theta) - b * std::sin(theta), 1e-4);
      EXPECT_NEAR(ya[0][0][t][i + half], b * std::cos(theta) + a * std::sin(theta), 1e-4);
    }
  }
  // Rotation preserves norms; position 0 is the identity.
  EXPECT_NEAR(y.norm().item<double>(), x.norm().item<double>(), 1e-4);
  EXPECT_TRUE(torch::allclose(y.select(2, 0), x.select(2, 0)));
}

TEST(RotaryTest, ScalingVariants) {
  auto c = TinyConfig();
  RotaryEmbedding base(c);
  c.rope_scaling.type = "linear";
  c.rope_scaling.factor = 4.0;
  RotaryEmbedding linear(c);
  for (size_t i = 0; i < base.inv_freq().size(); ++i) {
    EXPECT_DOUBLE_EQ(linear.inv_freq()[i], base.inv_freq()[i] / 4.0);
  }
  c.rope_scaling = RopeScaling{"llama3", 8.0, 1.0, 4.0, 64};
  RotaryEmbedding l3(c);
  // wavelen < 64/4 = 16: unchanged; wavelen > 64: divided by 8; in between: interpolated.
  for (size_t i = 0; i < base.inv_freq().size(); ++i) {
    const double f = base.inv_freq()[i], wl = 2 * M_PI / f, g = l3.inv_freq()[i];
    if (wl < 16) EXPECT_DOUBLE_EQ(g, f);
    else if (wl > 64) EXPECT_DOUBLE_EQ(g, f / 8.0);
    else EXPECT_TRUE(g <= f && g >= f / 8.0);
  }
}

TEST(PolicyTest, PaddingDoesNotChangeLogits) {
  for (bool left : {false, true}) {
    auto c = TinyConfig(/*tie=*/false, /*bias=*/true);
    auto p = MakePolicy(c);
    std::vector<std::vector<int64_t>> seqs = {RandomTokens(9, c.vocab_size, 1), RandomTokens(4, c.vocab_size, 2),
                                              RandomTokens(1, c.vocab_size, 3)};
    auto [ids, mask] = Pad(seqs, left);
    torch::NoGradGuard g;
    auto logits = p->forward(ids, mask).logits;
    const int64_t T = ids.size(1);
    for (size_t b = 0; b < seqs.size(); ++b) {
      auto ref = Reference(p, seqs[b]);
      const int64_t n = static_cast<int64_t>(seqs[b].size());
      auto got = logits[static_cast<int64_t>(b)].narrow(0, left ? T - n : 0, n);
      EXPECT_LT(MaxAbsDiff(got, ref), kTol) << "row " << b << (left ? " left" : " right");
      EXPECT_TRUE(torch::isfinite(logits).all().item<bool>());
    }
    auto last = p->forward(ids, mask, ForwardOptions{LogitsMode::kLast, {}}).logits;
    ASSERT_EQ(last.sizes(), (std::vector<int64_t>{3, c.vocab_size}));
    for (size_t b = 0; b < seqs.size(); ++b) {
      auto ref = Reference(p, seqs[b]);
      EXPECT_LT(MaxAbsDiff(last[static_cast<int64_t>(b)], ref[ref.size(0) - 1]), kTol);
    }
  }
}

// Prefills ragged prompts (padded left or right) then decodes token by token, with row 1
// finishing early; every step's logits must equal the reference full forward.
void CheckIncrementalMatchesFull(bool left, bool drop_finished_rows) {
  auto c = TinyConfig(/*tie=*/true, /*bias=*/true);
  auto p = MakePolicy(c, 11);
  const std::vector<int64_t> prompt_len = {6, 2, 4};
  const std::vector<int64_t> total_len = {12, 4, 9};  // row 1 finishes early
  std::vector<std::vector<int64_t>> full, prompts;
  for (int b = 0; b < 3; ++b) {
    full.push_back(RandomTokens(total_len[static_cast<size_t>(b)], c.vocab_size, 100 + static_cast<uint64_t>(b)));
    prompts.emplace_back(full.back().begin(), full.back().begin() + prompt_len[static_cast<size_t>(b)]);
  }
  std::vector<torch::Tensor> refs;
  for (auto& s : full) refs.push_back(Reference(p, s));

  KvCache cache(c, KvCacheOptions{4, 16});
  std::vector<int64_t> slots = {0, 1, 2};
  auto [ids, mask] = Pad(prompts, left);
  auto out = p->ForwardIncremental(ids, mask, slots, cache, ForwardOptions{LogitsMode::kAll, {}});
  const int64_t T = ids.size(1);
  for (int64_t b = 0; b < 3; ++b) {
    const int64_t n = prompt_len[static_cast<size_t>(b)];
    EXPECT_EQ(cache.length(b), n);
    auto got = out.logits[b].narrow(0, left ? T - n : 0, n);
    EXPECT_LT(MaxAbsDiff(got, refs[static_cast<size_t>(b)].narrow(0, 0, n)), kTol) << "prefill row " << b;
  }
  for (int64_t step = 0;; ++step) {
    std::vector<int64_t> rows, step_slots, toks, valid;
    for (int64_t b = 0; b < 3; ++b) {
      const int64_t at = prompt_len[static_cast<size_t>(b)] + step;
      const bool live = at < total_len[static_cast<size_t>(b)];
      if (!live && drop_finished_rows) continue;
      rows.push_back(b);
      step_slots.push_back(b);
      toks.push_back(live ? full[static_cast<size_t>(b)][static_cast<size_t>(at)] : 5);
      valid.push_back(live ? 1 : 0);
    }
    bool any = false;
    for (auto v : valid) any = any || v;
    if (!any) break;
    auto step_ids = torch::tensor(toks, torch::kInt64).unsqueeze(1);
    auto step_mask = torch::tensor(valid, torch::kInt64).unsqueeze(1);
    auto o = p->ForwardIncremental(step_ids, step_mask, step_slots, cache, ForwardOptions{LogitsMode::kLast, {}});
    for (size_t r = 0; r < rows.size(); ++r) {
      if (!valid[r]) continue;
      const int64_t b = rows[r];
      const int64_t at = prompt_len[static_cast<size_t>(b)] + step;
      EXPECT_LT(MaxAbsDiff(o.logits[static_cast<int64_t>(r)], refs[static_cast<size_t>(b)][at]), kTol)
          << "row " << b << " position " << at;
    }
  }
  for (int64_t b = 0; b < 3; ++b) EXPECT_EQ(cache.length(b), total_len[static_cast<size_t>(b)]);
}

TEST(KvCacheTest, RightPaddedRaggedBatchMatchesFullForward) { CheckIncrementalMatchesFull(false, false); }
TEST(KvCacheTest, LeftPaddedRaggedBatchMatchesFullForward) { CheckIncrementalMatchesFull(true, false); }
TEST(KvCacheTest, FinishedRowsDroppedFromBatch) { CheckIncrementalMatchesFull(true, true); }

TEST(KvCacheTest, ContinuousBatchingChunkedPrefillAndSlotReuse) {
  auto c = TinyConfig(/*tie=*/false, /*bias=*/false);
  auto p = MakePolicy(c, 3);
  auto a = RandomTokens(10, c.vocab_size, 21);
  auto b = RandomTokens(7, c.vocab_size, 22);
  auto ref_a = Reference(p, a), ref_b = Reference(p, b);
  KvCache cache(c, KvCacheOptions{3, 12});
  // Slot 2 gets a prefix of `b` that is then discarded: reuse must not leak stale keys.
  auto junk = RandomTokens(11, c.vocab_size, 99);
  (void)p->ForwardIncremental(torch::tensor(junk).unsqueeze(0), {}, {2}, cache);
  cache.ResetSlot(2);
  // Step 1: slot 2 prefills a[0..4); slot 0 prefills b[0..2) (ragged, right-padded).
  auto ids = torch::full({2, 4}, 5, torch::kInt64);
  auto mask = torch::zeros({2, 4}, torch::kInt64);
  for (int t = 0; t < 4; ++t) ids[0][t] = a[static_cast<size_t>(t)], mask[0][t] = 1;
  for (int t = 0; t < 2; ++t) ids[1][t] = b[static_cast<size_t>(t)], mask[1][t] = 1;
  auto o = p->ForwardIncremental(ids, mask, {2, 0}, cache);
  EXPECT_LT(MaxAbsDiff(o.logits[0], ref_a.narrow(0, 0, 4)), kTol);
  EXPECT_LT(MaxAbsDiff(o.logits[1].narrow(0, 0, 2), ref_b.narrow(0, 0, 2)), kTol);
  // Step 2: slot 0 prefills the rest of b (5 tokens) while slot 2 decodes one token of a.
  ids = torch::full({2, 5}, 5, torch::kInt64);
  mask = torch::zeros({2, 5}, torch::kInt64);
  for (int t = 0; t < 5; ++t) ids[0][t] = b[static_cast<size_t>(2 + t)], mask[0][t] = 1;
  ids[1][4] = a[4], mask[1][4] = 1;  // left-padded single token
  o = p->ForwardIncremental(ids, mask, {0, 2}, cache, ForwardOptions{LogitsMode::kLast, {}});
  EXPECT_LT(MaxAbsDiff(o.logits[0], ref_b[6]), kTol);
  EXPECT_LT(MaxAbsDiff(o.logits[1], ref_a[4]), kTol);
  EXPECT_EQ(cache.length(0), 7);
  EXPECT_EQ(cache.length(2), 5);
  // Truncate slot 2 back to 3 tokens and re-decode a[3]: same logits as before.
  cache.Truncate(2, 3);
  o = p->ForwardIncremental(torch::tensor({a[3]}).view({1, 1}), {}, {2}, cache, ForwardOptions{LogitsMode::kLast, {}});
  EXPECT_LT(MaxAbsDiff(o.logits[0], ref_a[3]), kTol);
  // Capacity and misuse are errors, not crashes.
  EXPECT_THROW(p->ForwardIncremental(torch::zeros({1, 13}, torch::kInt64), {}, {1}, cache), c10::Error);
  EXPECT_THROW(p->ForwardIncremental(torch::zeros({2, 1}, torch::kInt64), {}, {1, 1}, cache), c10::Error);
  EXPECT_THROW(p->ForwardIncremental(torch::zeros({1, 1}, torch::kInt64), {}, {3}, cache), c10::Error);
  EXPECT_THROW(p->forward(torch::full({1, 2}, c.vocab_size, torch::kInt64)), c10::Error);
  EXPECT_EQ(cache.length(1), 0);
}

TEST(PolicyTest, HiddenStatesShapesAndConvention) {
  auto c = TinyConfig();
  auto p = MakePolicy(c);
  auto ids = torch::randint(0, c.vocab_size, {2, 5}, torch::kInt64);
  torch::NoGradGuard g;
  const int64_t L = c.num_hidden_layers;
  auto out = p->forward(ids, {}, ForwardOptions{LogitsMode::kNone, {0, 1, L, 2, L - 1}});
  EXPECT_FALSE(out.logits.defined());
  ASSERT_EQ(out.hidden_states.size(), 5u);
  for (auto& h : out.hidden_states) EXPECT_EQ(h.sizes(), (std::vector<int64_t>{2, 5, c.hidden_size}));
  EXPECT_TRUE(torch::equal(out.hidden_states[0], p->model->embed_tokens(ids)));
  EXPECT_TRUE(torch::equal(out.hidden_states[2], out.last_hidden));
  // The final norm of block L's output is what index L returns.
  auto all = p->forward(ids, {}, ForwardOptions{LogitsMode::kAll, {}});
  EXPECT_LT(MaxAbsDiff(all.logits, p->Logits(out.hidden_states[2])), 1e-6);
  EXPECT_THROW(p->forward(ids, {}, ForwardOptions{LogitsMode::kNone, {L + 1}}), c10::Error);
  // The same states come back from the incremental path.
  KvCache cache(c, KvCacheOptions{2, 8});
  auto inc = p->ForwardIncremental(ids, {}, {0, 1}, cache, ForwardOptions{LogitsMode::kNone, {1}});
  EXPECT_LT(MaxAbsDiff(inc.hidden_states[0], out.hidden_states[1]), kTol);
}

TEST(CriticTest, ValueHeadShapeAndNames) {
  auto c = TinyConfig();
  Critic critic(c);
  InitializeWeights(*critic, 0.02, 1);
  auto params = critic->named_parameters();
  EXPECT_NE(params.find("value_head.weight"), nullptr);
  EXPECT_NE(params.find("value_head.bias"), nullptr);
  EXPECT_EQ(params["value_head.weight"].sizes(), (std::vector<int64_t>{1, c.hidden_size}));
  auto ids = torch::randint(0, c.vocab_size, {3, 6}, torch::kInt64);
  auto v = critic->forward(ids, torch::ones({3, 6}, torch::kInt64));
  EXPECT_EQ(v.sizes(), (std::vector<int64_t>{3, 6}));
  EXPECT_EQ(v.scalar_type(), torch::kFloat32);
  v.sum().backward();  // trainable
  EXPECT_TRUE(params["value_head.weight"].grad().defined());
}

TEST(PolicyTest, InitIsSeededAndTrainingForwardHasGradients) {
  auto c = TinyConfig(false, true);
  Policy a(c), b(c), d(c);
  InitializeWeights(*a, 0.02, 5);
  InitializeWeights(*b, 0.02, 5);
  InitializeWeights(*d, 0.02, 6);
  auto pa = a->named_parameters(), pb = b->named_parameters(), pd = d->named_parameters();
  EXPECT_TRUE(torch::equal(pa["lm_head.weight"], pb["lm_head.weight"]));
  EXPECT_FALSE(torch::equal(pa["lm_head.weight"], pd["lm_head.weight"]));
  EXPECT_TRUE(torch::equal(pa["model.norm.weight"], torch::ones({c.hidden_size})));
  auto ids = torch::randint(0, c.vocab_size, {2, 4}, torch::kInt64);
  auto loss = a->forward(ids).logits.log_softmax(-1).mean();
  loss.backward();
  for (auto& item : a->named_parameters()) EXPECT_TRUE(item.value().grad().defined()) << item.key();
}

TEST(PolicyTest, BFloat16ForwardRuns) {
  auto c = TinyConfig();
  auto p = MakePolicy(c);
  auto ids = torch::randint(0, c.vocab_size, {2, 4}, torch::kInt64);
  torch::NoGradGuard g;
  auto ref = p->forward(ids).logits;
  p->to(torch::kBFloat16);
  auto got = p->forward(ids).logits;
  EXPECT_EQ(got.scalar_type(), torch::kFloat32);
  EXPECT_LT(MaxAbsDiff(got, ref), 0.25);  // bf16 has ~3 significant digits
  KvCache cache(c, KvCacheOptions{2, 8, torch::kBFloat16});
  auto inc = p->ForwardIncremental(ids, {}, {0, 1}, cache);
  EXPECT_LT(MaxAbsDiff(inc.logits, got), 0.1);
}

}  // namespace
}  // namespace scorch::model
