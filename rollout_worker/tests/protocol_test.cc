// Turn-protocol tests over the scripted fake model: exact segmentation, masking, stopping,
// malformed and forced verdicts, per-seed reproducibility, and version stamping.
#include "scorch/rollout/protocol.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <optional>

#include "scorch/common/proto/message.h"
#include "scorch/model/chat_template.h"
#include "scorch/rollout/rollout_engine.h"
#include "test_support.h"

namespace scorch::rollout {
namespace {

using proto::ChatRole;
using proto::FinishReason;
using proto::SegmentKind;
using proto::Verdict;
using testing::Dec;
using testing::Enc;

const std::string kAsst = "<|im_end|>\n<|im_start|>assistant\n";
const std::string kQ = "What is 2+3?";

std::string UserTurn(const std::string& instruction) { return "\n<|im_start|>user\n" + instruction + kAsst; }

struct Expected {
  ChatRole role;
  SegmentKind kind;
  int turn;
  std::string text;
};

class ProtocolTest : public ::testing::Test {
 protected:
  std::unique_ptr<model::CharTokenizer> tok_ = model::CharTokenizer::CreateDefault();

  std::vector<EpisodeResult> Run(std::vector<std::pair<std::string, std::string>> rules,
                                 std::vector<proto::GenerateRequest> requests, ProtocolOptions options = {},
                                 int64_t slots = 2) {
    model_ = std::make_unique<ScriptedStepModel>(ScriptedStepModel::Options{slots, 4096, 101, std::nullopt},
                                                 testing::SuffixScript(*tok_, std::move(rules)));
    gen_ = std::make_unique<Generator>(*model_, *tok_);
    RolloutEngine engine(*gen_, *tok_, options);
    for (const auto& r : requests) {
      Status s = engine.Submit(r, /*policy_version=*/7);
      EXPECT_TRUE(s.ok()) << s;
    }
    auto out = engine.RunToCompletion();
    for (const auto& e : out) {
      Status v = proto::Validate(proto::Message(e.trajectory));
      EXPECT_TRUE(v.ok()) << v;
      EXPECT_EQ(e.trajectory.policy_version, 7);
    }
    return out;
  }

  proto::GenerateRequest Request(const std::string& protocol) {
    proto::GenerateRequest r;
    r.prompt_text = kQ;
    r.protocol = protocol;
    r.sampling.temperature = 0.0f;
    r.sampling.max_new_tokens = 200;
    return r;
  }

  std::string Prompt(const std::string& system, const std::string& user) {
    std::vector<model::ChatMessage> m;
    if (!system.empty()) m.push_back({"system", system});
    m.push_back({"user", user});
    auto s = model::RenderChatMl(m);
    EXPECT_TRUE(s.ok());
    return *s;
  }

  // Exact segment list; generated segments (assistant, sampled) are the only trainable ones.
  void ExpectSegments(const proto::Trajectory& t, const std::vector<Expected>& want,
                      const std::vector<bool>& trainable) {
    ASSERT_EQ(t.segments.size(), want.size());
    ASSERT_EQ(trainable.size(), want.size());
    int32_t pos = 0;
    for (size_t i = 0; i < want.size(); ++i) {
      const auto& s = t.segments[i];
      SCOPED_TRACE("segment " + std::to_string(i));
      EXPECT_EQ(s.role, want[i].role);
      EXPECT_EQ(s.kind, want[i].kind);
      EXPECT_EQ(s.turn, want[i].turn);
      EXPECT_EQ(s.text, want[i].text);
      EXPECT_EQ(s.begin, pos);  // contiguous cover of the whole sequence
      pos = s.end;
      for (int32_t k = s.begin; k < s.end; ++k) {
        EXPECT_EQ(t.trainable_mask[static_cast<size_t>(k)], trainable[i] ? 1 : 0);
        if (!trainable[i]) {
          EXPECT_EQ(t.logprobs[static_cast<size_t>(k)], 0.0f);
        }
      }
    }
    EXPECT_EQ(static_cast<size_t>(pos), t.token_ids.size());
  }

