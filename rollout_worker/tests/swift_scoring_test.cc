// SWIFT scoring during generation (step_model.h): the token terms a PolicyStepModel keeps while
// decoding equal the head applied to a full forward's features at the states that produced each
// generated token, in batches and across the turns of a trajectory, and the trajectory's
// hidden_state_score is the head's sequence score over them.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "scorch/common/testing/temp_dir.h"
#include "scorch/model/char_tokenizer.h"
#include "scorch/model/policy.h"
#include "scorch/model/swift_head.h"
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
  model::InitializeWeights(*p, 0.3, 5);
  p->eval();
  return p;
}

ScoreHead RandomHead(const model::ModelConfig& mc, model::SwiftHeadConfig cfg) {
  torch::manual_seed(3);
  ScoreHead h;
  h.config = cfg;
  h.head = model::SwiftHead(model::SwiftInputDim(cfg, mc), cfg.gate);
  {
    // A new head is all zeros (R = 0 everywhere): give it weights that tell tokens apart.
    torch::NoGradGuard g;
    h.head->linear->weight.normal_(0.0, 0.3);
    h.head->linear->bias.normal_(0.0, 0.3);
  }
  h.head->eval();
  return h;
}

// Terms of the head over a full forward of prompt + generated tokens, at positions P..P+n-1:
// the states that read each generated token.
std::vector<std::array<float, 2>> Expected(model::Policy& policy, ScoreHead h, const std::vector<TokenId>& prompt,
                                           const std::vector<TokenId>& generated) {
  std::vector<int64_t> ids(prompt.begin(), prompt.end());
  ids.insert(ids.end(), generated.begin(), generated.end());
  torch::NoGradGuard g;
  auto feats = model::SwiftFeatures(policy, h.config, torch::tensor(ids).unsqueeze(0), torch::Tensor());
  auto terms = h.head->TokenTerms(feats)[0].contiguous();  // (T,2)
  std::vector<std::array<float, 2>> out;
  for (size_t k = 0; k < generated.size(); ++k) {
    const int64_t pos = static_cast<int64_t>(prompt.size() + k);
    out.push_back({terms[pos][0].item<float>(), terms[pos][1].item<float>()});
  }
  return out;
}

class SwiftScoringTest : public ::testing::TestWithParam<std::string> {
 protected:
  std::unique_ptr<model::CharTokenizer> tok_ = model::CharTokenizer::CreateDefault();
  model::Policy policy_ = TinyPolicy();

  model::SwiftHeadConfig Config() const {
    model::SwiftHeadConfig c;
    c.features = GetParam();
    if (c.features == "hidden") c.last_k_layers = 0;  // every hidden state, the embedding output included
    return c;
  }
};

TEST_P(SwiftScoringTest, TermsCapturedWhileDecodingEqualAFullForward) {
  ScoreHead head = RandomHead(policy_->config(), Config());
  PolicyStepModelOptions o;
  o.num_slots = 3;
  o.max_seq_len = 96;
  o.max_padding_waste = 0.0;  // split prefill from decode too
  PolicyStepModel m(policy_, o);
  m.SetScoreHead(head);
  Generator g(m, *tok_);
  const std::vector<std::string> prompts = {"1+1=", "What is 12*7?", "x", "q: 9-2 and more text"};
  std::map<uint64_t, std::vector<TokenId>> prompt_of;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GenerationRequest r;
    r.id = i;
    r.prompt = testing::Enc(*tok_, prompts[i]);
    r.sampling = model::SamplingParams{1.0, 0, 1.0, 77 + i};
    r.max_new_tokens = 5 + 3 * static_cast<int64_t>(i);
    prompt_of[i] = r.prompt;
    g.Submit(r);
  }
  int checked = 0;
  for (const auto& r : g.RunToCompletion()) {
    ASSERT_EQ(r.token_terms.size(), r.tokens.size()) << "request " << r.id;
    const auto want = Expected(policy_, head, prompt_of[r.id], r.tokens);
    for (size_t k = 0; k < want.size(); ++k) {
      EXPECT_NEAR(r.token_terms[k][0], want[k][0], 1e-4) << "request " << r.id << " token " << k;
      EXPECT_NEAR(r.token_terms[k][1], want[k][1], 1e-4) << "request " << r.id << " token " << k;
    }
    ++checked;
  }
  EXPECT_EQ(checked, 4);
  // Without a head nothing is kept.
  m.SetScoreHead(std::nullopt);
  EXPECT_EQ(m.TokenTerms(0), nullptr);
}

