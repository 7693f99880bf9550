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
  t.pcl_system_prompt = "Think, answer, then judge it.";
  return t;
}

// `wrong_first_attempt`: the demo's a¹ is a wrong attempt, which it keeps as context (D1's mask,
// ALGORITHMS §4.4) where the rollout marks everything it generated trainable.
void ExpectSameLayout(const proto::Trajectory& demo, const model::Tokenizer& tok, const std::string& problem,
                      const std::string& protocol = "self_correct", bool compare_masks = true,
                      bool wrong_first_attempt = false) {
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
          (s.kind == proto::SegmentKind::kAttempt || s.kind == proto::SegmentKind::kVerify ||
           s.kind == proto::SegmentKind::kEvaluation)) {
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
  r.protocol = protocol;
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
  if (compare_masks) {
    std::vector<uint8_t> expected = got.trainable_mask;
    const proto::Segment& a1 = got.segments[1];
    ASSERT_EQ(a1.kind, proto::SegmentKind::kAttempt);
    if (wrong_first_attempt) std::fill(expected.begin() + a1.begin, expected.begin() + a1.end, uint8_t{0});
    EXPECT_EQ(demo.trainable_mask, expected);
  }
  EXPECT_EQ(got.turn_answers, demo.turn_answers);
}

// Six bare-arithmetic training problems of the synthetic task, every other one demonstrated with
// a wrong first attempt.
struct DemoCase {
  orchestrator::Prompt prompt;
  orchestrator::DemoOptions options;
};
std::vector<DemoCase> Cases(const std::string& protocol) {
  orchestrator::SyntheticTaskOptions options;
  options.word_problems = false;
  orchestrator::SyntheticTask task(7, options);
  std::vector<DemoCase> out;
  for (int i = 0; i < 6; ++i) {
    DemoCase c{task.Get(orchestrator::Split::kTrain, i), {}};
    c.options.protocol = protocol;
    c.options.wrong_first_attempt = i % 2 == 1;
    c.options.seed = static_cast<uint64_t>(i);
    out.push_back(std::move(c));
  }
  return out;
}

// Bare verdicts and verdicts after verification reasoning (recheck): the rollout must read the
// same verdict the demo gives, or its turns would differ.
TEST(DemoLayoutTest, SelfCorrectDemosMatchTheRolloutProtocol) {
  auto tok = model::CharTokenizer::CreateDefault();
  for (bool recheck : {false, true}) {
    for (auto [prompt, o] : Cases("self_correct")) {
      o.recheck = recheck;
      auto demo = orchestrator::BuildDemonstration(*tok, Short(), prompt, o);
      ASSERT_TRUE(demo.ok()) << demo.status();
      SCOPED_TRACE(prompt.problem + (o.wrong_first_attempt ? " (corrected)" : " (direct)") +
                   (recheck ? ", recheck" : ""));
      ExpectSameLayout(*demo, *tok, prompt.problem, "self_correct", true, o.wrong_first_attempt);
    }
  }
}

TEST(DemoLayoutTest, PostCompletionDemosMatchTheTrainingProtocol) {
  auto tok = model::CharTokenizer::CreateDefault();
  for (const auto& [prompt, o] : Cases("post_completion")) {
    auto demo = orchestrator::BuildDemonstration(*tok, Short(), prompt, o);
    ASSERT_TRUE(demo.ok()) << demo.status();
    SCOPED_TRACE(prompt.problem + (o.wrong_first_attempt ? " (wrong, judged wrong)" : " (right)"));
    ASSERT_EQ(demo->segments.size(), 3u);
    EXPECT_EQ(demo->segments[2].kind, proto::SegmentKind::kEvaluation);
    EXPECT_NE(demo->segments[2].text.find(o.wrong_first_attempt ? "<reward>[0, 1]</reward>" : "<reward>[1, 1]</reward>"),
              std::string::npos)
        << demo->segments[2].text;
    // A wrong answer is context: only its evaluation trains.
    const auto& a = demo->segments[1];
    for (int32_t k = a.begin; k < a.end; ++k) {
      EXPECT_EQ(demo->trainable_mask[static_cast<size_t>(k)], o.wrong_first_attempt ? 0 : 1);
    }
    // The training protocol writes the same tokens when the model writes the same text (the
    // attempt stops at the POST marker, the evaluation follows in the same assistant turn).
    ExpectSameLayout(*demo, *tok, prompt.problem, "post_completion_train", !o.wrong_first_attempt);
  }
}

}  // namespace
}  // namespace scorch