  std::unique_ptr<ScriptedStepModel> model_;
  std::unique_ptr<Generator> gen_;
};

TEST_F(ProtocolTest, SelfCorrectWrongThenCorrect) {
  const std::string p0 = Prompt(kSrrSystemPrompt, kQ + kSrrUserSuffix);
  auto out = Run({{p0, "2+3=6. \\boxed{6}<|im_end|>"},
                  {"\\boxed{6}<|im_end|>" + UserTurn(kSrrSelfEvalInstruction),
                   "Check: 2+3 is 5. [VERIFY] wrong. ignored<|im_end|>"},
                  {"[VERIFY] wrong.<|im_end|>" + UserTurn(kSrrCorrectionInstruction), "Fix: \\boxed{5}<|im_end|>"},
                  {"\\boxed{5}<|im_end|>" + UserTurn(kSrrSelfEvalInstruction), "[VERIFY] correct.<|im_end|>"}},
                 {Request("self_correct")});
  ASSERT_EQ(out.size(), 1u);
  const auto& t = out[0].trajectory;
  ExpectSegments(t,
                 {{ChatRole::kUser, SegmentKind::kPrompt, 0, p0},
                  {ChatRole::kAssistant, SegmentKind::kAttempt, 0, "2+3=6. \\boxed{6}<|im_end|>"},
                  {ChatRole::kUser, SegmentKind::kInstruction, 0, UserTurn(kSrrSelfEvalInstruction)},
                  {ChatRole::kAssistant, SegmentKind::kVerify, 0, "Check: 2+3 is 5. [VERIFY] wrong."},
                  {ChatRole::kUser, SegmentKind::kInstruction, 1, "<|im_end|>" + UserTurn(kSrrCorrectionInstruction)},
                  {ChatRole::kAssistant, SegmentKind::kAttempt, 1, "Fix: \\boxed{5}<|im_end|>"},
                  {ChatRole::kUser, SegmentKind::kInstruction, 1, UserTurn(kSrrSelfEvalInstruction)},
                  {ChatRole::kAssistant, SegmentKind::kVerify, 1, "[VERIFY] correct."}},
                 {false, true, false, true, false, true, false, true});
  EXPECT_EQ(t.finish_reasons,
            (std::vector<FinishReason>{FinishReason::kEos, FinishReason::kStop, FinishReason::kEos, FinishReason::kStop}));
  EXPECT_EQ(t.turn_answers, (std::vector<std::string>{"6", "5"}));
  EXPECT_EQ(out[0].stats.verdicts, (std::vector<Verdict>{Verdict::kWrong, Verdict::kCorrect}));
  EXPECT_EQ(out[0].stats.malformed_verdicts, 0);
  // The token sequence is the ChatML conversation of §1.2 (the last verdict left open).
  auto full = model::RenderChatMl(std::vector<model::ChatMessage>{
                                      {"system", kSrrSystemPrompt},
                                      {"user", kQ + kSrrUserSuffix},
                                      {"assistant", "2+3=6. \\boxed{6}"},
                                      {"user", kSrrSelfEvalInstruction},
                                      {"assistant", "Check: 2+3 is 5. [VERIFY] wrong."},
                                      {"user", kSrrCorrectionInstruction},
                                      {"assistant", "Fix: \\boxed{5}"},
                                      {"user", kSrrSelfEvalInstruction},
                                      {"assistant", "[VERIFY] correct."}},
                                  model::ChatTemplateOptions{false, std::nullopt});
  ASSERT_TRUE(full.ok());
  EXPECT_EQ(Dec(*tok_, t.token_ids) + "<|im_end|>\n", *full);
}

TEST_F(ProtocolTest, SelfCorrectStopsAtCorrectVerdictAndAtMaxTurns) {
  const std::string p0 = Prompt(kSrrSystemPrompt, kQ + kSrrUserSuffix);
  const std::string eval = UserTurn(kSrrSelfEvalInstruction);
  auto correct = Run({{p0, "\\boxed{5}<|im_end|>"}, {"\\boxed{5}<|im_end|>" + eval, "[VERIFY] correct.<|im_end|>"}},
                     {Request("srr")});
  ASSERT_EQ(correct.size(), 1u);
  EXPECT_EQ(correct[0].trajectory.segments.size(), 4u);
  EXPECT_EQ(correct[0].protocol, "self_correct");
  EXPECT_EQ(model_->prompts_seen().size(), 2u);

  // Always wrong: stops after max_turns attempts, each with its verdict.
  for (int turns : {1, 2, 3}) {
    ProtocolOptions o;
    o.max_turns = turns;
    auto wrong = Run({{p0, "\\boxed{6}<|im_end|>"},
                      {eval, "[VERIFY] wrong.<|im_end|>"},
                      {UserTurn(kSrrCorrectionInstruction), "\\boxed{7}<|im_end|>"}},
                     {Request("self_correct")}, o);
    ASSERT_EQ(wrong.size(), 1u);
    EXPECT_EQ(wrong[0].trajectory.segments.size(), static_cast<size_t>(1 + 3 * turns + (turns - 1)));
    EXPECT_EQ(wrong[0].stats.verdicts.size(), static_cast<size_t>(turns));
    EXPECT_EQ(wrong[0].trajectory.turn_answers.size(), static_cast<size_t>(turns));
  }
}

TEST_F(ProtocolTest, SelfCorrectMalformedVerdictsEndTheTrajectory) {
  const std::string p0 = Prompt(kSrrSystemPrompt, kQ + kSrrUserSuffix);
  const std::string eval = UserTurn(kSrrSelfEvalInstruction);
  for (const std::string& verdict : {std::string("Looks fine to me.<|im_end|>"),
                                     std::string("[VERIFY] maybe. [VERIFY] wrong.<|im_end|>"),
                                     std::string("[VERIFY] unsure<|im_end|>")}) {
    SCOPED_TRACE(verdict);
    auto out = Run({{p0, "\\boxed{6}<|im_end|>"}, {eval, verdict}, {UserTurn(kSrrCorrectionInstruction), "x"}},
                   {Request("self_correct")});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].stats.malformed_verdicts, 1);
    EXPECT_TRUE(out[0].stats.verdicts.empty());
    EXPECT_EQ(out[0].trajectory.segments.size(), 4u);
    EXPECT_EQ(out[0].trajectory.segments.back().kind, SegmentKind::kVerify);
    EXPECT_EQ(model_->prompts_seen().size(), 2u);  // no correction was generated
  }
  // Boxed verdicts are unwrapped (§1.2); the generation stops at the verdict inside the box.
  auto boxed = Run({{p0, "\\boxed{6}<|im_end|>"}, {eval, "\\boxed{\\text{[VERIFY] correct.}}<|im_end|>"}},
                   {Request("self_correct")});
  ASSERT_EQ(boxed.size(), 1u);
  EXPECT_EQ(boxed[0].stats.verdicts, (std::vector<Verdict>{Verdict::kCorrect}));
  EXPECT_EQ(ParseSrrVerdict("\\boxed{[VERIFY] wrong.}"), Verdict::kWrong);
  EXPECT_EQ(ParseSrrVerdict("\\boxed{\\text{[VERIFY] correct.}}"), Verdict::kCorrect);
  EXPECT_EQ(ParseSrrVerdict("[VERIFY]wrong"), Verdict::kWrong);
  EXPECT_EQ(ParseSrrVerdict("[VERIFY] Correct."), std::nullopt);
}

