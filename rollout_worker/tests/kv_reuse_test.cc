// KV prefix reuse across the generations of one session (a trajectory's turns): the slot is
// parked between turns and only the new context is prefilled, and the output is exactly the
// output without reuse — on the scripted fake model and on the real tiny Policy.
#include <gtest/gtest.h>

#include <algorithm>
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

using testing::Enc;

// Prompts in a canonical order (reuse changes the admission order, not the prompts).
std::vector<std::vector<TokenId>> Sorted(std::vector<std::vector<TokenId>> v) {
  std::sort(v.begin(), v.end());
  return v;
}

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

class KvReuseTest : public ::testing::Test {
 protected:
  std::unique_ptr<model::CharTokenizer> tok_ = model::CharTokenizer::CreateDefault();

  GenerationRequest Req(uint64_t id, std::vector<TokenId> prompt, uint64_t session, uint64_t seed, int64_t max_new) {
    GenerationRequest r;
    r.id = id;
    r.prompt = std::move(prompt);
    r.sampling = model::SamplingParams{1.0, 0, 1.0, seed};
    r.max_new_tokens = max_new;
    r.session = session;
    return r;
  }

  // Three sessions of three turns each, interleaved with one-shot companions, on `model`.
  // Turn k+1's prompt = turn k's prompt + its output + a fixed instruction. Returns each
  // generation's result by (session, turn) and leaves the generator's stats in *stats.
  std::map<std::pair<uint64_t, int>, GenerationResult> Conversations(StepModel& model, bool reuse,
                                                                     GeneratorStats* stats) {
    Generator g(model, *tok_, GeneratorOptions{true, true, reuse});
    std::map<uint64_t, std::vector<TokenId>> history;
    std::map<uint64_t, int> turn;
    const auto instruction = Enc(*tok_, "\nuser: check it\nassistant: ");
    for (uint64_t s = 1; s <= 3; ++s) {
      history[s] = Enc(*tok_, "question " + std::to_string(s) + ": 1+" + std::to_string(s) + "=");
      turn[s] = 0;
      g.Submit(Req(s * 100, history[s], s, 7 * s, 4 + static_cast<int64_t>(s)));
      g.Submit(Req(900 + s, Enc(*tok_, "companion " + std::to_string(s)), 0, 50 + s, 3 * static_cast<int64_t>(s)));
    }
    std::map<std::pair<uint64_t, int>, GenerationResult> out;
    while (!g.Idle()) {
      for (auto& r : g.Step()) {
        if (r.id >= 900) continue;
        const uint64_t s = r.id / 100;
        EXPECT_NE(r.finish, GenFinish::kError) << r.error;
        auto& h = history[s];
        h.insert(h.end(), r.tokens.begin(), r.tokens.end());
        h.insert(h.end(), instruction.begin(), instruction.end());
        out[{s, turn[s]}] = r;
        if (++turn[s] < 3) {
          g.Submit(Req(s * 100 + static_cast<uint64_t>(turn[s]), h, s, 7 * s + static_cast<uint64_t>(turn[s]), 5));
        } else {
          g.EndSession(s);
        }
      }
    }
    EXPECT_EQ(g.parked(), 0);
    *stats = g.stats();
    return out;
  }
};

TEST_F(KvReuseTest, ScriptedModelSameTokensWithAndWithoutReuse) {
  // No plan: the fake's logits depend only on each slot's full token history, so seeded
  // sampling gives the same tokens iff the model saw the same history.
  ScriptedStepModel::Options o{4, 512, 101, std::nullopt};
  ScriptedStepModel with(o, nullptr), without(o, nullptr);
  GeneratorStats sw, so;
  auto a = Conversations(with, true, &sw);
  auto b = Conversations(without, false, &so);
  ASSERT_EQ(a.size(), 9u);
  ASSERT_EQ(b.size(), 9u);
  for (const auto& [key, r] : a) {
    EXPECT_EQ(r.tokens, b[key].tokens);
    EXPECT_EQ(r.logprobs, b[key].logprobs);
    EXPECT_EQ(b[key].reused_prompt_tokens, 0);
    if (key.second > 0) {
      EXPECT_GT(r.reused_prompt_tokens, 0) << "session " << key.first << " turn " << key.second;
    }
  }
  EXPECT_EQ(Sorted(with.prompts_seen()), Sorted(without.prompts_seen()));  // the same prompts, as the model saw them
  EXPECT_GT(sw.reused_prompt_tokens, 0);
  EXPECT_EQ(sw.prompt_tokens + sw.reused_prompt_tokens, so.prompt_tokens);
  EXPECT_EQ(sw.prefix_misses, 0);
  EXPECT_EQ(so.reused_prompt_tokens, 0);
}

