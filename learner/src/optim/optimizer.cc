// AdamW step with warmup+cosine schedule and global-norm clipping; gradient accumulation
// helpers. See optimizer.h.
#include "scorch/learner/optimizer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace scorch::learner {

Status OptimizerConfig::Validate() const {
  if (!(lr >= 0.0)) return Status::InvalidArgument("optimizer.lr must be >= 0");
  if (!(beta1 >= 0.0 && beta1 < 1.0)) return Status::InvalidArgument("optimizer.beta1 must be in [0, 1)");
  if (!(beta2 >= 0.0 && beta2 < 1.0)) return Status::InvalidArgument("optimizer.beta2 must be in [0, 1)");
  if (!(eps > 0.0)) return Status::InvalidArgument("optimizer.eps must be > 0");
  if (!(weight_decay >= 0.0)) return Status::InvalidArgument("optimizer.weight_decay must be >= 0");
  if (std::isnan(max_grad_norm)) return Status::InvalidArgument("optimizer.max_grad_norm must be a number");
  if (warmup_steps < 0) return Status::InvalidArgument("optimizer.warmup_steps must be >= 0");
  if (total_steps < 0) return Status::InvalidArgument("optimizer.total_steps must be >= 0");
  if (total_steps > 0 && warmup_steps > total_steps) {
    return Status::InvalidArgument("optimizer.warmup_steps must be <= optimizer.total_steps");
  }
  if (!(min_lr_ratio >= 0.0 && min_lr_ratio <= 1.0)) {
    return Status::InvalidArgument("optimizer.min_lr_ratio must be in [0, 1]");
  }
  return Status::Ok();
}

double ScheduledLr(const OptimizerConfig& c, int64_t step) {
  if (step < c.warmup_steps) {
    return c.lr * static_cast<double>(step) / static_cast<double>(c.warmup_steps);
  }
  if (c.total_steps <= 0) return c.lr;
  const int64_t span = std::max<int64_t>(c.total_steps - c.warmup_steps, 1);
  double p = static_cast<double>(step - c.warmup_steps) / static_cast<double>(span);
  p = std::min(1.0, std::max(0.0, p));
  const double cosine = 0.5 * (1.0 + std::cos(std::numbers::pi * p));
  return c.lr * (c.min_lr_ratio + (1.0 - c.min_lr_ratio) * cosine);
}

double ClipGradNorm(const std::vector<torch::Tensor>& params, double max_norm) {
  torch::NoGradGuard no_grad;
  double sq = 0.0;
  for (const auto& p : params) {
    const auto& g = p.grad();
    if (g.defined()) sq += g.to(torch::kDouble).pow(2).sum().item<double>();
  }
  const double norm = std::sqrt(sq);
  if (max_norm > 0.0 && std::isfinite(norm)) {
    const double coef = max_norm / (norm + 1e-6);
    if (coef < 1.0) {
      for (const auto& p : params) {
        auto g = p.grad();
        if (g.defined()) g.mul_(coef);
      }
    }
  }
  return norm;
}

Optimizer::Optimizer(std::vector<torch::Tensor> params, const OptimizerConfig& config)
    : config_(config), params_(std::move(params)) {
  auto options = torch::optim::AdamWOptions(config.lr)
                     .betas({config.beta1, config.beta2})
                     .eps(config.eps)
                     .weight_decay(config.weight_decay);
  adamw_ = std::make_unique<torch::optim::AdamW>(params_, options);
}

StatusOr<std::unique_ptr<Optimizer>> Optimizer::Create(std::vector<torch::Tensor> params,
                                                       const OptimizerConfig& config) {
  SCORCH_RETURN_IF_ERROR(config.Validate());
  if (params.empty()) return Status::InvalidArgument("Optimizer: no parameters to optimise");
  for (size_t i = 0; i < params.size(); ++i) {
    if (!params[i].defined() || !params[i].is_floating_point() || !params[i].requires_grad()) {
      return Status::InvalidArgument("Optimizer: parameter " + std::to_string(i) +
                                     " must be a defined floating tensor that requires grad");
    }
  }
  return std::unique_ptr<Optimizer>(new Optimizer(std::move(params), config));
}

void Optimizer::ZeroGrad() {
  for (auto& p : params_) {
    if (p.grad().defined()) {
      p.grad().detach_();
      p.grad().zero_();
    }
  }
}