TEST_F(ProtocolTest, ForcedWrongVerdictIsInjectedNotSampled) {
  const std::string p0 = Prompt(kSrrSystemPrompt, kQ + kSrrUserSuffix);
  const std::string eval = UserTurn(kSrrSelfEvalInstruction);
  auto req = Request("self_correct");
  req.forced_verdict = Verdict::kWrong;
  auto out = Run({{p0, "\\boxed{5}<|im_end|>"},
                  {"\\boxed{5}<|im_end|>" + eval, "[VERIFY] correct.<|im_end|>"},
                  {"[VERIFY] wrong.<|im_end|>" + UserTurn(kSrrCorrectionInstruction), "\\boxed{4}<|im_end|>"},
                  {"\\boxed{4}<|im_end|>" + eval, "[VERIFY] wrong.<|im_end|>"}},
                 {req});
  ASSERT_EQ(out.size(), 1u);
  const auto& t = out[0].trajectory;
  ExpectSegments(t,
                 {{ChatRole::kUser, SegmentKind::kPrompt, 0, p0},
                  {ChatRole::kAssistant, SegmentKind::kAttempt, 0, "\\boxed{5}<|im_end|>"},
                  {ChatRole::kUser, SegmentKind::kInstruction, 0, eval},
                  {ChatRole::kAssistant, SegmentKind::kVerify, 0, "[VERIFY] wrong."},
                  {ChatRole::kUser, SegmentKind::kInstruction, 1, "<|im_end|>" + UserTurn(kSrrCorrectionInstruction)},
                  {ChatRole::kAssistant, SegmentKind::kAttempt, 1, "\\boxed{4}<|im_end|>"},
                  {ChatRole::kUser, SegmentKind::kInstruction, 1, eval},
                  {ChatRole::kAssistant, SegmentKind::kVerify, 1, "[VERIFY] wrong."}},
                 {false, true, false, false, false, true, false, true});
  EXPECT_TRUE(out[0].stats.forced_verdict_used);
  EXPECT_EQ(out[0].stats.verdicts, (std::vector<Verdict>{Verdict::kWrong, Verdict::kWrong}));
  EXPECT_EQ(t.finish_reasons.size(), 3u);  // a¹, a², y² were generated; y¹ was not
  EXPECT_EQ(model_->prompts_seen().size(), 3u);
}

