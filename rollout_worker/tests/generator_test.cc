// Generator tests over the scripted fake model: stopping rules, continuous batching and slot
// refill, static batching, per-request seeds, and bad requests.
#include "scorch/rollout/generator.h"

#include <gtest/gtest.h>

#include <map>

#include "scorch/model/char_tokenizer.h"
#include "test_support.h"

namespace scorch::rollout {
namespace {

using testing::Dec;
using testing::Enc;

class GeneratorTest : public ::testing::Test {
 protected:
  std::unique_ptr<model::CharTokenizer> tok_ = model::CharTokenizer::CreateDefault();
  TokenId im_end_ = *tok_->TokenToId("<|im_end|>");

  // Script: prompt "<n>:" continues with n copies of 'x' then <|im_end|>.
  ScriptedStepModel::Script Repeat() {
    return [this](std::span<const TokenId> prompt) {
      std::string p = Dec(*tok_, prompt);
      int n = std::stoi(p.substr(0, p.find(':')));
      auto plan = Enc(*tok_, std::string(static_cast<size_t>(n), 'x'));
      plan.push_back(im_end_);
      return plan;
    };
  }

  GenerationRequest Req(uint64_t id, const std::string& prompt, int64_t max_new = 100) {
    GenerationRequest r;
    r.id = id;
    r.prompt = Enc(*tok_, prompt);
    r.sampling.temperature = 0.0;
    r.max_new_tokens = max_new;
    r.stop_token_ids = {im_end_};
    return r;
  }
};

TEST_F(GeneratorTest, StopTokenLengthAndLogprobs) {
  ScriptedStepModel m({2, 64, 101, im_end_}, Repeat());
  Generator g(m, *tok_);
  g.Submit(Req(1, "3:"));
  g.Submit(Req(2, "9:", /*max_new=*/4));
  std::map<uint64_t, GenerationResult> by_id;
  for (auto& r : g.RunToCompletion()) by_id[r.id] = r;
  ASSERT_EQ(by_id.size(), 2u);
  const auto& a = by_id[1];
  EXPECT_EQ(a.finish, GenFinish::kStopToken);
  EXPECT_EQ(a.tokens.size(), 4u);  // xxx + <|im_end|>, the stop token kept
  EXPECT_EQ(a.tokens.back(), im_end_);
  EXPECT_EQ(a.text, "xxx");      // its text is not
  ASSERT_EQ(a.logprobs.size(), 4u);
  for (float lp : a.logprobs) EXPECT_NEAR(lp, 0.0f, 1e-6);
  const auto& b = by_id[2];
  EXPECT_EQ(b.finish, GenFinish::kLength);
  EXPECT_EQ(b.text, "xxxx");
  EXPECT_TRUE(g.Idle());
}

TEST_F(GeneratorTest, StopStringSplitAcrossTokensIsCutAfterTheString) {
  // Every character is one token, so "[VERIFY] wrong." spans 15 tokens.
  ScriptedStepModel m({1, 128, 101, im_end_}, testing::SuffixScript(*tok_, {{"q:", "so [VERIFY] wrong. extra"}}));
  Generator g(m, *tok_);
  auto r = Req(1, "q:");
  r.stop_strings = {"[VERIFY] correct.", "[VERIFY] wrong."};
  g.Submit(r);
  auto out = g.RunToCompletion();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].finish, GenFinish::kStopString);
  EXPECT_EQ(*out[0].matched_stop, "[VERIFY] wrong.");
  EXPECT_EQ(out[0].text, "so [VERIFY] wrong.");
  EXPECT_EQ(Dec(*tok_, out[0].tokens), "so [VERIFY] wrong.");  // stopped at the completing token
  EXPECT_EQ(out[0].text_overflow, "");
}

TEST_F(GeneratorTest, StopStringCompletedMidTokenKeepsTheTokenAndCutsTheText) {
  // A vocabulary where one token "ng.\nZZ" completes "wrong." and carries "\nZZ" past it.
  auto tok = model::CharTokenizer::Create({"<|endoftext|>", "<|im_start|>", "<|im_end|>", "ng.\nZZ"},
                                          "abcdefghijklmnopqrstuvwxyz[]. :\nZ",
                                          model::CharTokenizer::Roles{"<|im_end|>", "", ""});
  ASSERT_TRUE(tok.ok()) << tok.status();
  const model::Tokenizer& t = **tok;
  std::vector<TokenId> plan = Enc(t, "[verify] wro");
  plan.push_back(*t.TokenToId("ng.\nZZ"));
  for (TokenId x : Enc(t, "abc")) plan.push_back(x);
  ScriptedStepModel m({1, 64, t.vocab_size(), 0}, [&](std::span<const TokenId>) { return plan; });
  Generator g(m, t);
  GenerationRequest r;
  r.prompt = Enc(t, "q:");
  r.sampling.temperature = 0.0;
  r.stop_strings = {"wrong."};
  g.Submit(r);
  auto out = g.RunToCompletion();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].finish, GenFinish::kStopString);
  EXPECT_EQ(out[0].tokens.size(), 13u);  // 12 characters + the completing token, nothing after
  EXPECT_EQ(out[0].text, "[verify] wrong.");
  EXPECT_EQ(out[0].text_overflow, "\nZZ");
}

