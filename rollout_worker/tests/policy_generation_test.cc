// Generation over the real (tiny, randomly initialised) Policy + KvCache: continuous batching
// gives exactly the tokens of generating each prompt alone, greedy and seeded sampling, with
// and without splitting prefill from decode.
#include <gtest/gtest.h>

#include <map>

#include "scorch/common/proto/message.h"
#include "scorch/model/char_tokenizer.h"
#include "scorch/model/policy.h"
#include "scorch/rollout/generator.h"
#include "scorch/rollout/rollout_engine.h"
#include "scorch/rollout/step_model.h"
#include "test_support.h"

namespace scorch::rollout {
namespace {

model::Policy TinyPolicy() {
  model::ModelConfig c;
  c.model_type = "qwen2";
  c.vocab_size = 101;
  c.hidden_size = 32;
  c.intermediate_size = 48;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 8;
  c.attention_bias = true;
  c.tie_word_embeddings = true;
  EXPECT_TRUE(c.Validate().ok());
  model::Policy p(c);
  model::InitializeWeights(*p, 0.3, 5);  // far from uniform, so argmax ties are unlikely
  p->eval();
  return p;
}

class PolicyGenerationTest : public ::testing::Test {
 protected:
  std::unique_ptr<model::CharTokenizer> tok_ = model::CharTokenizer::CreateDefault();
  model::Policy policy_ = TinyPolicy();
  std::vector<std::string> prompts_ = {"1+1=", "What is 12*7? Think.", "x", "a much longer prompt about sums: 3+4+5=",
                                       "ok", "[VERIFY]", "q: 9-2"};

  std::map<uint64_t, GenerationResult> Generate(int64_t slots, double waste, double temperature,
                                                const std::vector<size_t>& which) {
    PolicyStepModelOptions o;
    o.num_slots = slots;
    o.max_seq_len = 96;
    o.max_padding_waste = waste;
    PolicyStepModel m(policy_, o);
    Generator g(m, *tok_);
    for (size_t i : which) {
      GenerationRequest r;
      r.id = i;
      r.prompt = testing::Enc(*tok_, prompts_[i]);
      r.sampling = model::SamplingParams{temperature, 0, 1.0, 1000 + i};
      r.max_new_tokens = 6 + 5 * static_cast<int64_t>(i % 3);  // uneven lengths
      g.Submit(r);
    }
    std::map<uint64_t, GenerationResult> out;
    for (auto& r : g.RunToCompletion()) out[r.id] = r;
    return out;
  }
};

TEST_F(PolicyGenerationTest, ContinuousBatchingMatchesGeneratingAlone) {
  for (double temperature : {0.0, 1.0}) {
    std::map<uint64_t, GenerationResult> alone;
    for (size_t i = 0; i < prompts_.size(); ++i) alone[i] = Generate(1, 0.5, temperature, {i})[i];
    std::vector<size_t> all(prompts_.size());
    for (size_t i = 0; i < all.size(); ++i) all[i] = i;
    for (double waste : {0.0, 1.0}) {  // always split prefill/decode, never split
      auto batched = Generate(3, waste, temperature, all);
      ASSERT_EQ(batched.size(), prompts_.size());
      for (size_t i = 0; i < prompts_.size(); ++i) {
        SCOPED_TRACE("prompt " + std::to_string(i) + " temperature " + std::to_string(temperature));
        EXPECT_EQ(batched[i].tokens, alone[i].tokens);
        ASSERT_EQ(batched[i].logprobs.size(), alone[i].logprobs.size());
        for (size_t k = 0; k < alone[i].logprobs.size(); ++k) {
          EXPECT_NEAR(batched[i].logprobs[k], alone[i].logprobs[k], 1e-4);
          EXPECT_LE(alone[i].logprobs[k], 0.0f);
        }
        EXPECT_EQ(batched[i].finish, alone[i].finish);
      }
    }
  }
}

TEST_F(PolicyGenerationTest, LogprobsAreThePolicysOwn) {
  // The log-probs reported for generated tokens equal a full forward over prompt + output.
  auto out = Generate(2, 0.5, 1.0, {1});
  const auto& r = out[1];
  auto ids = testing::Enc(*tok_, prompts_[1]);
  const size_t n = ids.size();
  ids.insert(ids.end(), r.tokens.begin(), r.tokens.end());
  torch::NoGradGuard g;
  std::vector<int64_t> v(ids.begin(), ids.end());
  auto logits = policy_->forward(torch::tensor(v).unsqueeze(0)).logits[0];  // (T,V)
  auto lp = torch::log_softmax(logits, -1);
  for (size_t k = 0; k < r.tokens.size(); ++k) {
    EXPECT_NEAR(r.logprobs[k], lp[static_cast<int64_t>(n + k - 1)][r.tokens[k]].item<float>(), 1e-4);
  }
}

TEST_F(PolicyGenerationTest, EngineRunsProtocolsOnThePolicy) {
  PolicyStepModelOptions o;
  o.num_slots = 4;
  o.max_seq_len = 1024;
  PolicyStepModel m(policy_, o);
  Generator g(m, *tok_);
  RolloutEngine engine(g, *tok_, {});
  for (const char* p : {"single_turn", "self_correct", "two_turn", "post_completion"}) {
    proto::GenerateRequest r;
    r.prompt_text = "2+2";
    r.protocol = p;
    r.sampling.temperature = 0.0f;
    r.sampling.max_new_tokens = 8;
    ASSERT_TRUE(engine.Submit(r, 3).ok());
  }
  auto out = engine.RunToCompletion();
  ASSERT_EQ(out.size(), 4u);
  for (const auto& e : out) {
    EXPECT_TRUE(proto::Validate(proto::Message(e.trajectory)).ok());
    EXPECT_EQ(e.trajectory.policy_version, 3);
    EXPECT_GE(e.trajectory.segments.size(), 2u);
    EXPECT_TRUE(e.stats.error.empty()) << e.stats.error;
  }
}

}  // namespace
}  // namespace scorch::rollout