TEST_F(ProtocolTest, AttemptCutByLengthEndsWithoutVerdict) {
  auto req = Request("self_correct");
  req.sampling.max_new_tokens = 5;
  auto out = Run({{Prompt(kSrrSystemPrompt, kQ + kSrrUserSuffix), "a long attempt<|im_end|>"}}, {req});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].trajectory.finish_reasons, (std::vector<FinishReason>{FinishReason::kLength}));
  EXPECT_EQ(out[0].trajectory.segments.size(), 2u);
  EXPECT_EQ(out[0].trajectory.segments[1].text, "a lon");
}

TEST_F(ProtocolTest, TwoTurnNoThenCorrection) {
  const std::string p0 = Prompt("", kQ + kSrrUserSuffix);
  const std::string question = std::string("\n\n") + kYesNoQuestion;
  auto out = Run({{p0, "\\boxed{6}" + question + " No.<|im_end|>"},
                  {kYesNoQuestion, " No. trailing<|im_end|>"},
                  {UserTurn(kTwoTurnNoInstruction), "\\boxed{5}<|im_end|>"}},
                 {Request("two_turn")});
  ASSERT_EQ(out.size(), 1u);
  const auto& t = out[0].trajectory;
  ExpectSegments(t,
                 {{ChatRole::kUser, SegmentKind::kPrompt, 0, p0},
                  {ChatRole::kAssistant, SegmentKind::kAttempt, 0, "\\boxed{6}" + question},
                  {ChatRole::kAssistant, SegmentKind::kVerify, 0, " No."},
                  {ChatRole::kUser, SegmentKind::kInstruction, 1, "<|im_end|>" + UserTurn(kTwoTurnNoInstruction)},
                  {ChatRole::kAssistant, SegmentKind::kAttempt, 1, "\\boxed{5}<|im_end|>"}},
                 {false, true, true, false, true});
  EXPECT_EQ(t.turn_answers, (std::vector<std::string>{"6", "5"}));
  EXPECT_EQ(out[0].stats.verdicts, (std::vector<Verdict>{Verdict::kWrong}));
}

TEST_F(ProtocolTest, TwoTurnYesStopsUnlessConfiguredAndFormatFailureIsCounted) {
  const std::string p0 = Prompt("", kQ + kSrrUserSuffix);
  const std::string question = std::string("\n\n") + kYesNoQuestion;
  std::vector<std::pair<std::string, std::string>> rules = {
      {p0, "\\boxed{5}" + question}, {kYesNoQuestion, " Yes.<|im_end|>"},
      {UserTurn(kTwoTurnYesInstructionCode), "\\boxed{5}<|im_end|>"}};
  auto stop = Run(rules, {Request("two_turn")});
  ASSERT_EQ(stop.size(), 1u);
  EXPECT_EQ(stop[0].trajectory.segments.size(), 3u);
  EXPECT_EQ(stop[0].stats.verdicts, (std::vector<Verdict>{Verdict::kCorrect}));
  ProtocolOptions o;
  o.two_turn_continue_after_yes = true;
  auto go_on = Run(rules, {Request("two_turn")}, o);
  ASSERT_EQ(go_on.size(), 1u);
  EXPECT_EQ(go_on[0].trajectory.segments.size(), 5u);
  EXPECT_EQ(go_on[0].trajectory.segments[3].text, "<|im_end|>" + UserTurn(kTwoTurnYesInstructionCode));

  auto no_question = Run({{p0, "\\boxed{5}<|im_end|>"}}, {Request("two_turn")});
  ASSERT_EQ(no_question.size(), 1u);
  EXPECT_EQ(no_question[0].stats.malformed_verdicts, 1);
  EXPECT_EQ(no_question[0].trajectory.segments.size(), 2u);
  EXPECT_EQ(no_question[0].trajectory.turn_answers, (std::vector<std::string>{"5"}));

  auto forced = Request("two_turn");
  forced.forced_verdict = Verdict::kWrong;
  auto f = Run({{p0, "\\boxed{5}" + question}, {kYesNoQuestion, " Yes.<|im_end|>"},
                {UserTurn(kTwoTurnNoInstruction), "\\boxed{4}<|im_end|>"}},
               {forced});
  ASSERT_EQ(f.size(), 1u);
  ASSERT_EQ(f[0].trajectory.segments.size(), 5u);
  EXPECT_EQ(f[0].trajectory.segments[2].text, " No.");
  EXPECT_EQ(f[0].trajectory.trainable_mask[static_cast<size_t>(f[0].trajectory.segments[2].begin)], 0);
}

