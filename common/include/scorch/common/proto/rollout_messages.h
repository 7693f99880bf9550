// Rollout-plane messages: the orchestrator's GenerateRequest (a work lease), the rollout
// worker's Trajectory (ALGORITHMS §1), and the TrainBatch the orchestrator hands to learners.
//
// Identity of a sample: (step, prompt_id, sample_idx) plus the lease_id it was produced
// under and the policy_version that produced it, so a re-delivered result is recognised
// and dropped (ARCHITECTURE §2).
//
// Trajectory layout: `token_ids` is the whole sequence, prompt included. `logprobs` and
// `trainable_mask` have exactly one entry per token (log-prob 0 and mask 0 for tokens the
// policy did not sample: prompt and instruction text). `segments` cover token ranges
// [begin, end) in order and say who wrote them (role, turn, kind). Validate() in
// message.h checks these invariants; EncodeMessage refuses a trajectory that breaks them.
//
// Thread-safety: values; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "scorch/common/proto/wire_types.h"

namespace scorch::proto {

struct SamplingParams {
  float temperature = 1.0f;       // 0 = greedy
  float top_p = 1.0f;             // nucleus mass in (0, 1]
  int32_t top_k = 0;              // 0 = off
  int32_t max_new_tokens = 1024;  // per generated turn
  uint64_t seed = 0;              // per-sample RNG seed (reproducible sampling)
  // Seed of every generation after a trajectory's first (unset = derived from `seed`). The
  // same `seed` with different continuation seeds reproduces a¹ and samples different
  // continuations from it (M-DPO pairs that share (x, a¹), ALGORITHMS §2.3).
  std::optional<uint64_t> continuation_seed;
  std::vector<std::string> stop_strings;
  std::vector<int32_t> stop_token_ids;

  bool operator==(const SamplingParams&) const = default;
};

// Orchestrator → rollout worker: generate one sample of one prompt under a lease.
struct GenerateRequest {
  int64_t step = 0;
  int64_t prompt_id = 0;                  // index of the prompt in the stage's dataset
  int32_t sample_idx = 0;                 // which of the prompt's samples (GRPO group member)
  uint64_t lease_id = 0;                  // the orchestrator's lease for this work item
  int64_t deadline_unix_ms = 0;           // the lease expires then (wall clock, ms since epoch)
  std::string prompt_text;                // the problem text, before the protocol's chat template
  std::vector<int32_t> prompt_token_ids;  // optional pre-tokenised prompt; empty = tokenise text
  std::string protocol;  // turn protocol name, e.g. "single", "srr", "two_turn", "pcl"
  SamplingParams sampling;
  std::optional<Verdict> forced_verdict;   // data collection: copy this verdict (correct/wrong)
  std::optional<std::string> gold_answer;  // reference answer, when the protocol needs it
  // A SWIFT reward head (a directory with swift_head.safetensors/.json, ALGORITHMS §5) to score
  // the trajectory with, from the hidden states generation computes; the result comes back in
  // Trajectory::hidden_state_score. Unset: no scoring.
  std::optional<std::string> score_head;

  bool operator==(const GenerateRequest&) const = default;
};

// A contiguous token range [begin, end) of a trajectory and who produced it.
struct Segment {
  ChatRole role = ChatRole::kAssistant;
  int32_t turn = 0;  // 0-based turn h of the multi-turn MDP
  SegmentKind kind = SegmentKind::kAttempt;
  int32_t begin = 0;  // token offset, inclusive
  int32_t end = 0;    // token offset, exclusive
  std::string text;   // decoded text of the range (may hold partial UTF-8 at a cut)

  bool operator==(const Segment&) const = default;
};

// Rollout worker → orchestrator: one finished sample.
struct Trajectory {
  int64_t step = 0;
  int64_t prompt_id = 0;
  int32_t sample_idx = 0;
  uint64_t lease_id = 0;
  int64_t policy_version = 0;           // weights that sampled every generated token
  std::vector<int32_t> token_ids;       // the whole sequence, prompt included
  std::vector<float> logprobs;          // one per token: log π(token | prefix); 0 if not sampled
  std::vector<uint8_t> trainable_mask;  // one per token: 1 = the loss sees it, 0 = context
  std::vector<Segment> segments;        // ordered, non-overlapping, within token_ids
  std::vector<FinishReason> finish_reasons;  // one per generated turn
  std::vector<std::string> turn_answers;     // per turn: the attempt's final-answer text
  std::optional<float> hidden_state_score;   // SWIFT reward-head score, when computed

  bool operator==(const Trajectory&) const = default;
};

// A graded trajectory inside a TrainBatch.
struct TrainSample {
  Trajectory trajectory;
  double reward = 0.0;                              // scalar trajectory reward
  std::map<std::string, double> reward_components;  // named parts of `reward`
  std::vector<float> dense_rewards;                 // optional per-token rewards; empty = none,
                                                    // else one per token of the trajectory
  std::string mask_rule;  // which tokens the loss trains: "" = trajectory.trainable_mask;
                          // "srr_d1" | "srr_d2" | "srr_d3" = the SRR IFT sets (ALGORITHMS §4.4)
  // M-DPO (ALGORITHMS §4.3): the preference pair this sample is one side of, in [0, pairs);
  // -1 = not part of a pair. A batch either pairs every sample or none; each pair index has
  // exactly one chosen (τ_w) and one rejected (τ_l) sample, of the same prompt.
  int32_t pair_index = -1;
  bool pair_chosen = false;  // with pair_index >= 0: this is the preferred side τ_w
  // PCL's mixed objective (ALGORITHMS §4.5): a demonstration trained by cross-entropy in the
  // same step as a grpo stage's samples. "" = a sample of the stage's own objective;
  // "reason" = L_SFT-reason, "eval" = L_SFT-eval. Each track's loss is a token mean over that
  // track's trained tokens in the whole batch, times the sample's sft_weight (w_1, or ρ_t·w_2).
  std::string sft_track;
  double sft_weight = 1.0;

  bool operator==(const TrainSample&) const = default;
};

// Orchestrator → learner: the samples of one optimisation step.
struct TrainBatch {
  int64_t step = 0;
  std::string stage;  // the stage name from the job config, e.g. "grpo"
  std::vector<TrainSample> samples;
  // When set, the learner writes a checkpoint after this step and stores this text (the
  // orchestrator's state as JSON) in its manifest, so both resume from the same point. A batch
  // with no samples and a checkpoint_state only checkpoints.
  std::optional<std::string> checkpoint_state;

  bool operator==(const TrainBatch&) const = default;
};

}  // namespace scorch::proto
