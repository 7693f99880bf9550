// Trainer: TrainBatch -> masks, advantages, micro-batched losses, one optimizer step.
#include "scorch/learner/trainer.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include "scorch/learner/segment_masks.h"
#include "trainer_internal.h"

namespace scorch::learner {

namespace trainer_internal {

PaddedRows PadRows(const std::vector<Trainer::Row>& rows, int64_t begin, int64_t end, int64_t width,
                   const torch::Device& device) {
  PaddedRows p;
  p.rows = end - begin;
  p.width = width;
  p.ids = torch::zeros({p.rows, width}, torch::kInt64);
  p.attention = torch::zeros({p.rows, width}, torch::kInt64);
  p.mask = torch::zeros({p.rows, width}, torch::kFloat32);
  p.sampler_logp = torch::zeros({p.rows, width}, torch::kFloat32);
  p.on_policy = torch::ones({p.rows, 1}, torch::kFloat32);
  for (int64_t b = 0; b < p.rows; ++b) {
    const Trainer::Row& r = rows[static_cast<size_t>(begin + b)];
    const auto n = static_cast<int64_t>(r.tokens.size());
    p.ids[b].narrow(0, 0, n).copy_(torch::tensor(r.tokens, torch::kInt64));
    p.attention[b].narrow(0, 0, n).fill_(1);
    p.mask[b].narrow(0, 0, n).copy_(torch::tensor(r.mask, torch::kFloat32));
    if (!r.sampler_logp.empty()) {
      p.sampler_logp[b].narrow(0, 0, n).copy_(torch::tensor(r.sampler_logp, torch::kFloat32));
      p.on_policy[b][0] = 0.0f;
    }
  }
  p.ids = p.ids.to(device);
  p.attention = p.attention.to(device);
  p.mask = p.mask.to(device);
  p.sampler_logp = p.sampler_logp.to(device);
  p.on_policy = p.on_policy.to(device);
  return p;
}

}  // namespace trainer_internal

namespace {

StatusOr<SrrSet> SrrSetOf(const std::string& rule) {
  if (rule == "srr_d1") return SrrSet::kD1;
  if (rule == "srr_d2") return SrrSet::kD2;
  if (rule == "srr_d3") return SrrSet::kD3;
  return Status::InvalidArgument("unknown mask_rule '" + rule + "'");
}

}  // namespace

Trainer::Trainer(model::Policy policy, Communicator* communicator)
    : policy_(std::move(policy)), communicator_(communicator) {}

Status Trainer::AllReduceGradients(Optimizer& optimizer) {
  if (communicator_ == nullptr || communicator_->size() <= 1) return Status::Ok();
  std::vector<torch::Tensor> grads;
  for (auto& p : optimizer.params()) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    grads.push_back(p.grad());
  }
  return communicator_->AllReduce(grads, ReduceOp::kSum);
}

std::vector<AuxiliaryModule> Trainer::AuxiliaryModules() {
  std::vector<AuxiliaryModule> aux;
  if (critic_ && critic_optimizer_) aux.push_back({"critic", critic_.ptr().get(), critic_optimizer_.get()});
  // The frozen reference is the policy as the stage began: a stage resumed midway must get
  // that one back, not a copy of the resumed weights.
  if (reference_) aux.push_back({"reference", reference_.ptr().get(), nullptr});
  return aux;
}

int64_t Trainer::stage_step() const { return optimizer_ ? optimizer_->step() : 0; }

Status Trainer::BeginStage(const StageTraining& config) {
  SCORCH_RETURN_IF_ERROR(config.optimizer.Validate());
  if (config.micro_batch_rows < 1) return Status::InvalidArgument("micro_batch_rows must be >= 1");
  stage_ = config;
  swift_examples_.clear();
  swift_batches_ = 0;
  std::vector<torch::Tensor> params;
  for (auto& p : policy_->parameters()) params.push_back(p);
  SCORCH_ASSIGN_OR_RETURN(optimizer_, Optimizer::Create(std::move(params), config.optimizer));
  reference_ = model::Policy(nullptr);
  critic_ = model::Critic(nullptr);
  critic_optimizer_.reset();
  if (config.objective == Objective::kPpo) SCORCH_RETURN_IF_ERROR(BeginCritic());
  // M-DPO's implicit reward is measured against the stage's starting policy, always.
  if (config.kl_beta > 0.0 || config.objective == Objective::kMdpo) {
    reference_ = model::Policy(policy_->config());
    torch::NoGradGuard no_grad;
    auto src = policy_->named_parameters();
    for (auto& item : reference_->named_parameters()) {
      item.value().copy_(src[item.key()]);
      item.value().set_requires_grad(false);
    }
    reference_->eval();
  }
  return Status::Ok();
}

