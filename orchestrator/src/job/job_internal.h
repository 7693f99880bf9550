// Internals shared by the job loop's files (job_runner.cc, job_stages.cc, job_mdpo.cc).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scorch/common/proto/message.h"
#include "scorch/orchestrator/eval_metrics.h"
#include "scorch/orchestrator/job_runner.h"

namespace scorch::orchestrator {

// One generated and graded trajectory.
struct JobRunner::Graded {
  proto::GenerateRequest request;
  proto::Trajectory trajectory;
  proto::GradeResult grade;
  EvalRecord record;
  bool verdict_invalid = false;  // a verify turn that did not parse
  int64_t generated_tokens = 0;
};

namespace job_internal {

// splitmix64-style mixing of several values into one seed.
uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c = 0, uint64_t d = 0);

// The reward service's name for a rollout protocol (single_turn -> single, ...).
std::string RewardProtocolName(const std::string& protocol);

// The stage's effective sampling temperature / turn budget.
double StageTemperature(const config::RunConfig& config, const config::StageConfig& stage);
int StageMaxNewTokens(const config::RunConfig& config, const config::StageConfig& stage);

// An empty batch that only asks the learner for a checkpoint.
inline proto::TrainBatch CheckpointOnly(const std::string& stage) {
  proto::TrainBatch b;
  b.stage = stage;
  return b;
}

// Mean and population std.
void MeanStd(const std::vector<double>& xs, double* mean, double* stdev);

// The accuracy summary's metrics: acc/turn1, acc/final, delta/*, verify/acc_* (job_stages.cc).
void PutSummary(const EvalSummary& s, nlohmann::json* metrics);

}  // namespace job_internal
}  // namespace scorch::orchestrator
