#include "scorch/orchestrator/batch_assembler.h"

#include <algorithm>

namespace scorch::orchestrator {

BatchAssembler::BatchAssembler(const BatchShape& shape, int64_t step) : shape_(shape), step_(step) {}

BatchAssembler::Outcome BatchAssembler::Add(const WorkItem& item, int64_t current_version,
                                            proto::TrainSample sample) {
  if (item.step != step_ || item.sample_idx < 0 || item.sample_idx >= shape_.samples_per_prompt) {
    ++stats_.wrong_step;
    return Outcome::kWrongStep;
  }
  const int64_t lag = current_version - sample.trajectory.policy_version;
  if (lag > shape_.max_staleness) {
    ++stats_.stale;
    return Outcome::kStale;
  }
  auto& group = groups_[item.prompt_id];
  if (!group.emplace(item.sample_idx, std::move(sample)).second) {
    ++stats_.duplicate;
    return Outcome::kDuplicate;
  }
  ++stats_.admitted;
  stats_.max_lag = std::max(stats_.max_lag, lag);
  return Outcome::kAdmitted;
}

int BatchAssembler::complete_groups() const {
  int n = 0;
  for (const auto& [prompt, group] : groups_) {
    n += static_cast<int>(group.size()) == shape_.samples_per_prompt;
  }
  return n;
}

proto::TrainBatch BatchAssembler::Take(const std::string& stage) {
  proto::TrainBatch batch;
  batch.step = step_;
  batch.stage = stage;
  int taken = 0;
  for (auto& [prompt, group] : groups_) {
    if (taken == shape_.batch_prompts) break;
    if (static_cast<int>(group.size()) != shape_.samples_per_prompt) continue;
    for (auto& [idx, sample] : group) batch.samples.push_back(std::move(sample));
    ++taken;
  }
  groups_.clear();
  ++step_;
  return batch;
}

}  // namespace scorch::orchestrator