TEST_F(KvReuseTest, ParkedTokensAreThePromptAndAllButTheLastGeneratedToken) {
  ScriptedStepModel m({1, 256, 101, std::nullopt}, nullptr);
  Generator g(m, *tok_);
  auto p = Enc(*tok_, "abc");
  g.Submit(Req(1, p, 5, 1, 4));
  auto first = g.RunToCompletion();
  ASSERT_EQ(first.size(), 1u);
  ASSERT_EQ(first[0].tokens.size(), 4u);
  EXPECT_EQ(g.parked(), 1);
  EXPECT_EQ(m.SlotLength(0), static_cast<int64_t>(p.size() + 3));
  auto next = p;
  next.insert(next.end(), first[0].tokens.begin(), first[0].tokens.end());
  next.push_back(Enc(*tok_, "!")[0]);
  g.Submit(Req(2, next, 5, 2, 2));
  auto second = g.RunToCompletion();
  ASSERT_EQ(second.size(), 1u);
  EXPECT_EQ(second[0].reused_prompt_tokens, static_cast<int64_t>(p.size() + 3));
  EXPECT_EQ(g.stats().prompt_tokens, static_cast<int64_t>(p.size() + 2));  // "abc", then last token + "!"
  g.EndSession(5);
  EXPECT_EQ(g.parked(), 0);
  EXPECT_EQ(m.SlotLength(0), 0);
}

TEST_F(KvReuseTest, NonPrefixPromptResetSlotAndOtherWorkEvictsParkedSlots) {
  ScriptedStepModel m({1, 256, 101, std::nullopt}, nullptr);
  Generator g(m, *tok_);
  g.Submit(Req(1, Enc(*tok_, "abc"), 5, 1, 3));
  (void)g.RunToCompletion();
  // Same session, a prompt that does not extend the parked tokens: full prefill.
  g.Submit(Req(2, Enc(*tok_, "xyz"), 5, 1, 3));
  auto r = g.RunToCompletion();
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].reused_prompt_tokens, 0);
  EXPECT_EQ(g.stats().prefix_misses, 1);
  EXPECT_EQ(m.prompts_seen().back(), Enc(*tok_, "xyz"));
  // The only slot is parked for session 5; other work must not wait for EndSession.
  EXPECT_EQ(g.parked(), 1);
  g.Submit(Req(3, Enc(*tok_, "other"), 0, 1, 2));
  auto o = g.RunToCompletion();
  ASSERT_EQ(o.size(), 1u);
  EXPECT_EQ(o[0].tokens.size(), 2u);
  EXPECT_EQ(g.stats().evictions, 1);
  EXPECT_EQ(g.parked(), 0);
  EXPECT_EQ(m.prompts_seen().back(), Enc(*tok_, "other"));
}

TEST_F(KvReuseTest, RealPolicySameOutputWithAndWithoutReuse) {
  model::Policy policy = TinyPolicy();
  for (double waste : {0.0, 1.0}) {  // prefill split from decode, or padded together
    PolicyStepModelOptions o;
    o.num_slots = 3;
    o.max_seq_len = 160;
    o.max_padding_waste = waste;
    PolicyStepModel with(policy, o), without(policy, o);
    GeneratorStats sw, so;
    auto a = Conversations(with, true, &sw);
    auto b = Conversations(without, false, &so);
    ASSERT_EQ(a.size(), 9u);
    EXPECT_GT(sw.reused_prompt_tokens, 0);
    for (const auto& [key, r] : a) {
      SCOPED_TRACE("session " + std::to_string(key.first) + " turn " + std::to_string(key.second));
      EXPECT_EQ(r.tokens, b[key].tokens);
      ASSERT_EQ(r.logprobs.size(), b[key].logprobs.size());
      for (size_t k = 0; k < r.logprobs.size(); ++k) EXPECT_NEAR(r.logprobs[k], b[key].logprobs[k], 1e-4);
    }
  }
}

