// Building blocks of the objectives (token log-probs, entropy, KL estimators, masked
// aggregation), input checks, and the SFT and PCL losses. See losses.h.
#include <algorithm>
#include <cmath>
#include <sstream>

#include "loss_checks.h"
#include "scorch/learner/losses.h"

namespace scorch::learner {
namespace internal {

namespace {
std::string ShapeString(const torch::Tensor& t) {
  std::ostringstream os;
  os << t.sizes();
  return os.str();
}
}  // namespace

Status CheckTokenTensor(const torch::Tensor& t, const std::string& name) {
  if (!t.defined()) return Status::InvalidArgument(name + " is required but undefined");
  if (!t.is_floating_point()) return Status::InvalidArgument(name + " must be a floating-point tensor");
  if (t.dim() != 2) {
    return Status::InvalidArgument(name + " must be (B,T), got shape " + ShapeString(t));
  }
  return Status::Ok();
}

Status CheckSameShape(const torch::Tensor& t, const std::string& name, const torch::Tensor& like,
                      const std::string& like_name) {
  if (!t.defined()) return Status::InvalidArgument(name + " is required but undefined");
  if (t.sizes() != like.sizes()) {
    return Status::InvalidArgument(name + " has shape " + ShapeString(t) + " but " + like_name +
                                   " has shape " + ShapeString(like));
  }
  return Status::Ok();
}

torch::Tensor MaskAsFloat(const torch::Tensor& mask, const torch::Tensor& like) {
  return mask.detach().to(like.device(), like.scalar_type());
}

torch::Tensor Masked(const torch::Tensor& x, const torch::Tensor& m) {
  return torch::where(m != 0, x * m, torch::zeros_like(x));
}

double ToDouble(const torch::Tensor& scalar) { return scalar.detach().to(torch::kCPU).item<double>(); }

void FillKlStats(const torch::Tensor& logp, const torch::Tensor& ref_logp, const torch::Tensor& mask,
                 LossStats& stats) {
  torch::NoGradGuard no_grad;
  auto lp = logp.detach();
  auto ref = ref_logp.detach();
  stats.kl_k1 = ToDouble(MaskedMean(KlPerToken(lp, ref, KlEstimator::kK1), mask));
  stats.kl_k2 = ToDouble(MaskedMean(KlPerToken(lp, ref, KlEstimator::kK2), mask));
  stats.kl_k3 = ToDouble(MaskedMean(KlPerToken(lp, ref, KlEstimator::kK3), mask));
}

}  // namespace internal

using internal::CheckSameShape;
using internal::CheckTokenTensor;
using internal::MaskAsFloat;
using internal::ToDouble;

std::map<std::string, double> LossStats::ToMap() const {
  std::map<std::string, double> m;
  auto put = [&m](const char* name, double v) {
    if (!std::isnan(v)) m[name] = v;
  };
  put("loss", loss);
  put("policy_loss", policy_loss);
  put("value_loss", value_loss);
  put("kl_loss", kl_loss);
  put("nll", nll);
  put("kl_k1", kl_k1);
  put("kl_k2", kl_k2);
  put("kl_k3", kl_k3);
  put("entropy", entropy);
  put("clip_fraction", clip_fraction);
  put("value_clip_fraction", value_clip_fraction);
  put("ratio_mean", ratio_mean);
  put("advantage_mean", advantage_mean);
  put("reward_chosen", reward_chosen);
  put("reward_rejected", reward_rejected);
  put("reward_accuracy", reward_accuracy);
  put("reward_margin", reward_margin);
  put("tokens", tokens);
  put("sequences", sequences);
  return m;
}

StatusOr<torch::Tensor> TokenLogProbs(const torch::Tensor& logits, const torch::Tensor& input_ids) {
  if (!logits.defined() || logits.dim() != 3 || !logits.is_floating_point()) {
    return Status::InvalidArgument("TokenLogProbs: logits must be a floating (B,T,V) tensor");
  }
  if (!input_ids.defined() || input_ids.dim() != 2 || input_ids.size(0) != logits.size(0) ||
      input_ids.size(1) != logits.size(1)) {
    return Status::InvalidArgument("TokenLogProbs: input_ids must be (B,T) matching logits' (B,T)");
  }
  if (input_ids.is_floating_point()) {
    return Status::InvalidArgument("TokenLogProbs: input_ids must be an integer tensor");
  }
  const int64_t b = logits.size(0), t = logits.size(1), v = logits.size(2);
  auto ids = input_ids.to(torch::kLong);
  if (t > 1) {
    auto targets = ids.slice(1, 1, t);
    if (targets.numel() > 0 && (targets.min().item<int64_t>() < 0 || targets.max().item<int64_t>() >= v)) {
      return Status::InvalidArgument("TokenLogProbs: a token id is outside [0, vocab=" + std::to_string(v) + ")");
    }
  }
  auto out = torch::zeros({b, t}, logits.options());
  if (t <= 1) return out;
  auto logp = torch::log_softmax(logits.slice(1, 0, t - 1), -1);
  auto picked = logp.gather(2, ids.slice(1, 1, t).unsqueeze(-1)).squeeze(-1);
  return torch::cat({torch::zeros({b, 1}, logits.options()), picked}, 1);
}

torch::Tensor EntropyFromLogits(const torch::Tensor& logits) {
  auto logp = torch::log_softmax(logits, -1);
  return -(logp.exp() * logp).sum(-1);
}

StatusOr<torch::Tensor> TokenEntropy(const torch::Tensor& logits) {
  if (!logits.defined() || logits.dim() != 3 || !logits.is_floating_point()) {
    return Status::InvalidArgument("TokenEntropy: logits must be a floating (B,T,V) tensor");
  }
  const int64_t b = logits.size(0), t = logits.size(1);
  if (t <= 1) return torch::zeros({b, t}, logits.options());
  auto h = EntropyFromLogits(logits.slice(1, 0, t - 1));
  return torch::cat({torch::zeros({b, 1}, logits.options()), h}, 1);
}

torch::Tensor KlPerToken(const torch::Tensor& logp, const torch::Tensor& ref_logp, KlEstimator estimator) {
  auto delta = ref_logp - logp;
  switch (estimator) {
    case KlEstimator::kK1:
      return -delta;
    case KlEstimator::kK2:
      return 0.5 * delta * delta;
    case KlEstimator::kK3:
      return torch::exp(delta) - delta - 1.0;
  }
  return -delta;  // unreachable: all enumerators handled
}

torch::Tensor MaskedMean(const torch::Tensor& x, const torch::Tensor& mask, double normalizer) {
  auto m = MaskAsFloat(mask, x);
  auto num = internal::Masked(x, m).sum();
  if (normalizer > 0.0) return num / normalizer;
  return num / m.sum().clamp_min(1.0);
}

torch::Tensor AggregateTokens(const torch::Tensor& per_token, const torch::Tensor& mask,
                              Aggregation aggregation, double normalizer) {
  auto m = MaskAsFloat(mask, per_token);
  if (aggregation == Aggregation::kTokenMean) return MaskedMean(per_token, m, normalizer);
  auto per_row = internal::Masked(per_token, m).sum(1) / m.sum(1).clamp_min(1.0);
  const double rows = normalizer > 0.0 ? normalizer : static_cast<double>(std::max<int64_t>(per_token.size(0), 1));
  return per_row.sum() / rows;
}

// ---- SFT ----------------------------------------------------------------------------------

StatusOr<LossResult> SftLoss(const torch::Tensor& logp, const torch::Tensor& mask, const SftOptions& options,
                             const torch::Tensor& sample_weights) {
  SCORCH_RETURN_IF_ERROR(CheckTokenTensor(logp, "SftLoss: logp"));
  SCORCH_RETURN_IF_ERROR(CheckSameShape(mask, "SftLoss: mask", logp, "logp"));
  if (options.normalizer < 0.0) return Status::InvalidArgument("SftLoss: normalizer must be >= 0");
  auto m = MaskAsFloat(mask, logp);
  auto weighted = m;
  if (sample_weights.defined()) {
    if (sample_weights.dim() != 1 || sample_weights.size(0) != logp.size(0)) {
      return Status::InvalidArgument("SftLoss: sample_weights must be (B,) with B = " +
                                     std::to_string(logp.size(0)));
    }
    weighted = m * MaskAsFloat(sample_weights, logp).unsqueeze(1);
  }
  const double tokens = ToDouble(m.sum());
  const double denom = options.normalizer > 0.0 ? options.normalizer : std::max(tokens, 1.0);
  LossResult r;
  r.loss = -internal::Masked(logp, weighted).sum() / denom;
  r.stats.loss = ToDouble(r.loss);
  r.stats.nll = ToDouble(-internal::Masked(logp.detach(), m).sum()) / std::max(tokens, 1.0);
  r.stats.tokens = tokens;
  r.stats.sequences = static_cast<double>(logp.size(0));
  return r;
}

// ---- PCL ----------------------------------------------------------------------------------

double PclEvalSchedule(int64_t step, int64_t decay_steps) {
  if (decay_steps <= 0) return 1.0;
  const double r = 1.0 - static_cast<double>(step) / static_cast<double>(decay_steps);
  return std::max(0.0, std::min(1.0, r));
}

double PclEvalSampleWeight(double rho_t, bool teacher_valid, double invalid_scale) {
  return teacher_valid ? rho_t : rho_t * invalid_scale;
}

StatusOr<LossResult> PclLoss(const LossResult& grpo, const LossResult& sft_reason, const LossResult& sft_eval,
                             const PclOptions& options) {
  if (!grpo.loss.defined() || !sft_reason.loss.defined() || !sft_eval.loss.defined()) {
    return Status::InvalidArgument("PclLoss: all three track losses must be defined");
  }
  if (grpo.loss.numel() != 1 || sft_reason.loss.numel() != 1 || sft_eval.loss.numel() != 1) {
    return Status::InvalidArgument("PclLoss: track losses must be scalars");
  }
  if (options.w_grpo < 0 || options.w_reason < 0 || options.w_eval < 0) {
    return Status::InvalidArgument("PclLoss: weights must be >= 0");
  }
  LossResult r;
  r.loss = options.w_grpo * grpo.loss + options.w_reason * sft_reason.loss + options.w_eval * sft_eval.loss;
  r.stats = grpo.stats;
  r.stats.loss = ToDouble(r.loss);
  r.stats.nll = sft_reason.stats.nll;
  return r;
}

}  // namespace scorch::learner