StatusOr<std::vector<Trainer::Row>> Trainer::PrepareRows(const proto::TrainBatch& batch) const {
  std::vector<Row> rows;
  rows.reserve(batch.samples.size());
  const int64_t max_len = policy_->config().max_position_embeddings;
  for (size_t i = 0; i < batch.samples.size(); ++i) {
    const proto::TrainSample& s = batch.samples[i];
    const proto::Trajectory& t = s.trajectory;
    const std::string where = "TrainBatch.samples[" + std::to_string(i) + "]";
    const auto n = static_cast<int64_t>(t.token_ids.size());
    if (n < 2) return Status::InvalidArgument(where + ": a trajectory needs at least 2 tokens");
    if (n > max_len) {
      return Status::InvalidArgument(where + ": " + std::to_string(n) + " tokens exceed the model's " +
                                     std::to_string(max_len) + " positions");
    }
    // Checked here, not by the forward pass: under data parallelism a bad sample must be found
    // before the step's first collective (CheckBatch), not after it.
    const int64_t vocab = policy_->config().vocab_size;
    for (const int32_t id : t.token_ids) {
      if (id < 0 || id >= vocab) {
        return Status::InvalidArgument(where + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                       std::to_string(vocab) + ")");
      }
    }
    Row row;
    row.tokens.assign(t.token_ids.begin(), t.token_ids.end());
    if (s.mask_rule.empty()) {
      if (t.trainable_mask.size() != t.token_ids.size()) {
        return Status::InvalidArgument(where + ": trainable_mask has " + std::to_string(t.trainable_mask.size()) +
                                       " entries for " + std::to_string(n) + " tokens");
      }
      row.mask.assign(t.trainable_mask.begin(), t.trainable_mask.end());
    } else {
      SCORCH_ASSIGN_OR_RETURN(SrrSet set, SrrSetOf(s.mask_rule));
      auto mask = SrrSftMask(t.segments, n, set);
      if (!mask.ok()) return Status::InvalidArgument(where + ": " + mask.status().message());
      auto m = mask->contiguous();
      row.mask.assign(m.data_ptr<float>(), m.data_ptr<float>() + n);
    }
    row.mask[0] = 0.0f;  // nothing predicts the first token
    if (t.policy_version != version_ && t.logprobs.size() == t.token_ids.size()) {
      row.sampler_logp.assign(t.logprobs.begin(), t.logprobs.end());
    }
    row.reward = s.reward;
    if (!s.dense_rewards.empty()) {
      if (s.dense_rewards.size() != t.token_ids.size()) {
        return Status::InvalidArgument(where + ": dense_rewards has " + std::to_string(s.dense_rewards.size()) +
                                       " entries for " + std::to_string(n) + " tokens");
      }
      row.dense_rewards = s.dense_rewards;
    }
    row.prompt_id = t.prompt_id;
    if (!s.sft_track.empty()) {
      if (stage_.objective != Objective::kGrpo) {
        return Status::InvalidArgument(where + ": an sft_track '" + s.sft_track + "' demonstration, but stage " +
                                       stage_.stage + " is not a grpo stage (only grpo mixes in SFT tracks: PCL)");
      }
      if (s.sft_track != "reason" && s.sft_track != "eval") {
        return Status::InvalidArgument(where + ": sft_track '" + s.sft_track + "' is not one of reason, eval");
      }
      if (!std::isfinite(s.sft_weight) || s.sft_weight < 0.0) {
        return Status::InvalidArgument(where + ": sft_weight " + std::to_string(s.sft_weight) + " is not >= 0");
      }
      row.track = s.sft_track == "reason" ? 1 : 2;
      row.sft_weight = s.sft_weight;
    }
    rows.push_back(std::move(row));
  }
  return rows;
}

StatusOr<double> Trainer::SumOverRanks(double value) const {
  if (communicator_ == nullptr || communicator_->size() <= 1) return value;
  std::vector<torch::Tensor> t = {torch::tensor({value}, torch::kFloat64)};
  SCORCH_RETURN_IF_ERROR(communicator_->AllReduce(t, ReduceOp::kSum));
  return t[0].item<double>();
}

StatusOr<StepResult> Trainer::ApplyGradients() {
  SCORCH_RETURN_IF_ERROR(AllReduceGradients(*optimizer_));
  auto stepped = optimizer_->Step();
  if (!stepped.ok()) {
    optimizer_->ZeroGrad();
    return stepped.status();
  }
  ++version_;
  return *stepped;
}

bool Trainer::data_parallel() const { return communicator_ != nullptr && communicator_->size() > 1; }

