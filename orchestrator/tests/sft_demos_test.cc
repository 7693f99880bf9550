// SFT demonstrations (layout, masks, the final-step slip) and the collected-sets JSONL round trip.
#include "scorch/orchestrator/sft_demos.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <span>

#include "scorch/common/proto/message.h"
#include "scorch/common/testing/temp_dir.h"
#include "scorch/model/char_tokenizer.h"
#include "scorch/orchestrator/collected_data.h"
#include "scorch/orchestrator/synthetic_task.h"

namespace scorch::orchestrator {
namespace {

using proto::SegmentKind;

Prompt Example() {
  Prompt p;
  p.id = "x";
  p.problem = "Compute 12 + 7 - 5.";
  p.answer = "14";
  p.solution = "12 + 7 = 19. 19 - 5 = 14. The answer is \\boxed{14}.";
  return p;
}

model::PromptTexts Short() {
  model::PromptTexts t;
  t.srr_system_prompt = "Solve.";
  t.srr_user_suffix = " Box it.";
  t.self_eval_instruction = "Check it.";
  t.correction_instruction = "Fix it.";
  return t;
}

std::vector<SegmentKind> Kinds(const proto::Trajectory& t) {
  std::vector<SegmentKind> k;
  for (const auto& s : t.segments) k.push_back(s.kind);
  return k;
}

TEST(SftDemosTest, CorruptFinalStepChangesOnlyTheLastResultAndTheBox) {
  auto wrong = CorruptFinalStep(Example().solution, "14", 3);
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  EXPECT_EQ(wrong->rfind("12 + 7 = 19. 19 - 5 = ", 0), 0u) << *wrong;
  EXPECT_EQ(wrong->find("\\boxed{14}"), std::string::npos) << *wrong;
  const size_t box = wrong->find("\\boxed{");
  const std::string boxed = wrong->substr(box + 7, wrong->find('}', box) - box - 7);
  EXPECT_NE(wrong->find("= " + boxed + "."), std::string::npos) << *wrong;
  EXPECT_FALSE(CorruptFinalStep("no box here", "14", 1).ok());
}

TEST(SftDemosTest, DirectDemoIsAttemptThenCorrectVerdict) {
  auto tok = model::CharTokenizer::CreateDefault();
  DemoOptions o;
  auto t = BuildDemonstration(*tok, Short(), Example(), o);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(Kinds(*t), (std::vector<SegmentKind>{SegmentKind::kPrompt, SegmentKind::kAttempt,
                                                 SegmentKind::kInstruction, SegmentKind::kVerify}));
  EXPECT_EQ(t->segments[3].text, "[VERIFY] correct.");
  EXPECT_EQ(t->segments[1].text, Example().solution + "<|im_end|>");
  EXPECT_EQ(t->turn_answers, (std::vector<std::string>{"14"}));
  for (const auto& s : t->segments) {
    const bool trained = s.kind == SegmentKind::kAttempt || s.kind == SegmentKind::kVerify;
    for (int32_t i = s.begin; i < s.end; ++i) EXPECT_EQ(t->trainable_mask[static_cast<size_t>(i)], trained ? 1 : 0);
  }
  EXPECT_TRUE(proto::Validate(proto::Message(*t)).ok());
  // The instruction re-opens a user turn after the model's <|im_end|>.
  EXPECT_EQ(t->segments[2].text, "\n<|im_start|>user\nCheck it.<|im_end|>\n<|im_start|>assistant\n");
}

TEST(SftDemosTest, CorrectedDemoHasWrongVerdictThenCorrection) {
  auto tok = model::CharTokenizer::CreateDefault();
  DemoOptions o;
  o.wrong_first_attempt = true;
  o.seed = 11;
  auto t = BuildDemonstration(*tok, Short(), Example(), o);
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(Kinds(*t),
            (std::vector<SegmentKind>{SegmentKind::kPrompt, SegmentKind::kAttempt, SegmentKind::kInstruction,
                                      SegmentKind::kVerify, SegmentKind::kInstruction, SegmentKind::kAttempt,
                                      SegmentKind::kInstruction, SegmentKind::kVerify}));
  EXPECT_EQ(t->segments[3].text, "[VERIFY] wrong.");
  EXPECT_EQ(t->segments[7].text, "[VERIFY] correct.");
  // After a verdict (no <|im_end|> emitted) the protocol closes the assistant turn itself.
  EXPECT_EQ(t->segments[4].text, "<|im_end|>\n<|im_start|>user\nFix it.<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(t->segments[5].turn, 1);
  ASSERT_EQ(t->turn_answers.size(), 2u);
  EXPECT_NE(t->turn_answers[0], "14");
  EXPECT_EQ(t->turn_answers[1], "14");
  // D1's mask (ALGORITHMS §4.4): the wrong a¹ is context; the verdicts and a² train.
  for (size_t k = 0; k < t->segments.size(); ++k) {
    const auto& s = t->segments[k];
    const bool trained = k == 3 || k == 5 || k == 7;
    for (int32_t i = s.begin; i < s.end; ++i) {
      EXPECT_EQ(t->trainable_mask[static_cast<size_t>(i)], trained ? 1 : 0) << "segment " << k;
    }
  }
  EXPECT_TRUE(proto::Validate(proto::Message(*t)).ok());
}

// With recheck, each verdict first works the problem again (free-form verification reasoning,
// ALGORITHMS §1.1): the right steps, also after a wrong a¹, then the judged answer restated, so
// the verdict compares two numbers written just before it. The reasoning trains with its verdict.
TEST(SftDemosTest, RecheckVerdictsWorkTheStepsAgainFirst) {
  auto tok = model::CharTokenizer::CreateDefault();
  DemoOptions o;
  o.recheck = true;
  auto direct = BuildDemonstration(*tok, Short(), Example(), o);
  ASSERT_TRUE(direct.ok()) << direct.status();
  ASSERT_EQ(direct->segments.size(), 4u);
  EXPECT_EQ(direct->segments[3].text, "12 + 7 = 19. 19 - 5 = 14. Boxed 14. [VERIFY] correct.");

  o.wrong_first_attempt = true;
  o.seed = 11;
  auto corrected = BuildDemonstration(*tok, Short(), Example(), o);
  ASSERT_TRUE(corrected.ok()) << corrected.status();
  ASSERT_EQ(corrected->segments.size(), 8u);
  EXPECT_EQ(corrected->segments[1].text.find("= 14."), std::string::npos) << corrected->segments[1].text;
  EXPECT_EQ(corrected->segments[3].text,
            "12 + 7 = 19. 19 - 5 = 14. Boxed " + corrected->turn_answers[0] + ". [VERIFY] wrong.");
  EXPECT_EQ(corrected->segments[7].text, "12 + 7 = 19. 19 - 5 = 14. Boxed 14. [VERIFY] correct.");
  for (size_t k : {size_t{3}, size_t{7}}) {
    const auto& s = corrected->segments[k];
    for (int32_t i = s.begin; i < s.end; ++i) EXPECT_EQ(corrected->trainable_mask[static_cast<size_t>(i)], 1) << k;
  }
  EXPECT_TRUE(proto::Validate(proto::Message(*corrected)).ok());

  // Without recheck the verdict is bare, as before.
  o.recheck = false;
  auto bare = BuildDemonstration(*tok, Short(), Example(), o);
  ASSERT_TRUE(bare.ok()) << bare.status();
  EXPECT_EQ(bare->segments[3].text, "[VERIFY] wrong.");
}

// With verdict_only, the "[VERIFY] …" strings are the only trainable tokens: every attempt,
// correction and verification step is context, so the verdicts carry the whole loss.
TEST(SftDemosTest, VerdictOnlyTrainsJustTheVerdictStrings) {
  auto tok = model::CharTokenizer::CreateDefault();
  for (bool recheck : {false, true}) {
    DemoOptions o;
    o.recheck = recheck;
    o.verdict_only = true;
    o.wrong_first_attempt = true;
    o.seed = 11;
    auto t = BuildDemonstration(*tok, Short(), Example(), o);
    ASSERT_TRUE(t.ok()) << t.status();
    std::string trained;
    for (size_t i = 0; i < t->token_ids.size(); ++i) {
      if (t->trainable_mask[i] == 1) trained += *tok->Decode(std::span(&t->token_ids[i], 1));
    }
    EXPECT_EQ(trained, "[VERIFY] wrong.[VERIFY] correct.") << "recheck " << recheck;
    // The tokens are those of the full demonstration: only the mask differs.
    o.verdict_only = false;
    auto full = BuildDemonstration(*tok, Short(), Example(), o);
    ASSERT_TRUE(full.ok()) << full.status();
    EXPECT_EQ(t->token_ids, full->token_ids);
    EXPECT_EQ(t->segments, full->segments);
    EXPECT_TRUE(proto::Validate(proto::Message(*t)).ok());
  }
}

// A stage's demonstrations draw a wrong first attempt and verdict-only training independently,
// each at its configured share, and the wrong-attempt draw is the one earlier runs used.
TEST(SftDemosTest, StageDemoOptionsDrawEachShareIndependently) {
  config::StageConfig stage;
  stage.protocol = "self_correct";
  stage.demo_recheck = true;
  stage.demo_wrong_fraction = 0.3;
  stage.demo_verdict_only_fraction = 0.6;
  const int n = 20000;
  int wrong = 0, verdict_only = 0, both = 0;
  for (uint64_t seed = 0; seed < static_cast<uint64_t>(n); ++seed) {
    const DemoOptions o = StageDemoOptions(stage, seed * 7919 + 13);
    EXPECT_TRUE(o.recheck);
    EXPECT_EQ(o.seed, seed * 7919 + 13);
    EXPECT_EQ(o.wrong_first_attempt, static_cast<double>(o.seed % 10000) < 3000.0);
    wrong += o.wrong_first_attempt;
    verdict_only += o.verdict_only;
    both += o.wrong_first_attempt && o.verdict_only;
  }
  EXPECT_NEAR(wrong / double(n), 0.3, 0.02);
  EXPECT_NEAR(verdict_only / double(n), 0.6, 0.02);
  EXPECT_NEAR(both / double(n), 0.18, 0.02);  // independent: 0.3 × 0.6
  // The ends of the range are exact, and single_turn demonstrations have no verdict to isolate.
  stage.demo_verdict_only_fraction = 1.0;
  EXPECT_TRUE(StageDemoOptions(stage, 5).verdict_only);
  stage.demo_verdict_only_fraction = 0.0;
  EXPECT_FALSE(StageDemoOptions(stage, 5).verdict_only);
  stage.protocol = "single_turn";
  stage.demo_verdict_only_fraction = 1.0;
  EXPECT_FALSE(StageDemoOptions(stage, 5).verdict_only);
  EXPECT_FALSE(StageDemoOptions(stage, 5).wrong_first_attempt);
}

// PCL's dual tracks (ALGORITHMS §4.5): the reason sample trains only its attempt, the eval
// sample only its evaluation (a wrong attempt is context); a zero-weight track is left out.
TEST(SftDemosTest, PclTrackSamplesTrainOneSegmentKindEach) {
  auto tok = model::CharTokenizer::CreateDefault();
  model::PromptTexts texts = Short();
  texts.pcl_system_prompt = "Think, answer, judge.";
  PclTrackOptions o;
  o.reason_weight = 1.0;
  o.eval_weight = 0.5;
  o.wrong_eval_attempt = true;
  o.seed = 3;
  auto samples = PclTrackSamples(*tok, texts, Example(), o);
  ASSERT_TRUE(samples.ok()) << samples.status();
  ASSERT_EQ(samples->size(), 2u);
  const proto::TrainSample& reason = (*samples)[0];
  const proto::TrainSample& eval = (*samples)[1];
  EXPECT_EQ(reason.sft_track, "reason");
  EXPECT_EQ(eval.sft_track, "eval");
  EXPECT_EQ(eval.sft_weight, 0.5);
  auto trained_kinds = [](const proto::Trajectory& t) {
    std::set<SegmentKind> kinds;
    for (const auto& s : t.segments) {
      for (int32_t i = s.begin; i < s.end; ++i) {
        if (t.trainable_mask[static_cast<size_t>(i)] != 0) kinds.insert(s.kind);
      }
    }
    return kinds;
  };
  EXPECT_EQ(trained_kinds(reason.trajectory), (std::set<SegmentKind>{SegmentKind::kAttempt}));
  EXPECT_EQ(trained_kinds(eval.trajectory), (std::set<SegmentKind>{SegmentKind::kEvaluation}));
  EXPECT_NE(reason.trajectory.segments[1].text.find("<answer>14</answer>"), std::string::npos);
  EXPECT_NE(eval.trajectory.segments.back().text.find("is wrong."), std::string::npos);  // judged a wrong attempt
  o.reason_weight = 0.0;
  auto only_eval = PclTrackSamples(*tok, texts, Example(), o);
  ASSERT_TRUE(only_eval.ok());
  ASSERT_EQ(only_eval->size(), 1u);
  EXPECT_EQ((*only_eval)[0].sft_track, "eval");
  o.protocol = "self_correct";
  EXPECT_FALSE(PclTrackSamples(*tok, texts, Example(), o).ok());
}

TEST(SftDemosTest, EverySyntheticProblemHasADemo) {
  auto tok = model::CharTokenizer::CreateDefault();
  SyntheticTaskOptions options;
  options.word_problems = false;
  SyntheticTask task(5, options);
  for (int64_t i = 0; i < 200; ++i) {
    DemoOptions o;
    o.wrong_first_attempt = i % 2 == 0;
    o.seed = static_cast<uint64_t>(i);
    auto t = BuildDemonstration(*tok, Short(), task.Get(Split::kTrain, i), o);
    ASSERT_TRUE(t.ok()) << i << ": " << t.status();
  }
}

TEST(CollectedDataTest, RoundTripAndLineNumberedErrors) {
  testing::TempDir dir;
  auto tok = model::CharTokenizer::CreateDefault();
  DemoOptions o;
  o.wrong_first_attempt = true;
  auto t = BuildDemonstration(*tok, Short(), Example(), o);
  ASSERT_TRUE(t.ok());
  t->prompt_id = 42;
  const auto path = dir / "data" / "collect.jsonl";
  ASSERT_TRUE(WriteCollected(path, {{"d1", "Compute 12 + 7 - 5.", "14", *t}}).ok());
  auto back = ReadCollected(path);
  ASSERT_TRUE(back.ok()) << back.status();
  ASSERT_EQ(back->size(), 1u);
  EXPECT_EQ((*back)[0].mask_rule, "srr_d1");
  EXPECT_EQ((*back)[0].trajectory.token_ids, t->token_ids);
  EXPECT_EQ((*back)[0].trajectory.segments, t->segments);
  EXPECT_EQ((*back)[0].trajectory.prompt_id, 42);

  {
    std::ofstream out(path, std::ios::app);
    out << "{\"set\": \"d9\"}\n";
  }
  auto bad = ReadCollected(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("collect.jsonl:2"), std::string::npos) << bad.status();
}

}  // namespace
}  // namespace scorch::orchestrator