TEST_F(ProtocolTest, PostCompletionStopsAtMarkerOrContinuesInTraining) {
  ProtocolOptions o;
  const std::string p0 = Prompt(o.texts.pcl_system_prompt, kQ);
  const std::string answer = "<think>2+3</think>\n<answer> 5 </answer>";
  const std::string evaluation = "\n<evaluation>right</evaluation>\n<reward>[1,1]</reward><|im_end|>";
  std::vector<std::pair<std::string, std::string>> rules = {{p0, answer + evaluation},
                                                           {"</answer>", evaluation}};
  auto infer = Run(rules, {Request("pcl")}, o);
  ASSERT_EQ(infer.size(), 1u);
  ExpectSegments(infer[0].trajectory,
                 {{ChatRole::kUser, SegmentKind::kPrompt, 0, p0}, {ChatRole::kAssistant, SegmentKind::kAttempt, 0, answer}},
                 {false, true});
  EXPECT_EQ(infer[0].trajectory.turn_answers, (std::vector<std::string>{"5"}));
  o.training = true;
  auto train = Run(rules, {Request("post_completion")}, o);
  ASSERT_EQ(train.size(), 1u);
  ExpectSegments(train[0].trajectory,
                 {{ChatRole::kUser, SegmentKind::kPrompt, 0, p0},
                  {ChatRole::kAssistant, SegmentKind::kAttempt, 0, answer},
                  {ChatRole::kAssistant, SegmentKind::kEvaluation, 0, evaluation}},
                 {false, true, true});
}

TEST_F(ProtocolTest, SingleTurnUsesTheEvaluationPrompt) {
  const std::string p0 = Prompt(kEvalSystemPrompt, kQ + kEvalUserSuffix);
  auto out = Run({{p0, "so \\boxed{\\frac{1}{2}} and \\boxed{5}<|im_end|>"}}, {Request("single_turn")});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].trajectory.segments.size(), 2u);
  EXPECT_EQ(out[0].trajectory.turn_answers, (std::vector<std::string>{"5"}));
  EXPECT_EQ(ExtractLastBoxed("a \\boxed{\\frac{1}{2}} b"), "\\frac{1}{2}");
  EXPECT_EQ(ExtractLastBoxed("\\boxed{5} then \\boxed{6"), "5");
}

TEST_F(ProtocolTest, SameSeedSameTrajectoryInAnyBatch) {
  // No scripted plan: pseudo-random logits; a common stop string ends each generation, so a
  // forced-wrong self_correct trajectory samples a¹, a² and y² with three derived seeds.
  auto make = [&](uint64_t seed) {
    auto r = Request("self_correct");
    r.sampling.temperature = 1.0f;
    r.sampling.top_k = 30;
    r.sampling.seed = seed;
    r.sampling.max_new_tokens = 400;
    r.sampling.stop_strings = {"e"};
    r.forced_verdict = Verdict::kWrong;
    return r;
  };
  auto alone = Run({}, {make(11)}, {}, 1);
  ASSERT_EQ(alone.size(), 1u);
  EXPECT_GE(alone[0].trajectory.finish_reasons.size(), 2u);
  std::vector<proto::GenerateRequest> crowd;
  for (int i = 0; i < 5; ++i) {
    auto other = make(100 + static_cast<uint64_t>(i));
    other.sample_idx = i + 1;
    crowd.push_back(other);
  }
  crowd.insert(crowd.begin() + 2, make(11));
  auto batched = Run({}, crowd, {}, 3);
  ASSERT_EQ(batched.size(), 6u);
  int found = 0;
  for (const auto& e : batched) {
    if (e.trajectory.sample_idx == 0) {
      EXPECT_EQ(e.trajectory, alone[0].trajectory);
      ++found;
    } else {
      EXPECT_NE(e.trajectory.token_ids, alone[0].trajectory.token_ids);
    }
  }
  EXPECT_EQ(found, 1);
}