StatusOr<StepResult> Optimizer::Step() {
  StepResult r;
  r.lr = ScheduledLr(config_, step_);
  r.grad_norm = ClipGradNorm(params_, config_.max_grad_norm);
  if (!std::isfinite(r.grad_norm)) {
    ZeroGrad();
    return Status::FailedPrecondition("Optimizer: gradient norm is not finite (" + std::to_string(r.grad_norm) +
                                      ") at step " + std::to_string(step_) + "; update skipped");
  }
  for (auto& group : adamw_->param_groups()) {
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(r.lr);
  }
  adamw_->step();
  ZeroGrad();
  ++step_;
  r.step = step_;
  return r;
}

Status Optimizer::Save(const std::string& path) {
  try {
    torch::serialize::OutputArchive archive;
    adamw_->save(archive);
    archive.write("scorch_step", torch::tensor(step_, torch::kLong));
    archive.save_to(path);
  } catch (const c10::Error& e) {
    return Status::IoError("Optimizer::Save(" + path + "): " + e.what_without_backtrace());
  }
  return Status::Ok();
}

Status Optimizer::Load(const std::string& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path);
    adamw_->load(archive);
    torch::Tensor step;
    archive.read("scorch_step", step);
    step_ = step.item<int64_t>();
  } catch (const c10::Error& e) {
    return Status::DataLoss("Optimizer::Load(" + path + "): " + e.what_without_backtrace());
  }
  return Status::Ok();
}

// ---- accumulation --------------------------------------------------------------------------

LossStats MergeStats(const std::vector<LossStats>& parts) {
  LossStats out;
  if (parts.empty()) return out;
  double loss = 0.0, tokens = 0.0, sequences = 0.0;
  bool any_loss = false, any_tokens = false, any_seq = false;
  for (const auto& p : parts) {
    if (!std::isnan(p.loss)) {
      loss += p.loss;
      any_loss = true;
    }
    if (!std::isnan(p.tokens)) {
      tokens += p.tokens;
      any_tokens = true;
    }
    if (!std::isnan(p.sequences)) {
      sequences += p.sequences;
      any_seq = true;
    }
  }
  if (any_loss) out.loss = loss;
  if (any_tokens) out.tokens = tokens;
  if (any_seq) out.sequences = sequences;
  // Token-weighted mean of the remaining fields (weight 1 per part when tokens are absent).
  auto merge = [&parts](double LossStats::*field) {
    double num = 0.0, den = 0.0;
    for (const auto& p : parts) {
      const double v = p.*field;
      if (std::isnan(v)) continue;
      const double w = std::isnan(p.tokens) ? 1.0 : p.tokens;
      num += w * v;
      den += w;
    }
    return den > 0.0 ? num / den : kNotApplicable;
  };
  // The loss parts carry the whole-batch normaliser like `loss`, so they add up too.
  auto sum = [&parts](double LossStats::*field) {
    double total = 0.0;
    bool any = false;
    for (const auto& p : parts) {
      if (std::isnan(p.*field)) continue;
      total += p.*field;
      any = true;
    }
    return any ? total : kNotApplicable;
  };
  for (auto field : {&LossStats::policy_loss, &LossStats::value_loss, &LossStats::kl_loss}) out.*field = sum(field);
  for (auto field : {&LossStats::nll, &LossStats::kl_k1, &LossStats::kl_k2, &LossStats::kl_k3, &LossStats::entropy,
                     &LossStats::clip_fraction, &LossStats::value_clip_fraction, &LossStats::ratio_mean,
                     &LossStats::advantage_mean, &LossStats::reward_chosen, &LossStats::reward_rejected,
                     &LossStats::reward_accuracy, &LossStats::reward_margin}) {
    out.*field = merge(field);
  }
  return out;
}

StatusOr<LossStats> AccumulateGradients(int64_t num_micro,
                                        const std::function<StatusOr<LossResult>(int64_t)>& micro_step) {
  if (num_micro <= 0) return Status::InvalidArgument("AccumulateGradients: need at least one micro-batch");
  std::vector<LossStats> parts;
  for (int64_t i = 0; i < num_micro; ++i) {
    SCORCH_ASSIGN_OR_RETURN(auto r, micro_step(i));
    if (!r.loss.defined() || r.loss.numel() != 1) {
      return Status::InvalidArgument("AccumulateGradients: micro-batch " + std::to_string(i) +
                                     " returned no scalar loss");
    }
    if (r.loss.requires_grad()) r.loss.backward();
    parts.push_back(r.stats);
  }
  return MergeStats(parts);
}

std::vector<std::pair<int64_t, int64_t>> MicroBatchRanges(int64_t rows, int64_t micro_rows) {
  std::vector<std::pair<int64_t, int64_t>> out;
  if (rows <= 0) return out;
  if (micro_rows <= 0) micro_rows = rows;
  for (int64_t b = 0; b < rows; b += micro_rows) out.emplace_back(b, std::min(rows, b + micro_rows));
  return out;
}

}  // namespace scorch::learner
