// Trainer::StepSwift: the swift_train objective (see SwiftTraining in trainer.h).
#include <algorithm>

#include "scorch/common/atomic_file.h"
#include "scorch/learner/trainer.h"

namespace scorch::learner {

StatusOr<std::map<std::string, double>> Trainer::StepSwift(const proto::TrainBatch& batch) {
  const SwiftTraining& cfg = stage_.swift;
  const model::ModelConfig& mc = policy_->config();
  SCORCH_RETURN_IF_ERROR(cfg.head.Validate(mc).WithContext("swift_train head"));
  const torch::Device device = policy_->parameters().front().device();
  const int64_t max_len = mc.max_position_embeddings;

  // Features of each sample at the states that produced its sampled tokens, micro-batched.
  torch::NoGradGuard no_grad;
  const bool was_training = policy_->is_training();
  policy_->eval();
  int64_t scored_tokens = 0;
  const size_t rows_per_call = static_cast<size_t>(std::max<int64_t>(1, stage_.micro_batch_rows));
  for (size_t begin = 0; begin < batch.samples.size(); begin += rows_per_call) {
    const size_t end = std::min(batch.samples.size(), begin + rows_per_call);
    int64_t T = 0;
    for (size_t i = begin; i < end; ++i) {
      const auto& t = batch.samples[i].trajectory;
      if (t.token_ids.empty() || t.trainable_mask.size() != t.token_ids.size()) {
        return Status::InvalidArgument("TrainBatch.samples[" + std::to_string(i) +
                                       "]: empty trajectory or a trainable_mask of another length");
      }
      if (static_cast<int64_t>(t.token_ids.size()) > max_len) {
        return Status::InvalidArgument("TrainBatch.samples[" + std::to_string(i) + "]: " +
                                       std::to_string(t.token_ids.size()) + " tokens exceed the model's " +
                                       std::to_string(max_len));
      }
      T = std::max<int64_t>(T, static_cast<int64_t>(t.token_ids.size()));
    }
    const int64_t B = static_cast<int64_t>(end - begin);
    std::vector<int64_t> ids(static_cast<size_t>(B * T), 0), mask(static_cast<size_t>(B * T), 0);
    for (int64_t b = 0; b < B; ++b) {
      const auto& t = batch.samples[begin + static_cast<size_t>(b)].trajectory;
      for (size_t k = 0; k < t.token_ids.size(); ++k) {
        ids[static_cast<size_t>(b * T) + k] = t.token_ids[k];
        mask[static_cast<size_t>(b * T) + k] = 1;
      }
    }
    auto input = torch::tensor(ids, torch::kInt64).view({B, T}).to(device);
    auto attn = torch::tensor(mask, torch::kInt64).view({B, T}).to(device);
    torch::Tensor features = model::SwiftFeatures(policy_, cfg.head, input, attn).to(torch::kCPU);  // (B,T,D)
    for (int64_t b = 0; b < B; ++b) {
      const proto::TrainSample& s = batch.samples[begin + static_cast<size_t>(b)];
      std::vector<int64_t> positions;
      // The state that read each sampled token (ALGORITHMS §5: the response positions, the
      // end-of-turn token included), as the rollout worker scores them during generation.
      for (size_t k = 0; k < s.trajectory.trainable_mask.size() && k < s.trajectory.token_ids.size(); ++k) {
        if (s.trajectory.trainable_mask[k] != 0) positions.push_back(static_cast<int64_t>(k));
      }
      if (positions.empty()) continue;  // nothing sampled: nothing to score
      scored_tokens += static_cast<int64_t>(positions.size());
      SwiftExample e;
      e.features = features[b].index_select(0, torch::tensor(positions, torch::kInt64)).contiguous();
      e.label = s.reward > 0.5 ? 1.0f : 0.0f;
      e.group = s.trajectory.prompt_id;
      swift_examples_.push_back(std::move(e));
    }
  }
  if (was_training) policy_->train();
  ++swift_batches_;

  std::map<std::string, double> metrics;
  metrics["swift/examples"] = static_cast<double>(swift_examples_.size());
  metrics["swift/scored_tokens"] = static_cast<double>(scored_tokens);
  metrics["tokens"] = static_cast<double>(scored_tokens);
  if (swift_batches_ < cfg.batches) return metrics;

  // The stage's last batch: train the head on everything gathered, keep the best epoch's.
  model::SwiftHead head(model::SwiftInputDim(cfg.head, mc), cfg.head.gate);
  SCORCH_ASSIGN_OR_RETURN(SwiftTrainReport report, TrainSwiftHead(head, swift_examples_, cfg.train));
  swift_examples_.clear();
  metrics["swift/train_examples"] = static_cast<double>(report.train_examples);
  metrics["swift/val_examples"] = static_cast<double>(report.val_examples);
  metrics["swift/epochs"] = static_cast<double>(report.epochs_run);
  metrics["swift/best_epoch"] = static_cast<double>(report.best_epoch);
  metrics["swift/val_loss"] = report.best_val_loss;
  metrics["swift/val_accuracy"] = report.best_val_accuracy;
  if (report.val_pairs > 0) metrics["swift/val_pair_accuracy"] = report.best_val_pair_accuracy;
  metrics["swift/val_pairs"] = static_cast<double>(report.val_pairs);
  metrics["swift/parameters"] = static_cast<double>(model::CountParameters(*head));
  if (communicator_ == nullptr || communicator_->rank() == 0) {
    SCORCH_RETURN_IF_ERROR(model::SaveSwiftHead(head, cfg.head, cfg.output_dir));
    SCORCH_RETURN_IF_ERROR(AtomicWriteFile(cfg.output_dir / "swift_train_report.json", report.ToJson().dump(2) + "\n"));
  }
  return metrics;
}

}  // namespace scorch::learner