TEST_F(ProtocolTest, ContinuationSeedKeepsTheFirstAttemptAndChangesTheRest) {
  // M-DPO pairs share (x, a¹): the same request seed with different continuation seeds must
  // reproduce a¹ token for token and sample different continuations after it.
  auto make = [&](std::optional<uint64_t> continuation, int32_t sample_idx) {
    auto r = Request("self_correct");
    r.sample_idx = sample_idx;
    r.sampling.temperature = 1.0f;
    r.sampling.top_k = 30;
    r.sampling.seed = 11;
    r.sampling.continuation_seed = continuation;
    r.sampling.max_new_tokens = 400;
    r.sampling.stop_strings = {"e"};
    r.forced_verdict = Verdict::kWrong;
    return r;
  };
  auto out = Run({}, {make(std::nullopt, 0), make(501, 1), make(502, 2), make(501, 3)}, {}, 2);
  ASSERT_EQ(out.size(), 4u);
  std::map<int32_t, proto::Trajectory> by_idx;
  for (const auto& e : out) by_idx[e.trajectory.sample_idx] = e.trajectory;
  auto a1_end = [](const proto::Trajectory& t) {
    for (const auto& s : t.segments) {
      if (s.kind == SegmentKind::kAttempt && s.turn == 0) return s.end;
    }
    return 0;
  };
  const auto& base = by_idx[0];
  ASSERT_GT(a1_end(base), 0);
  ASSERT_GE(base.finish_reasons.size(), 2u) << "the forced-wrong trajectory must have an a²";
  for (int i = 1; i < 4; ++i) {
    const auto& t = by_idx[i];
    ASSERT_EQ(a1_end(t), a1_end(base)) << i;
    EXPECT_TRUE(std::equal(base.token_ids.begin(), base.token_ids.begin() + a1_end(base), t.token_ids.begin())) << i;
  }
  // Different continuation seeds give different continuations; the same one gives the same.
  EXPECT_NE(by_idx[1].token_ids, base.token_ids);
  EXPECT_NE(by_idx[1].token_ids, by_idx[2].token_ids);
  EXPECT_EQ(by_idx[1].token_ids, by_idx[3].token_ids);
}

TEST_F(ProtocolTest, BadRequestsAreRejectedWithNamedErrors) {
  model_ = std::make_unique<ScriptedStepModel>(ScriptedStepModel::Options{1, 64, 101, 2}, nullptr);
  Generator g(*model_, *tok_);
  RolloutEngine engine(g, *tok_, {});
  auto r = Request("three_turn");
  Status s = engine.Submit(r, 0);
  EXPECT_TRUE(s.IsInvalidArgument());
  EXPECT_NE(s.message().find("three_turn"), std::string::npos);
  r = Request("single_turn");
  r.prompt_text = "caf\xc3\xa9";  // outside the character vocabulary
  EXPECT_FALSE(engine.Submit(r, 0).ok());
  r = Request("single_turn");
  r.sampling.top_p = 0.0f;
  EXPECT_TRUE(engine.Submit(r, 0).IsInvalidArgument());
  ProtocolOptions bad;
  bad.max_turns = 0;
  EXPECT_TRUE(CreateProtocol("self_correct", bad).status().IsInvalidArgument());
  // A prompt longer than the slot: the trajectory ends at once, flagged context_full.
  r = Request("single_turn");
  r.prompt_text = std::string(100, 'a');
  ASSERT_TRUE(engine.Submit(r, 0).ok());
  auto out = engine.RunToCompletion();
  ASSERT_EQ(out.size(), 1u);
  EXPECT_TRUE(out[0].stats.context_full);
  EXPECT_TRUE(out[0].trajectory.finish_reasons.empty());
}

}  // namespace
}  // namespace scorch::rollout
