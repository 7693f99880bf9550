// Reward-plane messages: a batched GradeRequest to the reward service and its GradeReply
// (ALGORITHMS §3). The reward service is stateless: each item carries everything its rules
// need — the gold answer, the trajectory's turn texts and kinds, and the generated token
// ids and counts for the length and repetition rules.
//
// A reply has exactly one GradeResult per request item, in the same order, with the same
// identifiers, so the caller can match them.
//
// Thread-safety: values; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scorch/common/proto/wire_types.h"

namespace scorch::proto {

// One piece of generated or inserted text of a trajectory (an attempt, a verification, ...).
struct GradeTurn {
  int32_t turn = 0;
  SegmentKind kind = SegmentKind::kAttempt;
  std::string text;

  bool operator==(const GradeTurn&) const = default;
};

struct GradeItem {
  int64_t step = 0;
  int64_t prompt_id = 0;
  int32_t sample_idx = 0;
  uint64_t lease_id = 0;
  std::string protocol;     // turn protocol that produced it; selects the rules
  std::string gold_answer;  // reference answer text
  std::vector<GradeTurn> turns;
  std::vector<int32_t> generated_token_ids;  // policy-sampled tokens only (may be empty
                                             // when no rule needs them)
  int32_t num_generated_tokens = 0;          // count of sampled tokens (length rules)
  int32_t max_new_tokens = 0;                // the generation budget (cosine length rule)
  std::vector<FinishReason> finish_reasons;  // one per generated turn (truncation rules)

  bool operator==(const GradeItem&) const = default;
};

// Orchestrator → reward service.
struct GradeRequest {
  uint64_t request_id = 0;  // echoed in the reply
  std::vector<GradeItem> items;

  bool operator==(const GradeRequest&) const = default;
};

// The grade of one attempt (or verification) turn.
struct TurnGrade {
  int32_t turn = 0;
  Verdict verdict = Verdict::kError;
  std::string reason;  // e.g. "boxed answer 12 == gold 12", "no \\boxed{} found"

  bool operator==(const TurnGrade&) const = default;
};

struct GradeResult {
  int64_t step = 0;
  int64_t prompt_id = 0;
  int32_t sample_idx = 0;
  uint64_t lease_id = 0;
  std::vector<TurnGrade> turns;
  Verdict final_verdict = Verdict::kError;  // correctness of the final answer, r*(x, a^H)
  std::string final_reason;
  double reward = 0.0;                              // the scalar trajectory reward
  std::map<std::string, double> reward_components;  // e.g. {"correct": 1, "cosine": 0.4}
  std::vector<float> dense_rewards;  // optional per-generated-token rewards; empty = none

  bool operator==(const GradeResult&) const = default;
};

// Reward service → orchestrator.
struct GradeReply {
  uint64_t request_id = 0;
  std::vector<GradeResult> items;  // one per request item, same order

  bool operator==(const GradeReply&) const = default;
};

}  // namespace scorch::proto