// The engine's trajectories with reuse_kv on and off, for multi-turn protocols.
std::vector<EpisodeResult> RunEngine(StepModel& model, const model::Tokenizer& tok, bool reuse, double temperature,
                                     GeneratorStats* stats) {
  Generator g(model, tok);
  ProtocolOptions po;
  po.max_turns = 3;
  RolloutEngine engine(g, tok, po);
  engine.reuse_kv = reuse;
  for (int i = 0; i < 6; ++i) {
    proto::GenerateRequest r;
    r.prompt_text = "What is " + std::to_string(i) + "+" + std::to_string(2 * i) + "?";
    r.protocol = i % 2 == 0 ? "self_correct" : "two_turn";
    r.forced_verdict = proto::Verdict::kWrong;  // forces a second turn even on a random model
    r.sampling.temperature = static_cast<float>(temperature);
    r.sampling.seed = 100 + static_cast<uint64_t>(i);
    r.sampling.max_new_tokens = 24;
    // Half the vocabulary stops a generation (an attempt cut off by length would end the
    // trajectory), so the random model's turns end after a few tokens and later turns run.
    for (int32_t t = 4; t < 101; t += 2) r.sampling.stop_token_ids.push_back(t);
    r.prompt_id = i;
    EXPECT_TRUE(engine.Submit(r, 1).ok());
  }
  auto out = engine.RunToCompletion();
  std::sort(out.begin(), out.end(),
            [](const EpisodeResult& a, const EpisodeResult& b) { return a.trajectory.prompt_id < b.trajectory.prompt_id; });
  EXPECT_EQ(g.parked(), 0);
  *stats = g.stats();
  return out;
}

void ExpectSameTrajectories(const std::vector<EpisodeResult>& a, const std::vector<EpisodeResult>& b, double lp_tol) {
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    SCOPED_TRACE("trajectory " + std::to_string(i));
    const auto& x = a[i].trajectory;
    const auto& y = b[i].trajectory;
    EXPECT_TRUE(proto::Validate(proto::Message(x)).ok());
    EXPECT_EQ(x.token_ids, y.token_ids);
    EXPECT_EQ(x.trainable_mask, y.trainable_mask);
    EXPECT_EQ(x.segments.size(), y.segments.size());
    EXPECT_EQ(x.turn_answers, y.turn_answers);
    ASSERT_EQ(x.logprobs.size(), y.logprobs.size());
    for (size_t k = 0; k < x.logprobs.size(); ++k) EXPECT_NEAR(x.logprobs[k], y.logprobs[k], lp_tol);
  }
}

TEST_F(KvReuseTest, EngineTrajectoriesIdenticalWithReuseOnScriptedModel) {
  ScriptedStepModel::Options o{3, 2048, 101, std::nullopt};
  ScriptedStepModel with(o, nullptr), without(o, nullptr);
  GeneratorStats sw, so;
  auto a = RunEngine(with, *tok_, true, 1.0, &sw);
  auto b = RunEngine(without, *tok_, false, 1.0, &so);
  ExpectSameTrajectories(a, b, 0.0);
  EXPECT_EQ(Sorted(with.prompts_seen()), Sorted(without.prompts_seen()));
  EXPECT_GT(sw.reused_prompt_tokens, 0);
  EXPECT_EQ(sw.prompt_tokens + sw.reused_prompt_tokens, so.prompt_tokens);
}

TEST_F(KvReuseTest, EngineTrajectoriesIdenticalWithReuseOnRealPolicy) {
  model::Policy policy = TinyPolicy();
  PolicyStepModelOptions o;
  o.num_slots = 4;
  o.max_seq_len = 1024;
  for (double temperature : {0.0, 1.0}) {
    SCOPED_TRACE("temperature " + std::to_string(temperature));
    PolicyStepModel with(policy, o), without(policy, o);
    GeneratorStats sw, so;
    auto a = RunEngine(with, *tok_, true, temperature, &sw);
    auto b = RunEngine(without, *tok_, false, temperature, &so);
    ExpectSameTrajectories(a, b, 1e-4);
    EXPECT_EQ(sw.prompt_tokens + sw.reused_prompt_tokens, so.prompt_tokens);
    if (temperature > 0) {
      // Sampled turns end early (stop tokens), so self_correct trajectories reach a second
      // turn, which reuses the first: the system prompt and question alone are > 100 tokens.
      // (Greedy decoding of the random model may repeat one non-stop token until cut off.)
      EXPECT_GT(sw.reused_prompt_tokens, 3 * 100);
    }
  }
}

}  // namespace
}  // namespace scorch::rollout
