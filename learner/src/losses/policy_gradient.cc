// GRPO and PPO: group-normalised advantages, the clipped surrogate, GAE and multi-γ
// returns, the value loss. See losses.h for shapes and conventions.
#include <algorithm>
#include <cmath>
#include <unordered_map>

#include "loss_checks.h"
#include "scorch/learner/losses.h"

namespace scorch::learner {
namespace {

using internal::CheckSameShape;
using internal::CheckTokenTensor;
using internal::MaskAsFloat;
using internal::ToDouble;

// Per-sequence (B,) or per-token (B,T) advantages -> (B,T).
StatusOr<torch::Tensor> ExpandAdvantages(const torch::Tensor& advantages, const torch::Tensor& like,
                                         const char* who) {
  if (!advantages.defined()) return Status::InvalidArgument(std::string(who) + ": advantages are required");
  if (advantages.dim() == 1 && advantages.size(0) == like.size(0)) {
    return advantages.detach().to(like.device(), like.scalar_type()).unsqueeze(1).expand_as(like);
  }
  if (advantages.dim() == 2 && advantages.sizes() == like.sizes()) {
    return advantages.detach().to(like.device(), like.scalar_type());
  }
  return Status::InvalidArgument(std::string(who) + ": advantages must be (B,) or (B,T) matching logp");
}

Status CheckPolicyBatch(const PolicyBatch& b, bool need_ref, const char* who) {
  const std::string w(who);
  SCORCH_RETURN_IF_ERROR(CheckTokenTensor(b.logp, w + ": logp"));
  SCORCH_RETURN_IF_ERROR(CheckTokenTensor(b.old_logp, w + ": old_logp"));
  SCORCH_RETURN_IF_ERROR(CheckSameShape(b.old_logp, w + ": old_logp", b.logp, "logp"));
  SCORCH_RETURN_IF_ERROR(CheckSameShape(b.mask, w + ": mask", b.logp, "logp"));
  if (need_ref) {
    if (!b.ref_logp.defined()) return Status::InvalidArgument(w + ": ref_logp is required when beta > 0");
    SCORCH_RETURN_IF_ERROR(CheckSameShape(b.ref_logp, w + ": ref_logp", b.logp, "logp"));
  }
  if (b.ref_logp.defined()) SCORCH_RETURN_IF_ERROR(CheckSameShape(b.ref_logp, w + ": ref_logp", b.logp, "logp"));
  if (b.entropy.defined()) SCORCH_RETURN_IF_ERROR(CheckSameShape(b.entropy, w + ": entropy", b.logp, "logp"));
  return Status::Ok();
}

Status CheckClips(double low, double high, const char* who) {
  if (!(low >= 0.0 && low < 1.0) || !(high >= 0.0)) {
    return Status::InvalidArgument(std::string(who) + ": clip_low must be in [0,1) and clip_high >= 0");
  }
  return Status::Ok();
}

struct Surrogate {
  torch::Tensor per_token;  // −min(ρA, clip(ρ)A), (B,T)
  torch::Tensor ratio;      // detached
  torch::Tensor clipped;    // detached, 1 where the clip is active
};

Surrogate ClippedSurrogate(const torch::Tensor& logp, const torch::Tensor& old_logp, const torch::Tensor& adv,
                           const torch::Tensor& m, double clip_low, double clip_high) {
  // Masked positions may hold junk (e.g. -inf for padding): zero their log-ratio so no
  // NaN can reach the gradient through the multiplication by the mask.
  auto log_ratio = torch::where(m > 0, logp - old_logp.detach(), torch::zeros_like(logp));
  auto ratio = torch::exp(log_ratio);
  auto s1 = ratio * adv;
  auto s2 = torch::clamp(ratio, 1.0 - clip_low, 1.0 + clip_high) * adv;
  Surrogate s;
  s.per_token = -torch::min(s1, s2);
  s.ratio = ratio.detach();
  s.clipped = (((s.ratio < 1.0 - clip_low) & (adv < 0)) | ((s.ratio > 1.0 + clip_high) & (adv > 0)))
                  .to(logp.scalar_type());
  return s;
}

void FillPolicyStats(const PolicyBatch& b, const Surrogate& s, const torch::Tensor& adv, const torch::Tensor& m,
                     LossStats& st) {
  torch::NoGradGuard no_grad;
  st.tokens = ToDouble(m.sum());
  st.sequences = static_cast<double>(b.logp.size(0));
  st.clip_fraction = ToDouble(MaskedMean(s.clipped, m));
  st.ratio_mean = ToDouble(MaskedMean(s.ratio, m));
  st.advantage_mean = ToDouble(MaskedMean(adv, m));
  if (b.ref_logp.defined()) internal::FillKlStats(b.logp, b.ref_logp, m, st);
  if (b.entropy.defined()) st.entropy = ToDouble(MaskedMean(b.entropy.detach(), m));
}

Status CheckRewardInputs(const torch::Tensor& values, const torch::Tensor& mask, const char* who) {
  const std::string w(who);
  SCORCH_RETURN_IF_ERROR(CheckTokenTensor(values, w + ": values"));
  return CheckSameShape(mask, w + ": mask", values, "values");
}

}  // namespace

// ---- GRPO ---------------------------------------------------------------------------------

StatusOr<torch::Tensor> GroupNormalizedAdvantages(const torch::Tensor& rewards, const std::vector<int64_t>& group_ids,
                                                  const GroupAdvantageOptions& options) {
  if (!rewards.defined() || rewards.dim() != 1) {
    return Status::InvalidArgument("GroupNormalizedAdvantages: rewards must be a 1-D (N,) tensor");
  }
  if (static_cast<int64_t>(group_ids.size()) != rewards.size(0)) {
    return Status::InvalidArgument("GroupNormalizedAdvantages: " + std::to_string(group_ids.size()) +
                                   " group ids for " + std::to_string(rewards.size(0)) + " rewards");
  }
  if (!(options.eps >= 0.0)) return Status::InvalidArgument("GroupNormalizedAdvantages: eps must be >= 0");
  auto r = rewards.detach().to(torch::kCPU, torch::kDouble).contiguous();
  const double* rv = r.data_ptr<double>();
  const size_t n = group_ids.size();
  std::unordered_map<int64_t, std::vector<size_t>> groups;
  for (size_t i = 0; i < n; ++i) groups[group_ids[i]].push_back(i);
  auto out = torch::zeros({static_cast<int64_t>(n)}, torch::kDouble);
  double* ov = out.data_ptr<double>();
  for (const auto& [id, members] : groups) {
    const double k = static_cast<double>(members.size());
    double mean = 0.0;
    for (size_t i : members) mean += rv[i];
    mean /= k;
    double ss = 0.0;
    for (size_t i : members) ss += (rv[i] - mean) * (rv[i] - mean);
    double var = 0.0;
    if (options.unbiased_std) {
      var = members.size() > 1 ? ss / (k - 1.0) : 0.0;
    } else {
      var = ss / k;
    }
    const double scale = options.scale_by_std ? 1.0 / (std::sqrt(var) + options.eps) : 1.0;
    for (size_t i : members) ov[i] = (rv[i] - mean) * scale;
  }
  return out.to(torch::kFloat);
}

StatusOr<LossResult> GrpoLoss(const PolicyBatch& batch, const GrpoOptions& options) {
  SCORCH_RETURN_IF_ERROR(CheckPolicyBatch(batch, options.beta > 0.0, "GrpoLoss"));
  SCORCH_RETURN_IF_ERROR(CheckClips(options.clip_low, options.clip_high, "GrpoLoss"));
  if (options.beta < 0.0 || options.normalizer < 0.0) {
    return Status::InvalidArgument("GrpoLoss: beta and normalizer must be >= 0");
  }
  SCORCH_ASSIGN_OR_RETURN(auto adv, ExpandAdvantages(batch.advantages, batch.logp, "GrpoLoss"));
  auto m = MaskAsFloat(batch.mask, batch.logp);
  auto s = ClippedSurrogate(batch.logp, batch.old_logp, adv, m, options.clip_low, options.clip_high);
  LossResult r;
  auto policy = AggregateTokens(s.per_token, m, options.aggregation, options.normalizer);
  r.loss = policy;
  if (options.beta > 0.0) {
    auto safe_logp = torch::where(m > 0, batch.logp, batch.ref_logp.detach());
    auto kl = KlPerToken(safe_logp, batch.ref_logp.detach(), options.kl_estimator);
    auto kl_term = options.beta * AggregateTokens(kl, m, options.aggregation, options.normalizer);
    r.loss = r.loss + kl_term;
    r.stats.kl_loss = ToDouble(kl_term);
  }
  r.stats.policy_loss = ToDouble(policy);
  r.stats.loss = ToDouble(r.loss);
  FillPolicyStats(batch, s, adv, m, r.stats);
  return r;
}

// ---- PPO advantages -------------------------------------------------------------------------

StatusOr<torch::Tensor> TerminalRewards(const torch::Tensor& scores, const torch::Tensor& mask) {
  if (!mask.defined() || mask.dim() != 2) return Status::InvalidArgument("TerminalRewards: mask must be (B,T)");
  if (!scores.defined() || scores.dim() != 1 || scores.size(0) != mask.size(0)) {
    return Status::InvalidArgument("TerminalRewards: scores must be (B,) with B = " + std::to_string(mask.size(0)));
  }
  auto m = (mask.detach() != 0).to(torch::kLong);
  const int64_t t = m.size(1);
  auto out = torch::zeros(m.sizes(), torch::TensorOptions().dtype(torch::kFloat).device(mask.device()));
  if (t == 0) return out;
  // Index of the last masked token: T−1 − argmax over the reversed mask (first 1 from the end).
  auto last = (t - 1) - m.flip({1}).argmax(1);
  auto has_any = m.sum(1) > 0;
  auto vals = torch::where(has_any, scores.detach().to(out.options()), torch::zeros_like(scores, out.options()));
  out.scatter_(1, last.unsqueeze(1), vals.unsqueeze(1));
  return out;
}

StatusOr<AdvantageResult> ComputeGae(const torch::Tensor& rewards, const torch::Tensor& values,
                                     const torch::Tensor& mask, double gamma, double lambda) {
  SCORCH_RETURN_IF_ERROR(CheckRewardInputs(values, mask, "ComputeGae"));
  SCORCH_RETURN_IF_ERROR(CheckSameShape(rewards, "ComputeGae: rewards", values, "values"));
  if (!(gamma >= 0.0 && gamma <= 1.0) || !(lambda >= 0.0 && lambda <= 1.0)) {
    return Status::InvalidArgument("ComputeGae: gamma and lambda must be in [0, 1]");
  }
  torch::NoGradGuard no_grad;
  auto v = values.detach().to(torch::kFloat);
  auto r = rewards.detach().to(v.options());
  auto m = (mask.detach() != 0).to(v.device());
  const int64_t b = v.size(0), t = v.size(1);
  auto adv = torch::zeros({b, t}, v.options());
  auto next_v = torch::zeros({b}, v.options());
  auto next_a = torch::zeros({b}, v.options());
  for (int64_t i = t - 1; i >= 0; --i) {
    auto mi = m.select(1, i);
    auto vi = v.select(1, i);
    auto delta = r.select(1, i) + gamma * next_v - vi;
    auto a = delta + (gamma * lambda) * next_a;
    adv.select(1, i).copy_(torch::where(mi, a, torch::zeros_like(a)));
    next_v = torch::where(mi, vi, next_v);
    next_a = torch::where(mi, a, next_a);
  }
  AdvantageResult out;
  out.advantages = adv;
  out.returns = (adv + v) * m.to(v.scalar_type());
  return out;
}

StatusOr<AdvantageResult> ComputeMultiGammaReturns(const std::vector<torch::Tensor>& rewards,
                                                   const std::vector<double>& gammas, const torch::Tensor& values,
                                                   const torch::Tensor& mask) {
  SCORCH_RETURN_IF_ERROR(CheckRewardInputs(values, mask, "ComputeMultiGammaReturns"));
  if (rewards.empty() || rewards.size() != gammas.size()) {
    return Status::InvalidArgument("ComputeMultiGammaReturns: need one gamma per reward stream (got " +
                                   std::to_string(rewards.size()) + " streams, " + std::to_string(gammas.size()) +
                                   " gammas)");
  }
  torch::NoGradGuard no_grad;
  auto v = values.detach().to(torch::kFloat);
  auto m = (mask.detach() != 0).to(v.device());
  const int64_t b = v.size(0), t = v.size(1);
  auto total = torch::zeros({b, t}, v.options());
  for (size_t k = 0; k < rewards.size(); ++k) {
    SCORCH_RETURN_IF_ERROR(CheckSameShape(rewards[k], "ComputeMultiGammaReturns: rewards[" + std::to_string(k) + "]",
                                          values, "values"));
    if (!(gammas[k] >= 0.0 && gammas[k] <= 1.0)) {
      return Status::InvalidArgument("ComputeMultiGammaReturns: gamma must be in [0, 1]");
    }
    auto r = rewards[k].detach().to(v.options());
    auto next_g = torch::zeros({b}, v.options());
    for (int64_t i = t - 1; i >= 0; --i) {
      auto mi = m.select(1, i);
      auto g = r.select(1, i) + gammas[k] * next_g;
      total.select(1, i).add_(torch::where(mi, g, torch::zeros_like(g)));
      next_g = torch::where(mi, g, next_g);
    }
  }
  AdvantageResult out;
  auto mf = m.to(v.scalar_type());
  out.returns = total * mf;
  out.advantages = (total - v) * mf;
  return out;
}

StatusOr<AdvantageResult> PpoAdvantages(const std::vector<torch::Tensor>& reward_streams,
                                        const torch::Tensor& old_logp, const torch::Tensor& ref_logp,
                                        const torch::Tensor& values, const torch::Tensor& mask,
                                        const PpoRewardOptions& options) {
  SCORCH_RETURN_IF_ERROR(CheckRewardInputs(values, mask, "PpoAdvantages"));
  if (reward_streams.empty() || reward_streams.size() != options.gammas.size()) {
    return Status::InvalidArgument("PpoAdvantages: need one gamma per reward stream (got " +
                                   std::to_string(reward_streams.size()) + " streams, " +
                                   std::to_string(options.gammas.size()) + " gammas)");
  }
  if (reward_streams.size() > 1 && options.lambda != 1.0) {
    return Status::InvalidArgument("PpoAdvantages: several reward streams (multi-gamma mode) require lambda = 1");
  }
  if (options.kl_coef < 0.0) return Status::InvalidArgument("PpoAdvantages: kl_coef must be >= 0");
  torch::NoGradGuard no_grad;
  torch::Tensor kl;
  if (options.kl_coef > 0.0) {
    SCORCH_RETURN_IF_ERROR(CheckSameShape(old_logp, "PpoAdvantages: old_logp", values, "values"));
    SCORCH_RETURN_IF_ERROR(CheckSameShape(ref_logp, "PpoAdvantages: ref_logp", values, "values"));
    auto m = MaskAsFloat(mask, values.to(torch::kFloat));
    kl = KlPerToken(old_logp.detach().to(torch::kFloat), ref_logp.detach().to(torch::kFloat), options.kl_estimator) *
         m;
  }
  const double k = static_cast<double>(reward_streams.size());
  std::vector<torch::Tensor> streams;
  for (size_t i = 0; i < reward_streams.size(); ++i) {
    SCORCH_RETURN_IF_ERROR(CheckSameShape(reward_streams[i], "PpoAdvantages: reward_streams[" + std::to_string(i) + "]",
                                          values, "values"));
    auto r = reward_streams[i].detach().to(torch::kFloat);
    if (kl.defined()) r = r - (options.kl_coef / k) * kl;
    streams.push_back(r);
  }
  if (streams.size() == 1) return ComputeGae(streams[0], values, mask, options.gammas[0], options.lambda);
  return ComputeMultiGammaReturns(streams, options.gammas, values, mask);
}

torch::Tensor WhitenAdvantages(const torch::Tensor& advantages, const torch::Tensor& mask) {
  torch::NoGradGuard no_grad;
  auto m = MaskAsFloat(mask, advantages);
  auto mean = MaskedMean(advantages, m);
  auto var = MaskedMean((advantages - mean).pow(2), m);
  return (advantages - mean) / (var.sqrt() + 1e-8) * m;
}

// ---- PPO loss --------------------------------------------------------------------------------

StatusOr<LossResult> PpoLoss(const PolicyBatch& batch, const ValueBatch& value, const PpoOptions& options) {
  SCORCH_RETURN_IF_ERROR(CheckPolicyBatch(batch, false, "PpoLoss"));
  SCORCH_RETURN_IF_ERROR(CheckClips(options.clip_low, options.clip_high, "PpoLoss"));
  if (options.value_coef < 0.0 || options.entropy_coef < 0.0 || options.normalizer < 0.0) {
    return Status::InvalidArgument("PpoLoss: value_coef, entropy_coef and normalizer must be >= 0");
  }
  if (options.entropy_coef > 0.0 && !batch.entropy.defined()) {
    return Status::InvalidArgument("PpoLoss: entropy_coef > 0 needs PolicyBatch::entropy");
  }
  SCORCH_ASSIGN_OR_RETURN(auto adv, ExpandAdvantages(batch.advantages, batch.logp, "PpoLoss"));
  auto m = MaskAsFloat(batch.mask, batch.logp);
  auto s = ClippedSurrogate(batch.logp, batch.old_logp, adv, m, options.clip_low, options.clip_high);
  LossResult r;
  auto policy = AggregateTokens(s.per_token, m, options.aggregation, options.normalizer);
  r.loss = policy;
  r.stats.policy_loss = ToDouble(policy);
  if (value.values.defined()) {
    SCORCH_RETURN_IF_ERROR(CheckTokenTensor(value.values, "PpoLoss: values"));
    SCORCH_RETURN_IF_ERROR(CheckSameShape(value.values, "PpoLoss: values", batch.logp, "logp"));
    SCORCH_RETURN_IF_ERROR(CheckSameShape(value.returns, "PpoLoss: returns", batch.logp, "logp"));
    auto ret = value.returns.detach().to(value.values.scalar_type());
    auto vm = MaskAsFloat(batch.mask, value.values);
    auto err = (value.values - ret).pow(2);
    torch::Tensor per_token = err;
    if (options.value_clip > 0.0) {
      SCORCH_RETURN_IF_ERROR(CheckSameShape(value.old_values, "PpoLoss: old_values", batch.logp, "logp"));
      auto old_v = value.old_values.detach().to(value.values.scalar_type());
      auto v_clip = old_v + torch::clamp(value.values - old_v, -options.value_clip, options.value_clip);
      auto err_clip = (v_clip - ret).pow(2);
      per_token = torch::max(err, err_clip);
      r.stats.value_clip_fraction = ToDouble(MaskedMean((err_clip.detach() > err.detach()).to(vm.scalar_type()), vm));
    }
    auto vloss = 0.5 * MaskedMean(per_token, vm, options.normalizer);
    r.stats.value_loss = ToDouble(vloss);
    r.loss = r.loss + options.value_coef * vloss.to(r.loss.scalar_type());
  }
  if (options.entropy_coef > 0.0) {
    r.loss = r.loss - options.entropy_coef * AggregateTokens(batch.entropy, m, options.aggregation, options.normalizer);
  }
  r.stats.loss = ToDouble(r.loss);
  FillPolicyStats(batch, s, adv, m, r.stats);
  return r;
}

}  // namespace scorch::learner
