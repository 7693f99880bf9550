// The orchestrator's SFT demonstrations (sft_demos.h) must have exactly the token layout the
// rollout worker's self_correct protocol produces when the model writes the same text: a
// scripted model "writes" each generated segment of a demonstration and the rollout engine's
// trajectory is compared with the demonstration token for token, segment for segment.
#include <gtest/gtest.h>

#include <algorithm>

#include "scorch/model/char_tokenizer.h"
#include "scorch/orchestrator/sft_demos.h"
#include "scorch/orchestrator/synthetic_task.h"
#include "scorch/rollout/generator.h"
#include "scorch/rollout/rollout_engine.h"
#include "scorch/rollout/scripted_step_model.h"

namespace scorch {
namespace {

model::PromptTexts Short() {
  model::PromptTexts t;
  t.srr_system_prompt = "Solve step by step.";
  t.srr_user_suffix = " Box the answer.";
  t.self_eval_instruction = "Check it.";
  t.correction_instruction = "Fix it.";
  return t;
}

void ExpectSameLayout(const proto::Trajectory& demo, const model::Tokenizer& tok, const std::string& problem) {
  // The model's plan for a generation: the demo's next trainable segment after the history.
  rollout::ScriptedStepModel::Options mo;
  mo.vocab_size = 512;
  mo.num_slots = 2;
  mo.fallback_token = tok.TokenToId("<|im_end|>");
  rollout::ScriptedStepModel model(mo, [&demo](std::span<const model::TokenId> prompt) {
    std::vector<model::TokenId> plan;
    if (prompt.size() > demo.token_ids.size() ||
        !std::equal(prompt.begin(), prompt.end(), demo.token_ids.begin())) {
      return plan;
    }
    for (const auto& s : demo.segments) {
      if (s.begin == static_cast<int32_t>(prompt.size()) &&
          (s.kind == proto::SegmentKind::kAttempt || s.kind == proto::SegmentKind::kVerify)) {
        plan.assign(demo.token_ids.begin() + s.begin, demo.token_ids.begin() + s.end);
      }
    }
    return plan;
  });
  rollout::Generator generator(model, tok);
  rollout::ProtocolOptions po;
  po.max_turns = 2;
  po.texts = Short();
  rollout::RolloutEngine engine(generator, tok, po);
  proto::GenerateRequest r;
  r.prompt_text = problem;
  r.protocol = "self_correct";
  r.sampling.temperature = 0.0f;
  r.sampling.max_new_tokens = 200;
  ASSERT_TRUE(engine.Submit(r, 0).ok());
  auto results = engine.RunToCompletion();
  ASSERT_EQ(results.size(), 1u);
  const proto::Trajectory& got = results[0].trajectory;
  ASSERT_EQ(got.segments.size(), demo.segments.size());
  for (size_t i = 0; i < got.segments.size(); ++i) {
    EXPECT_EQ(got.segments[i].kind, demo.segments[i].kind) << i;
    EXPECT_EQ(got.segments[i].turn, demo.segments[i].turn) << i;
    EXPECT_EQ(got.segments[i].begin, demo.segments[i].begin) << i;
    EXPECT_EQ(got.segments[i].end, demo.segments[i].end) << i;
    EXPECT_EQ(got.segments[i].text, demo.segments[i].text) << i;
  }
  EXPECT_EQ(got.token_ids, demo.token_ids);
  EXPECT_EQ(got.trainable_mask, demo.trainable_mask);
  EXPECT_EQ(got.turn_answers, demo.turn_answers);
}

TEST(DemoLayoutTest, SelfCorrectDemosMatchTheRolloutProtocol) {
  auto tok = model::CharTokenizer::CreateDefault();
  orchestrator::SyntheticTaskOptions options;
  options.word_problems = false;
  orchestrator::SyntheticTask task(7, options);
  for (int i = 0; i < 6; ++i) {
    const auto prompt = task.Get(orchestrator::Split::kTrain, i);
    orchestrator::DemoOptions o;
    o.wrong_first_attempt = i % 2 == 1;
    o.seed = static_cast<uint64_t>(i);
    auto demo = orchestrator::BuildDemonstration(*tok, Short(), prompt, o);
    ASSERT_TRUE(demo.ok()) << demo.status();
    SCOPED_TRACE(prompt.problem + (o.wrong_first_attempt ? " (corrected)" : " (direct)"));
    ExpectSameLayout(*demo, *tok, prompt.problem);
  }
}

}  // namespace
}  // namespace scorch