// Scoring feeds each finished sequence's last token once more (to read its state); that must
// not change what is sampled, and a sequence that fills its slot scores all but that token.
TEST_P(SwiftScoringTest, ScoringLeavesSamplesAloneAndAFullSlotScoresAllButTheLastToken) {
  ScoreHead head = RandomHead(policy_->config(), Config());
  auto run = [&](bool scored, int64_t max_seq_len) {
    PolicyStepModelOptions o;
    o.num_slots = 2;
    o.max_seq_len = max_seq_len;
    PolicyStepModel m(policy_, o);
    if (scored) m.SetScoreHead(head);
    Generator g(m, *tok_);
    for (uint64_t i = 0; i < 3; ++i) {
      GenerationRequest r;
      r.id = i;
      r.prompt = testing::Enc(*tok_, "7+" + std::to_string(i) + "=");
      r.sampling = model::SamplingParams{1.0, 0, 1.0, 11 + i};
      r.max_new_tokens = 6;
      g.Submit(r);
    }
    std::map<uint64_t, GenerationResult> by_id;
    for (auto& r : g.RunToCompletion()) by_id[r.id] = std::move(r);
    return by_id;
  };
  const auto plain = run(false, 96);
  const auto scored = run(true, 96);
  ASSERT_EQ(plain.size(), 3u);
  ASSERT_EQ(scored.size(), 3u);
  for (const auto& [id, r] : plain) {
    EXPECT_EQ(scored.at(id).tokens, r.tokens) << "request " << id;
    EXPECT_EQ(scored.at(id).token_terms.size(), r.tokens.size()) << "request " << id;
  }
  // A slot of the prompt plus 5 tokens takes the 6th sampled token's row no more: it is never fed.
  const size_t prompt_len = testing::Enc(*tok_, "7+0=").size();
  const auto full = run(true, static_cast<int64_t>(prompt_len) + 5);
  for (const auto& [id, r] : full) {
    ASSERT_EQ(r.tokens.size(), 6u) << "request " << id;
    EXPECT_EQ(r.token_terms.size(), 5u) << "request " << id;
  }
}

TEST_P(SwiftScoringTest, TrajectoryScoreCoversEveryTurnTheModelWrote) {
  ScoreHead head = RandomHead(policy_->config(), Config());
  PolicyStepModelOptions o;
  o.num_slots = 2;
  o.max_seq_len = 1024;
  PolicyStepModel m(policy_, o);
  m.SetScoreHead(head);
  Generator g(m, *tok_);
  RolloutEngine engine(g, *tok_, {});
  proto::GenerateRequest r;
  r.prompt_text = "2+2";
  r.protocol = "self_correct";
  r.sampling.temperature = 1.0f;
  r.sampling.seed = 11;
  r.sampling.max_new_tokens = 8;
  ASSERT_TRUE(engine.Submit(r, 0).ok());
  auto out = engine.RunToCompletion();
  ASSERT_EQ(out.size(), 1u);
  const proto::Trajectory& t = out[0].trajectory;
  ASSERT_TRUE(t.hidden_state_score.has_value());
  // Recompute: the head over a full forward, at the state that read every sampled token.
  std::vector<int64_t> ids(t.token_ids.begin(), t.token_ids.end());
  torch::NoGradGuard ng;
  auto terms = head.head->TokenTerms(model::SwiftFeatures(policy_, head.config, torch::tensor(ids).unsqueeze(0),
                                                          torch::Tensor()))[0];
  std::vector<std::array<float, 2>> want;
  for (size_t k = 0; k < t.trainable_mask.size(); ++k) {
    if (t.trainable_mask[k]) want.push_back({terms[k][0].item<float>(), terms[k][1].item<float>()});
  }
  ASSERT_FALSE(want.empty());
  EXPECT_NEAR(*t.hidden_state_score, model::SwiftHeadImpl::CombineTokenTerms(want, head.config.gate), 1e-4);
}

TEST_P(SwiftScoringTest, InstallScoreHeadLoadsFromDiskAndRefusesAnotherModel) {
  scorch::testing::TempDir tmp;
  ScoreHead head = RandomHead(policy_->config(), Config());
  ASSERT_TRUE(model::SaveSwiftHead(head.head, head.config, tmp.path()).ok());
  PolicyStepModel m(policy_, PolicyStepModelOptions{2, 64});
  ASSERT_TRUE(InstallScoreHead(m, tmp.path().string()).ok());
  EXPECT_NE(m.TokenTerms(0), nullptr);
  EXPECT_FALSE(InstallScoreHead(m, (tmp / "missing").string()).ok());
  ASSERT_TRUE(InstallScoreHead(m, std::nullopt).ok());
  EXPECT_EQ(m.TokenTerms(0), nullptr);
}

INSTANTIATE_TEST_SUITE_P(Features, SwiftScoringTest, ::testing::Values("hidden", "logits"));

}  // namespace
}  // namespace scorch::rollout