TEST_F(GeneratorTest, ContinuousBatchingRefillsAFreedSlotAtTheNextStep) {
  ScriptedStepModel m({2, 64, 101, im_end_}, Repeat());
  Generator g(m, *tok_);
  g.Submit(Req(1, "1:"));  // x, <|im_end|>: 2 tokens, finishes at step 2
  g.Submit(Req(2, "5:"));  // 6 tokens
  g.Submit(Req(3, "1:"));
  int step = 0;
  std::map<uint64_t, int> finished_at;
  while (!g.Idle()) {
    ++step;
    for (auto& r : g.Step()) finished_at[r.id] = step;
  }
  EXPECT_EQ(finished_at[1], 2);
  EXPECT_EQ(finished_at[3], 4);  // admitted at step 3 (prefill beside request 2's decode)
  EXPECT_EQ(finished_at[2], 6);
  EXPECT_EQ(m.rows_per_call(), (std::vector<int64_t>{2, 2, 2, 2, 1, 1}));
  EXPECT_EQ(g.stats().steps, 6);
  EXPECT_EQ(g.stats().generated_tokens, 10);
}

TEST_F(GeneratorTest, StaticBatchingWaitsForTheWholeBatch) {
  ScriptedStepModel m({2, 64, 101, im_end_}, Repeat());
  Generator g(m, *tok_, GeneratorOptions{/*continuous=*/false});
  g.Submit(Req(1, "1:"));
  g.Submit(Req(2, "5:"));
  g.Submit(Req(3, "1:"));
  std::map<uint64_t, int> finished_at;
  int step = 0;
  while (!g.Idle()) {
    ++step;
    for (auto& r : g.Step()) finished_at[r.id] = step;
  }
  EXPECT_EQ(finished_at[2], 6);
  EXPECT_EQ(finished_at[3], 8);  // starts only after request 2 is done
  EXPECT_EQ(g.stats().steps, 8);
}

TEST_F(GeneratorTest, SameSeedSameTokensWhateverTheBatch) {
  // No plan: pseudo-random logits that depend only on the slot's own history.
  auto sampled = [&](uint64_t seed, int companions) {
    ScriptedStepModel m({4, 256, 101, std::nullopt}, nullptr);
    Generator g(m, *tok_);
    for (int c = 0; c < companions; ++c) {
      auto other = Req(100 + static_cast<uint64_t>(c), "other " + std::to_string(c), 5 + 7 * c);
      other.sampling = model::SamplingParams{0.8, 0, 1.0, 1000 + static_cast<uint64_t>(c)};
      g.Submit(other);
    }
    auto r = Req(1, "prompt:", 40);
    r.stop_token_ids.clear();
    r.sampling = model::SamplingParams{1.0, 20, 0.9, seed};
    g.Submit(r);
    for (auto& out : g.RunToCompletion()) {
      if (out.id == 1) return out.tokens;
    }
    return std::vector<TokenId>{};
  };
  auto alone = sampled(42, 0);
  ASSERT_EQ(alone.size(), 40u);
  EXPECT_EQ(sampled(42, 2), alone);
  EXPECT_EQ(sampled(42, 5), alone);  // more requests than slots: queued and refilled
  EXPECT_NE(sampled(43, 0), alone);
}

TEST_F(GeneratorTest, BadRequestsFinishWithErrorsWithoutTakingSlots) {
  ScriptedStepModel m({1, 8, 101, im_end_}, Repeat());
  Generator g(m, *tok_);
  GenerationRequest empty;
  empty.id = 1;
  g.Submit(empty);
  g.Submit(Req(2, "123456789"));  // does not fit an 8-token slot
  auto bad_sampling = Req(3, "1:");
  bad_sampling.sampling.top_p = 1.5;
  g.Submit(bad_sampling);
  auto bad_token = Req(4, "1:");
  bad_token.prompt.push_back(500);
  g.Submit(bad_token);
  auto zero = Req(5, "1:", 0);
  g.Submit(zero);
  g.Submit(Req(6, "2:"));  // fine: 2 prompt tokens + 3 new in an 8-token slot
  std::map<uint64_t, GenerationResult> by_id;
  for (auto& r : g.RunToCompletion()) by_id[r.id] = r;
  ASSERT_EQ(by_id.size(), 6u);
  for (uint64_t id = 1; id <= 5; ++id) {
    EXPECT_EQ(by_id[id].finish, GenFinish::kError) << id;
    EXPECT_FALSE(by_id[id].error.empty()) << id;
  }
  EXPECT_NE(by_id[2].error.find("no room"), std::string::npos) << by_id[2].error;
  EXPECT_NE(by_id[4].error.find("500"), std::string::npos) << by_id[4].error;
  EXPECT_EQ(by_id[6].finish, GenFinish::kStopToken);
  EXPECT_EQ(by_id[6].text, "xx");
}

TEST_F(GeneratorTest, SlotCapacityEndsWithLength) {
  ScriptedStepModel m({1, 6, 101, im_end_}, Repeat());
  Generator g(m, *tok_);
  g.Submit(Req(1, "9:"));  // 2 prompt tokens: 4 generated tokens fed back + the last sampled
  auto out = g.RunToCompletion();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].finish, GenFinish::kLength);
  EXPECT_EQ(out[0].tokens.size(), 5u);
}

}  // namespace
}  // namespace scorch::rollout
