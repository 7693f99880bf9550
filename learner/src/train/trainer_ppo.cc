// Trainer, PPO objective (ALGORITHMS §4.2): critic set-up and the two-pass PPO step.
//
// Pass 1 (no grad) over the whole batch, micro-batch by micro-batch: the critic's values at
// sampling time, the sampling policy's log-probs (recorded by the worker for an older
// version, else the current ones, which equal them) and the reference's log-probs when the
// KL penalty is on. Then, on whole-batch (N, T) tensors: terminal rewards on each row's last
// trained token, r_t − β·KL_t, GAE → advantages and returns, advantages whitened over every
// trained token of the batch. Pass 2 (grad): clipped surrogate + clipped value loss per
// micro-batch with the whole batch's token normaliser; one AdamW step for the policy and one
// for the critic.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "scorch/learner/trainer.h"
#include "trainer_internal.h"

namespace scorch::learner {

using trainer_internal::PadRows;
using trainer_internal::PaddedRows;

Status Trainer::BeginCritic() {
  // The critic starts from the policy's trunk (SRR: actor and critic both start from the IFT
  // model) with a zero value head, so its first values are 0 and its first targets are the
  // returns themselves.
  critic_ = model::Critic(policy_->config());
  {
    torch::NoGradGuard no_grad;
    auto src = policy_->named_parameters();
    for (auto& item : critic_->named_parameters()) {
      if (item.key().rfind("model.", 0) == 0) {
        const torch::Tensor* p = src.find(item.key());
        if (p == nullptr) return Status::Internal("critic parameter " + item.key() + " has no policy counterpart");
        item.value().copy_(*p);
      } else {
        item.value().zero_();
      }
    }
  }
  critic_->to(policy_->parameters().front().device());
  critic_->train();
  std::vector<torch::Tensor> params;
  for (auto& p : critic_->parameters()) params.push_back(p);
  SCORCH_RETURN_IF_ERROR(stage_.ppo.critic_optimizer.Validate());
  SCORCH_ASSIGN_OR_RETURN(critic_optimizer_, Optimizer::Create(std::move(params), stage_.ppo.critic_optimizer));
  return Status::Ok();
}

StatusOr<std::map<std::string, double>> Trainer::StepPpo(std::vector<Row> rows) {
  if (!critic_ || !critic_optimizer_) return Status::FailedPrecondition("PPO step without a critic (BeginStage)");
  const torch::Device device = policy_->parameters().front().device();
  const auto n_rows = static_cast<int64_t>(rows.size());
  int64_t width = 0;
  for (const Row& r : rows) width = std::max<int64_t>(width, static_cast<int64_t>(r.tokens.size()));
  const auto ranges = MicroBatchRanges(n_rows, stage_.micro_batch_rows);

  // ---- pass 1: sampling-time values and log-probs, whole batch ---------------------------
  const auto f32 = torch::TensorOptions().dtype(torch::kFloat32).device(device);
  auto mask = torch::zeros({n_rows, width}, f32);
  auto old_values = torch::zeros({n_rows, width}, f32);
  auto old_logp = torch::zeros({n_rows, width}, f32);
  torch::Tensor ref_logp = reference_ ? torch::zeros({n_rows, width}, f32) : torch::Tensor();
  {
    torch::NoGradGuard no_grad;
    critic_->eval();
    policy_->eval();
    for (const auto& [begin, end] : ranges) {
      PaddedRows p = PadRows(rows, begin, end, width, device);
      mask.narrow(0, begin, p.rows).copy_(p.mask);
      old_values.narrow(0, begin, p.rows).copy_(critic_->forward(p.ids, p.attention).to(torch::kFloat32));
      auto out = policy_->forward(p.ids, p.attention);
      SCORCH_ASSIGN_OR_RETURN(torch::Tensor logp, TokenLogProbs(out.logits, p.ids));
      old_logp.narrow(0, begin, p.rows).copy_(p.on_policy * logp + (1.0f - p.on_policy) * p.sampler_logp);
      if (reference_) {
        auto ref_out = reference_->forward(p.ids, p.attention);
        SCORCH_ASSIGN_OR_RETURN(torch::Tensor r, TokenLogProbs(ref_out.logits, p.ids));
        ref_logp.narrow(0, begin, p.rows).copy_(r);
      }
    }
  }
  std::vector<float> scores;
  for (const Row& r : rows) scores.push_back(static_cast<float>(r.reward));
  SCORCH_ASSIGN_OR_RETURN(torch::Tensor terminal, TerminalRewards(torch::tensor(scores).to(device), mask));
  // Per-token rewards a sample carries (shaping) join the terminal one in the same stream.
  for (int64_t b = 0; b < n_rows; ++b) {
    const auto& dense = rows[static_cast<size_t>(b)].dense_rewards;
    if (dense.empty()) continue;
    auto d = torch::tensor(dense, torch::kFloat32).to(device) * mask[b].narrow(0, 0, static_cast<int64_t>(dense.size()));
    terminal[b].narrow(0, 0, static_cast<int64_t>(dense.size())).add_(d);
  }
  PpoRewardOptions reward_options;
  reward_options.gammas = {stage_.ppo.gamma};
  reward_options.lambda = stage_.ppo.lambda;
  reward_options.kl_coef = reference_ ? stage_.kl_beta : 0.0;
  reward_options.kl_estimator = KlEstimator::kK1;  // the per-token penalty log π − log π_ref (OpenRLHF, veRL)
  SCORCH_ASSIGN_OR_RETURN(AdvantageResult adv,
                          PpoAdvantages({terminal}, old_logp, ref_logp, old_values, mask, reward_options));
  torch::Tensor advantages = adv.advantages;
  if (stage_.ppo.whiten_advantages) {
    SCORCH_ASSIGN_OR_RETURN(advantages, WhitenOverRanks(adv.advantages, mask));
  }

  // Whole-batch token normaliser, summed over data-parallel ranks.
  SCORCH_ASSIGN_OR_RETURN(double normalizer, SumOverRanks(mask.sum().item<double>()));
  normalizer = std::max(normalizer, 1.0);

  // ---- pass 2: the loss, micro-batched -----------------------------------------------------
  policy_->train();
  critic_->train();
  auto micro_step = [&](int64_t m) -> StatusOr<LossResult> {
    const auto [begin, end] = ranges[static_cast<size_t>(m)];
    PaddedRows p = PadRows(rows, begin, end, width, device);
    auto out = policy_->forward(p.ids, p.attention);
    SCORCH_ASSIGN_OR_RETURN(torch::Tensor logp, TokenLogProbs(out.logits, p.ids));
    PolicyBatch pb;
    pb.logp = logp;
    pb.old_logp = old_logp.narrow(0, begin, p.rows);
    pb.advantages = advantages.narrow(0, begin, p.rows);
    pb.mask = p.mask;
    {
      torch::NoGradGuard no_grad;
      auto e = TokenEntropy(out.logits.detach());
      if (e.ok()) pb.entropy = *e;
    }
    ValueBatch vb;
    vb.values = critic_->forward(p.ids, p.attention);
    vb.old_values = old_values.narrow(0, begin, p.rows);
    vb.returns = adv.returns.narrow(0, begin, p.rows);
    PpoOptions o;
    o.clip_low = stage_.grpo.clip_low;
    o.clip_high = stage_.grpo.clip_high;
    o.value_clip = stage_.ppo.value_clip;
    o.value_coef = 1.0;  // the critic has its own optimiser and lr: no need to rescale its loss
    o.normalizer = normalizer;
    return PpoLoss(pb, vb, o);
  };
  LossStats stats;  // an empty data-parallel shard: zero gradients, no statistics
  if (!ranges.empty()) {
    auto accumulated = AccumulateGradients(static_cast<int64_t>(ranges.size()), micro_step);
    if (!accumulated.ok()) {
      optimizer_->ZeroGrad();
      critic_optimizer_->ZeroGrad();
      return accumulated.status();
    }
    stats = *accumulated;
  }
  SCORCH_RETURN_IF_ERROR(AllReduceGradients(*critic_optimizer_));
  auto stepped = ApplyGradients();  // the policy's step; bumps the version
  if (!stepped.ok()) {
    critic_optimizer_->ZeroGrad();
    return stepped.status();
  }
  auto critic_stepped = critic_optimizer_->Step();
  if (!critic_stepped.ok()) {
    // The policy stepped; a critic with a non-finite gradient keeps its weights this step.
    critic_optimizer_->ZeroGrad();
  }

  std::map<std::string, double> metrics;
  for (const auto& [k, v] : stats.ToMap()) {
    if (k.rfind("kl_k", 0) == 0) {
      metrics["kl/" + k.substr(3)] = v;
    } else {
      metrics[k] = v;
    }
  }
  const bool has_tokens = mask.sum().item<double>() > 0.0;
  if (reference_ && has_tokens) {
    // KL of the sampling policy to the reference over the trained tokens (the penalty's base).
    metrics["kl/k1"] = MaskedMean(old_logp - ref_logp, mask).item<double>();
  }
  // Explained variance of the returns by the sampling-time values: 1 = a perfect critic.
  if (data_parallel()) {
    // Over the global batch from summed moments (one all-reduce), so every rank reports the
    // same value; the means are token means that the group's metric reduction weights.
    SCORCH_ASSIGN_OR_RETURN(const double ev, ExplainedVarianceOverRanks(adv.returns, old_values, mask));
    if (!std::isnan(ev)) metrics["value/explained_variance"] = ev;
    if (has_tokens) {
      metrics["value/mean"] = MaskedMean(old_values, mask).item<double>();
      metrics["value/returns_mean"] = MaskedMean(adv.returns, mask).item<double>();
    }
  } else {
    auto ret = adv.returns;
    auto ret_mean = MaskedMean(ret, mask);
    auto var_ret = MaskedMean((ret - ret_mean).pow(2), mask).item<double>();
    auto var_err = MaskedMean((ret - old_values - MaskedMean(ret - old_values, mask)).pow(2), mask).item<double>();
    if (var_ret > 1e-12) metrics["value/explained_variance"] = 1.0 - var_err / var_ret;
    metrics["value/mean"] = MaskedMean(old_values, mask).item<double>();
    metrics["value/returns_mean"] = ret_mean.item<double>();
  }
  metrics["lr"] = stepped->lr;
  metrics["grad_norm"] = stepped->grad_norm;
  if (critic_stepped.ok()) {
    metrics["critic/lr"] = critic_stepped->lr;
    metrics["critic/grad_norm"] = critic_stepped->grad_norm;
  } else {
    metrics["critic/skipped"] = 1.0;
  }
  return metrics;
}

StatusOr<torch::Tensor> Trainer::WhitenOverRanks(const torch::Tensor& advantages, const torch::Tensor& mask) const {
  if (!data_parallel()) return WhitenAdvantages(advantages, mask);
  // WhitenAdvantages over the global batch: the masked mean and (biased) variance from sums
  // all-reduced over ranks, so every rank whitens with the statistics one process would use.
  torch::NoGradGuard no_grad;
  auto m = mask.to(advantages.scalar_type());
  auto a = advantages.to(torch::kFloat64);
  auto md = m.to(torch::kFloat64);
  std::vector<torch::Tensor> first = {torch::stack({(a * md).sum(), md.sum()}).cpu()};
  SCORCH_RETURN_IF_ERROR(communicator_->AllReduce(first, ReduceOp::kSum));
  const double count = std::max(first[0][1].item<double>(), 1.0);
  const double mean = first[0][0].item<double>() / count;
  std::vector<torch::Tensor> second = {((a - mean).pow(2) * md).sum().reshape({1}).cpu()};
  SCORCH_RETURN_IF_ERROR(communicator_->AllReduce(second, ReduceOp::kSum));
  const double var = second[0][0].item<double>() / count;
  return ((advantages - mean) / (std::sqrt(var) + 1e-8) * m).to(advantages.scalar_type());
}

StatusOr<double> Trainer::ExplainedVarianceOverRanks(const torch::Tensor& returns, const torch::Tensor& values,
                                                     const torch::Tensor& mask) const {
  torch::NoGradGuard no_grad;
  auto md = mask.to(torch::kFloat64);
  auto ret = returns.to(torch::kFloat64);
  auto err = ret - values.to(torch::kFloat64);
  std::vector<torch::Tensor> moments = {
      torch::stack({(ret * md).sum(), (ret * ret * md).sum(), (err * md).sum(), (err * err * md).sum(), md.sum()})
          .cpu()};
  SCORCH_RETURN_IF_ERROR(communicator_->AllReduce(moments, ReduceOp::kSum));
  auto v = moments[0].contiguous();
  const double* x = v.data_ptr<double>();
  const double n = std::max(x[4], 1.0);
  const double var_ret = x[1] / n - (x[0] / n) * (x[0] / n);
  const double var_err = x[3] / n - (x[2] / n) * (x[2] / n);
  return var_ret > 1e-12 ? 1.0 - var_err / var_ret : kNotApplicable;
}

}  // namespace scorch::learner