Status Trainer::CheckNoPairs(const proto::TrainBatch& batch) const {
  for (size_t i = 0; i < batch.samples.size(); ++i) {
    if (batch.samples[i].pair_index >= 0) {
      return Status::InvalidArgument("TrainBatch.samples[" + std::to_string(i) + "] is one side of a preference pair, "
                                     "but stage " + stage_.stage + " does not train on pairs (only mdpo does)");
    }
  }
  return Status::Ok();
}

Status Trainer::CheckBatch(const proto::TrainBatch& batch) const {
  if (!optimizer_) return Status::FailedPrecondition("Trainer::Step before BeginStage");
  switch (stage_.objective) {
    case Objective::kMdpo:
      return CheckMdpoBatch(batch);
    case Objective::kSwift:
      return Status::Ok();  // StepSwift checks as it goes: it makes no collective
    default:
      SCORCH_RETURN_IF_ERROR(CheckNoPairs(batch));
      return PrepareRows(batch).status();
  }
}

StatusOr<std::map<std::string, double>> Trainer::Step(const proto::TrainBatch& batch) {
  if (!optimizer_) return Status::FailedPrecondition("Trainer::Step before BeginStage");
  std::map<std::string, double> metrics;
  // One process: an empty batch is no step. Data-parallel: this rank's shard may be empty
  // while others are not, and it must still join the step's collectives (see trainer.h).
  if (batch.samples.empty() && (!data_parallel() || stage_.objective == Objective::kSwift)) return metrics;
  if (stage_.objective == Objective::kMdpo) return StepMdpo(batch);
  if (stage_.objective == Objective::kSwift) return StepSwift(batch);
  SCORCH_RETURN_IF_ERROR(CheckNoPairs(batch));
  SCORCH_ASSIGN_OR_RETURN(std::vector<Row> rows, PrepareRows(batch));
  const torch::Device device = policy_->parameters().front().device();
  if (stage_.objective == Objective::kPpo) return StepPpo(std::move(rows));

  // Advantages over the stage's own samples; SFT-track demonstrations (PCL) take no part.
  std::vector<size_t> policy_rows;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (rows[i].track == 0) policy_rows.push_back(i);
  }
  if (stage_.objective == Objective::kGrpo && !policy_rows.empty()) {
    std::vector<double> rewards;
    std::vector<int64_t> groups;
    for (size_t i : policy_rows) {
      rewards.push_back(rows[i].reward);
      groups.push_back(rows[i].prompt_id);
    }
    auto reward_tensor = torch::tensor(rewards, torch::kFloat64).to(torch::kFloat32);
    SCORCH_ASSIGN_OR_RETURN(torch::Tensor adv, GroupNormalizedAdvantages(reward_tensor, groups, stage_.advantages));
    auto a = adv.contiguous();
    for (size_t k = 0; k < policy_rows.size(); ++k) rows[policy_rows[k]].advantage = a.data_ptr<float>()[k];
  }

  // Whole-batch normalisers (summed over data-parallel ranks): the objective's over its own
  // samples, and each SFT track's over that track's tokens.
  double tokens = 0.0;
  double track_tokens[3] = {0.0, 0.0, 0.0};
  for (const Row& r : rows) {
    const double n = std::accumulate(r.mask.begin(), r.mask.end(), 0.0);
    track_tokens[r.track] += n;
    if (r.track == 0) tokens += n;
  }
  double normalizer = stage_.objective == Objective::kGrpo && stage_.grpo.aggregation == Aggregation::kSequenceMean
                          ? static_cast<double>(policy_rows.size())
                          : tokens;
  SCORCH_ASSIGN_OR_RETURN(normalizer, SumOverRanks(normalizer));
  normalizer = std::max(normalizer, 1.0);
  if (stage_.objective == Objective::kGrpo) {
    for (int track : {1, 2}) {
      SCORCH_ASSIGN_OR_RETURN(track_tokens[track], SumOverRanks(track_tokens[track]));
    }
  }
  const bool mixed = track_tokens[1] > 0.0 || track_tokens[2] > 0.0;
  double track_loss[3] = {0.0, 0.0, 0.0};  // this rank's part of each track's weighted loss

  policy_->train();
  const auto ranges = MicroBatchRanges(static_cast<int64_t>(rows.size()), stage_.micro_batch_rows);
  auto micro_step = [&](int64_t m) -> StatusOr<LossResult> {
    const auto [begin, end] = ranges[static_cast<size_t>(m)];
    int64_t T = 0;
    for (int64_t i = begin; i < end; ++i) T = std::max<int64_t>(T, static_cast<int64_t>(rows[i].tokens.size()));
    trainer_internal::PaddedRows p = trainer_internal::PadRows(rows, begin, end, T, device);
    auto advantages = torch::zeros({p.rows}, torch::kFloat32);
    for (int64_t b = 0; b < p.rows; ++b) advantages[b] = static_cast<float>(rows[static_cast<size_t>(begin + b)].advantage);
    const torch::Tensor& ids = p.ids;
    const torch::Tensor& attention = p.attention;
    const torch::Tensor& mask = p.mask;
    auto out = policy_->forward(ids, attention);
    SCORCH_ASSIGN_OR_RETURN(torch::Tensor logp, TokenLogProbs(out.logits, ids));
    torch::Tensor entropy;
    {
      torch::NoGradGuard no_grad;
      auto e = TokenEntropy(out.logits.detach());
      if (e.ok()) entropy = *e;
    }
    if (stage_.objective == Objective::kSft) {
      SftOptions o;
      o.normalizer = normalizer;
      SCORCH_ASSIGN_OR_RETURN(LossResult result, SftLoss(logp, mask, o));
      if (entropy.defined()) result.stats.entropy = MaskedMean(entropy, mask).item<double>();
      return result;
    }
    // PCL's mixed objective: demonstration rows leave the policy-gradient mask and train by
    // cross-entropy, each track a token mean over its own tokens in the whole batch.
    torch::Tensor policy_mask = mask;
    torch::Tensor sft_loss;
    double sft_value = 0.0;
    if (mixed) {
      std::vector<float> is_policy(static_cast<size_t>(p.rows)), weight(static_cast<size_t>(p.rows));
      for (int64_t b = 0; b < p.rows; ++b) {
        const Row& r = rows[static_cast<size_t>(begin + b)];
        is_policy[static_cast<size_t>(b)] = r.track == 0 ? 1.0f : 0.0f;
        weight[static_cast<size_t>(b)] =
            r.track == 0 ? 0.0f : static_cast<float>(r.sft_weight / std::max(track_tokens[r.track], 1.0));
      }
      policy_mask = mask * torch::tensor(is_policy).to(device).unsqueeze(1);
      // (B): each row's summed NLL times its weight; the values feed the metrics too.
      const torch::Tensor weighted = -(logp * mask).sum(1) * torch::tensor(weight).to(device);
      sft_loss = weighted.sum();
      const torch::Tensor contrib = weighted.detach().cpu().contiguous();
      for (int64_t b = 0; b < p.rows; ++b) {
        const double c = contrib.data_ptr<float>()[b];
        track_loss[rows[static_cast<size_t>(begin + b)].track] += c;
        sft_value += c;
      }
    }
    PolicyBatch pb;
    pb.logp = logp;
    pb.old_logp = (p.on_policy * logp.detach() + (1.0f - p.on_policy) * p.sampler_logp).detach();
    pb.advantages = advantages.to(device);
    pb.mask = policy_mask;
    pb.entropy = entropy;
    if (reference_) {
      torch::NoGradGuard no_grad;
      auto ref_out = reference_->forward(ids, attention);
      SCORCH_ASSIGN_OR_RETURN(pb.ref_logp, TokenLogProbs(ref_out.logits, ids));
    }
    GrpoOptions o = stage_.grpo;
    o.beta = reference_ ? stage_.kl_beta : 0.0;
    o.kl_estimator = stage_.kl_estimator;
    o.normalizer = normalizer;
    SCORCH_ASSIGN_OR_RETURN(LossResult result, GrpoLoss(pb, o));
    if (sft_loss.defined()) {
      result.loss = result.loss + sft_loss;
      result.stats.loss += sft_value;
    }
    return result;
  };
  // An empty data-parallel shard contributes a zero gradient to the all-reduce; its stats are
  // all "not applicable" (the group's metric reduction gives them no weight).
  LossStats stats;
  if (!ranges.empty()) {
    auto accumulated = AccumulateGradients(static_cast<int64_t>(ranges.size()), micro_step);
    if (!accumulated.ok()) {
      optimizer_->ZeroGrad();  // a failed micro-batch must not leak its gradient into the next step
      return accumulated.status();
    }
    stats = *accumulated;
  }
  SCORCH_ASSIGN_OR_RETURN(const StepResult step, ApplyGradients());

  for (const auto& [k, v] : stats.ToMap()) {
    if (k.rfind("kl_k", 0) == 0) {
      metrics["kl/" + k.substr(3)] = v;
    } else {
      metrics[k] = v;
    }
  }
  metrics["lr"] = step.lr;
  metrics["grad_norm"] = step.grad_norm;
  if (mixed) {
    // This rank's parts; ReduceStepMetrics sums them over data-parallel ranks.
    metrics["pcl/sft_reason_loss"] = track_loss[1];
    metrics["pcl/sft_eval_loss"] = track_loss[2];
  }
  return metrics;
}

}  // namespace scorch::learner
