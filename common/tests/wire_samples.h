// Sample wire messages with every field set, shared by the wire tests, the decoder fuzz test
// and the wire benchmark. Header-only; deterministic for a given argument.
#pragma once

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "scorch/common/proto/message.h"

namespace scorch::proto::testing {

// A two-turn SRR-style trajectory of `num_tokens` tokens (≥ 8): prompt, attempt, verify,
// instruction, attempt.
inline Trajectory SampleTrajectory(int num_tokens = 64) {
  Trajectory t;
  t.step = 12;
  t.prompt_id = 3456;
  t.sample_idx = 3;
  t.lease_id = 0x1234'5678'9abcULL;
  t.policy_version = 11;
  const int n = num_tokens < 8 ? 8 : num_tokens;
  const int prompt_end = n / 8;
  const int attempt_end = n / 2;
  const int verify_end = n / 2 + n / 8;
  const int instr_end = verify_end + n / 16 + 1;
  for (int i = 0; i < n; ++i) {
    t.token_ids.push_back((i * 7919 + 13) % 151'000);
    const bool sampled = (i >= prompt_end && i < verify_end) || i >= instr_end;
    t.logprobs.push_back(sampled ? -0.001f * static_cast<float>(i % 997) - 1e-7f : 0.0f);
    t.trainable_mask.push_back(sampled ? 1 : 0);
  }
  t.segments = {
      {ChatRole::kUser, 0, SegmentKind::kPrompt, 0, prompt_end, "What is 6 * 7? Let's think."},
      {ChatRole::kAssistant, 0, SegmentKind::kAttempt, prompt_end, attempt_end,
       "6 * 7 = 41, so \\boxed{41}"},
      {ChatRole::kAssistant, 0, SegmentKind::kVerify, attempt_end, verify_end, "[VERIFY] wrong."},
      {ChatRole::kUser, 1, SegmentKind::kInstruction, verify_end, instr_end,
       "please identify the mistake"},
      {ChatRole::kAssistant, 1, SegmentKind::kAttempt, instr_end, n, "6 * 7 = 42: \\boxed{42}"},
  };
  t.finish_reasons = {FinishReason::kStop, FinishReason::kEos};
  t.turn_answers = {"41", "42"};
  t.hidden_state_score = 0.8125f;
  return t;
}

inline Hello SampleHello() {
  return Hello{Role::kReward, 2, 16, 7, std::string("s3cret"), 4242, "node-a"};
}

inline Heartbeat SampleHeartbeat() { return Heartbeat{99, 1'763'000'000'123, 3, 7}; }

inline GenerateRequest SampleGenerateRequest() {
  GenerateRequest g;
  g.step = 5;
  g.prompt_id = 77;
  g.sample_idx = 2;
  g.lease_id = 900;
  g.deadline_unix_ms = 1'763'000'060'000;
  g.prompt_text = "Compute 2+2. Ünïcödé ∑";
  g.prompt_token_ids = {151644, 8948, 198, 0, 2147483647};
  g.protocol = "srr";
  g.sampling.temperature = 0.7f;
  g.sampling.top_p = 0.95f;
  g.sampling.top_k = 50;
  g.sampling.max_new_tokens = 2048;
  g.sampling.seed = 0xdead'beef'cafeULL;
  g.sampling.continuation_seed = 0x5eed'0000'0001ULL;
  g.sampling.stop_strings = {"<|im_end|>", "</answer>"};
  g.sampling.stop_token_ids = {151645, 151643};
  g.forced_verdict = Verdict::kWrong;
  g.gold_answer = "4";
  g.score_head = "runs/job/swift/swift-train";
  return g;
}

inline GradeRequest SampleGradeRequest() {
  GradeRequest r;
  r.request_id = 31;
  for (int i = 0; i < 3; ++i) {
    GradeItem item;
    item.step = 5;
    item.prompt_id = 100 + i;
    item.sample_idx = i;
    item.lease_id = 1000 + i;
    item.protocol = "srr";
    item.gold_answer = "\\frac{1}{2}";
    item.turns = {{0, SegmentKind::kAttempt, "so \\boxed{0.5}"},
                  {0, SegmentKind::kVerify, "[VERIFY] correct."}};
    item.generated_token_ids = {1, 2, 3, 4, 5 + i};
    item.num_generated_tokens = 5;
    item.max_new_tokens = 4096;
    item.finish_reasons = {FinishReason::kEos};
    r.items.push_back(item);
  }
  return r;
}

inline GradeReply SampleGradeReply() {
  GradeReply r;
  r.request_id = 31;
  for (int i = 0; i < 2; ++i) {
    GradeResult g;
    g.step = 5;
    g.prompt_id = 100 + i;
    g.sample_idx = i;
    g.lease_id = 1000 + i;
    g.turns = {{0, Verdict::kCorrect, "0.5 == 1/2"}, {1, Verdict::kWrong, "3 != 1/2"}};
    g.final_verdict = Verdict::kWrong;
    g.final_reason = "final answer 3 != 1/2";
    g.reward = -0.25 + i;
    g.reward_components = {{"correct", 0.0}, {"cosine", -0.25}, {"repetition", 0.0}};
    if (i == 1) g.dense_rewards = {0.0f, 0.5f, -1.0f};
    r.items.push_back(g);
  }
  return r;
}

inline TrainBatch SampleTrainBatch() {
  TrainBatch b;
  b.step = 9;
  b.stage = "grpo";
  for (int i = 0; i < 2; ++i) {
    TrainSample s;
    s.trajectory = SampleTrajectory(16 + 8 * i);
    s.trajectory.sample_idx = i;
    s.reward = 1.0 - i;
    s.reward_components = {{"correct", 1.0 - i}};
    if (i == 1) s.dense_rewards.assign(s.trajectory.token_ids.size(), 0.125f);
    b.samples.push_back(s);
  }
  return b;
}

// An M-DPO batch: two pairs over one prompt (the sides of a pair share (x, a¹)); pair 0's
// chosen side comes second, so the order of the samples carries no meaning.
inline TrainBatch SampleMdpoTrainBatch() {
  TrainBatch b;
  b.step = 10;
  b.stage = "mdpo";
  const int32_t pair_of[4] = {1, 0, 0, 1};
  const bool chosen_of[4] = {true, false, true, false};
  for (int i = 0; i < 4; ++i) {
    TrainSample s;
    s.trajectory = SampleTrajectory(16 + 8 * (i % 2));
    s.trajectory.sample_idx = i;
    s.reward = chosen_of[i] ? 1.0 : 0.0;
    s.pair_index = pair_of[i];
    s.pair_chosen = chosen_of[i];
    b.samples.push_back(s);
  }
  return b;
}

inline StepStats SampleStepStats() {
  return StepStats{9, {{"loss", 0.3125}, {"kl", 1e-3}, {"tokens_per_s", 12345.5}}};
}

inline WeightsAnnounce SampleWeightsAnnounce() {
  return WeightsAnnounce{12, WeightsTransport::kZmq, "tcp://127.0.0.1:5555", 1ULL << 33,
                         "sha256:abcdef"};
}

inline Error SampleError() {
  return Error{static_cast<int32_t>(StatusCode::kInvalidArgument), "bad thing", "Trajectory"};
}

inline Shutdown SampleShutdown() { return Shutdown{"job finished", true}; }

// One of each message type, fully populated.
inline std::vector<Message> AllSampleMessages() {
  return {SampleHello(),           SampleHeartbeat(),  SampleGenerateRequest(), SampleTrajectory(),
          SampleGradeRequest(),    SampleGradeReply(), SampleTrainBatch(),      SampleStepStats(),
          SampleWeightsAnnounce(), SampleError(),      SampleShutdown()};
}

}  // namespace scorch::proto::testing
