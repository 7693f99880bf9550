// The learner's optimisation step: AdamW (torch::optim::AdamW), a linear-warmup + cosine
// learning-rate schedule (Hugging Face get_cosine_schedule_with_warmup, with an optional
// floor), global-norm gradient clipping, and gradient accumulation over micro-batches.
//
// Gradient accumulation by token count: every micro-batch's loss is computed with the
// WHOLE batch's normaliser (LossOptions::normalizer = total trained tokens, or rows for
// sequence-level losses; see losses.h), so the sum of the micro-batch gradients equals the
// gradient of one big batch, whatever the micro-batch sizes. Data-parallel ranks do the
// same with the normaliser summed over ranks and a SUM all-reduce of the gradients.
//
// Ownership: Optimizer holds the parameter tensors (shared handles, not the module).
// Thread-safety: not thread-safe; one training thread. Errors: Validate() and the Status
// returns name the bad field; a non-finite gradient norm makes Step skip the update and
// return FailedPrecondition (the caller decides whether to stop).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/learner/losses.h"

namespace scorch::learner {

struct OptimizerConfig {
  double lr = 1e-5;             // peak learning rate
  double beta1 = 0.9;           // AdamW β1
  double beta2 = 0.999;         // AdamW β2
  double eps = 1e-8;            // AdamW ε
  double weight_decay = 0.01;   // decoupled weight decay
  double max_grad_norm = 1.0;   // global L2 clip; <= 0 disables clipping
  int64_t warmup_steps = 0;     // linear warmup from 0 over this many steps
  int64_t total_steps = 0;      // cosine horizon (steps); 0 = constant lr after warmup
  double min_lr_ratio = 0.0;    // cosine floor as a fraction of lr

  [[nodiscard]] Status Validate() const;
};

// Learning rate for optimiser step `step` (0-based): lr·step/warmup during warmup, then
// lr·(m + (1 − m)·½(1 + cos(π·p))) with p = (step − warmup)/(total − warmup) clamped to
// [0, 1] and m = min_lr_ratio.
double ScheduledLr(const OptimizerConfig& config, int64_t step);

// L2 norm over all gradients (undefined grads skipped), then scales every gradient by
// min(1, max_norm/(norm + 1e-6)) when max_norm > 0. Returns the norm before clipping.
double ClipGradNorm(const std::vector<torch::Tensor>& params, double max_norm);

struct StepResult {
  int64_t step = 0;        // optimiser steps taken, after this one
  double lr = 0.0;         // learning rate used
  double grad_norm = 0.0;  // before clipping
};

class Optimizer {
 public:
  // REQUIRES: config.Validate().ok(); params non-empty, floating, requires_grad.
  static StatusOr<std::unique_ptr<Optimizer>> Create(std::vector<torch::Tensor> params,
                                                     const OptimizerConfig& config);

  // Sets the scheduled lr, clips, applies AdamW, zeroes the gradients.
  StatusOr<StepResult> Step();
  void ZeroGrad();

  int64_t step() const { return step_; }
  const std::vector<torch::Tensor>& params() const { return params_; }
  torch::optim::AdamW& adamw() { return *adamw_; }
  const OptimizerConfig& config() const { return config_; }

  // Optimizer state (AdamW moments, step counts) and our step, for checkpoints.
  Status Save(const std::string& path);
  Status Load(const std::string& path);

 private:
  Optimizer(std::vector<torch::Tensor> params, const OptimizerConfig& config);

  OptimizerConfig config_;
  std::vector<torch::Tensor> params_;
  std::unique_ptr<torch::optim::AdamW> adamw_;
  int64_t step_ = 0;
};

// Runs `micro_step(i)` for i in [0, num_micro): each call returns a loss computed with the
// whole batch's normaliser; its gradient is accumulated with backward(). Returns the merged
// stats (MergeStats). Stops at the first error.
StatusOr<LossStats> AccumulateGradients(int64_t num_micro,
                                        const std::function<StatusOr<LossResult>(int64_t)>& micro_step);

// Merges micro-batch stats: `loss`, its parts `policy_loss`, `value_loss`, `kl_loss`, and
// `tokens` and `sequences` add up (micro losses already carry the whole-batch normaliser, so
// the sum is the whole batch's value whatever the micro-batch split); every other field is the token-weighted mean of the
// micro-batches that have it.
LossStats MergeStats(const std::vector<LossStats>& parts);

// Splits `rows` into consecutive [begin, end) ranges of at most `micro_rows` rows.
std::vector<std::pair<int64_t, int64_t>> MicroBatchRanges(int64_t rows, int64_t micro_rows);

}  // namespace scorch::learner
