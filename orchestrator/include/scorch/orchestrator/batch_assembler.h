// Batch assembly: graded trajectories in, one TrainBatch per optimisation step out.
//
// A step needs `batch_prompts` complete prompt groups of `samples_per_prompt` samples each
// (GRPO groups; PPO/DPO use the same shape). Samples arrive in any order from any worker;
// a sample is admitted once per (step, prompt_id, sample_idx) and only if it is fresh enough:
// its policy_version must be >= current_version − max_staleness (0 = strictly on-policy).
// A stale sample is refused (the caller re-queues its work item) and counted.
//
// Take() returns the batch ordered by (prompt_id, sample_idx) — not by arrival — so the same
// set of samples always gives the same batch, whatever the timing (this is what makes resume
// and data-parallel runs reproducible). Extra complete groups beyond `batch_prompts` stay
// for the next Take only if they belong to the same step; otherwise they are dropped.
//
// Thread-safety: not thread-safe; owned by the orchestrator's dispatch loop.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>

#include "scorch/common/proto/rollout_messages.h"
#include "scorch/orchestrator/lease_manager.h"

namespace scorch::orchestrator {

struct BatchShape {
  int batch_prompts = 8;       // prompt groups per step
  int samples_per_prompt = 1;  // samples per group
  int max_staleness = 0;       // versions a sample may lag the learner
};

struct AssemblyStats {
  int64_t admitted = 0;
  int64_t stale = 0;
  int64_t duplicate = 0;
  int64_t wrong_step = 0;
  int64_t max_lag = 0;  // largest current_version − policy_version admitted
};

class BatchAssembler {
 public:
  enum class Outcome { kAdmitted, kStale, kDuplicate, kWrongStep };

  BatchAssembler(const BatchShape& shape, int64_t step);

  // Offers one graded sample of `item`. `current_version` is the learner's latest version.
  Outcome Add(const WorkItem& item, int64_t current_version, proto::TrainSample sample);

  int complete_groups() const;
  bool Ready() const { return complete_groups() >= shape_.batch_prompts; }
  // REQUIRES: Ready(). Returns the step's batch and moves on to step + 1.
  proto::TrainBatch Take(const std::string& stage);

  int64_t step() const { return step_; }
  const AssemblyStats& stats() const { return stats_; }

 private:
  BatchShape shape_;
  int64_t step_;
  // prompt_id -> sample_idx -> sample
  std::map<int64_t, std::map<int32_t, proto::TrainSample>> groups_;
  AssemblyStats stats_;
};

}  // namespace scorch::orchestrator
