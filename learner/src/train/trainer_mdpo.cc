// Trainer's M-DPO step (ALGORITHMS §4.3, SRR eq. 5): a batch of preference pairs -> MdpoLoss
// over micro-batches -> one optimizer step. See trainer.h for the contract.
#include <algorithm>
#include <numeric>
#include <string>
#include <utility>
#include <vector>

#include "scorch/learner/segment_masks.h"
#include "scorch/learner/trainer.h"

namespace scorch::learner {
namespace {

struct PairSide {
  std::vector<int64_t> tokens;
  std::vector<float> mask;  // MdpoMask: model-written tokens after the pair's common prefix
};

struct PreparedPair {
  PairSide chosen;
  PairSide rejected;
};

// End of the first attempt a¹ (the turn-0 attempt segment), or -1 when there is none.
int64_t FirstAttemptEnd(const proto::Trajectory& t) {
  for (const auto& s : t.segments) {
    if (s.kind == proto::SegmentKind::kAttempt && s.turn == 0) return s.end;
  }
  return -1;
}

StatusOr<PairSide> SideOf(const proto::TrainSample& sample, int64_t shared_prefix, int64_t max_len, int64_t vocab,
                          const std::string& where) {
  const proto::Trajectory& t = sample.trajectory;
  const auto n = static_cast<int64_t>(t.token_ids.size());
  if (n < 2) return Status::InvalidArgument(where + ": a trajectory needs at least 2 tokens");
  if (n > max_len) {
    return Status::InvalidArgument(where + ": " + std::to_string(n) + " tokens exceed the model's " +
                                   std::to_string(max_len) + " positions");
  }
  // Checked before any collective (Trainer::CheckBatch), not by the forward pass.
  for (const int32_t id : t.token_ids) {
    if (id < 0 || id >= vocab) {
      return Status::InvalidArgument(where + ": token id " + std::to_string(id) + " is outside the vocabulary [0, " +
                                     std::to_string(vocab) + ")");
    }
  }
  auto mask = MdpoMask(t.segments, n, shared_prefix);
  if (!mask.ok()) return Status::InvalidArgument(where + ": " + mask.status().message());
  PairSide side;
  side.tokens.assign(t.token_ids.begin(), t.token_ids.end());
  auto m = mask->contiguous();
  side.mask.assign(m.data_ptr<float>(), m.data_ptr<float>() + n);
  side.mask[0] = 0.0f;  // nothing predicts the first token
  return side;
}

// Pairs by pair_index, checked: every sample paired, each pair one chosen and one rejected
// side, and both sides share (x, a¹) — the common prefix covers both first attempts.
StatusOr<std::vector<PreparedPair>> PreparePairs(const proto::TrainBatch& batch, int64_t max_len, int64_t vocab) {
  const size_t n = batch.samples.size();
  if (n % 2 != 0) {
    return Status::InvalidArgument("an mdpo batch holds pairs: " + std::to_string(n) + " samples is an odd number");
  }
  const size_t num_pairs = n / 2;
  std::vector<int64_t> chosen(num_pairs, -1), rejected(num_pairs, -1);
  for (size_t i = 0; i < n; ++i) {
    const proto::TrainSample& s = batch.samples[i];
    const std::string where = "TrainBatch.samples[" + std::to_string(i) + "]";
    if (s.pair_index < 0) {
      return Status::InvalidArgument(where + " is not part of a preference pair (an mdpo batch pairs every sample)");
    }
    if (static_cast<size_t>(s.pair_index) >= num_pairs) {
      return Status::InvalidArgument(where + ": pair_index " + std::to_string(s.pair_index) + " is not below " +
                                     std::to_string(num_pairs) + " pairs");
    }
    int64_t& slot = s.pair_chosen ? chosen[static_cast<size_t>(s.pair_index)] : rejected[static_cast<size_t>(s.pair_index)];
    if (slot >= 0) {
      return Status::InvalidArgument(where + ": pair " + std::to_string(s.pair_index) + " already has a " +
                                     (s.pair_chosen ? "chosen" : "rejected") + " side (samples[" +
                                     std::to_string(slot) + "])");
    }
    slot = static_cast<int64_t>(i);
  }
  std::vector<PreparedPair> pairs;
  pairs.reserve(num_pairs);
  for (size_t k = 0; k < num_pairs; ++k) {
    const std::string where = "TrainBatch pair " + std::to_string(k);
    if (chosen[k] < 0 || rejected[k] < 0) {
      return Status::InvalidArgument(where + " lacks its " + std::string(chosen[k] < 0 ? "chosen" : "rejected") +
                                     " side");
    }
    const proto::TrainSample& w = batch.samples[static_cast<size_t>(chosen[k])];
    const proto::TrainSample& l = batch.samples[static_cast<size_t>(rejected[k])];
    const int64_t shared = CommonPrefixLength(w.trajectory.token_ids, l.trajectory.token_ids);
    const int64_t a1_w = FirstAttemptEnd(w.trajectory);
    const int64_t a1_l = FirstAttemptEnd(l.trajectory);
    if (a1_w < 0 || a1_l < 0) {
      return Status::InvalidArgument(where + ": a side has no first attempt (turn-0 attempt segment)");
    }
    if (shared < std::max(a1_w, a1_l)) {
      return Status::InvalidArgument(where + ": the sides do not share (x, a¹): their common prefix is " +
                                     std::to_string(shared) + " tokens but a¹ ends at token " +
                                     std::to_string(std::max(a1_w, a1_l)));
    }
    PreparedPair p;
    SCORCH_ASSIGN_OR_RETURN(p.chosen, SideOf(w, shared, max_len, vocab, where + " (chosen)"));
    SCORCH_ASSIGN_OR_RETURN(p.rejected, SideOf(l, shared, max_len, vocab, where + " (rejected)"));
    pairs.push_back(std::move(p));
  }
  return pairs;
}

double Sum(const std::vector<float>& v) { return std::accumulate(v.begin(), v.end(), 0.0); }

}  // namespace

Status Trainer::CheckMdpoBatch(const proto::TrainBatch& batch) const {
  if (!reference_) return Status::FailedPrecondition("mdpo step without a reference policy (BeginStage first)");
  return PreparePairs(batch, policy_->config().max_position_embeddings, policy_->config().vocab_size).status();
}

StatusOr<std::map<std::string, double>> Trainer::StepMdpo(const proto::TrainBatch& batch) {
  if (!reference_) return Status::FailedPrecondition("mdpo step without a reference policy (BeginStage first)");
  SCORCH_ASSIGN_OR_RETURN(std::vector<PreparedPair> pairs,
                          PreparePairs(batch, policy_->config().max_position_embeddings, policy_->config().vocab_size));
  const torch::Device device = policy_->parameters().front().device();

  // Whole-batch normalisers, summed over data-parallel ranks: pairs for the DPO term, chosen
  // trained tokens for the NLL term. Micro-batch losses then add up to the big batch's.
  double chosen_tokens = 0.0;
  for (const auto& p : pairs) chosen_tokens += Sum(p.chosen.mask);
  SCORCH_ASSIGN_OR_RETURN(const double pair_norm, SumOverRanks(static_cast<double>(pairs.size())));
  SCORCH_ASSIGN_OR_RETURN(double nll_norm, SumOverRanks(chosen_tokens));
  nll_norm = std::max(nll_norm, 1.0);

  policy_->train();
  // Both sides of a pair go through the same forward: micro_batch_rows sequences = half as
  // many pairs.
  const auto ranges = MicroBatchRanges(static_cast<int64_t>(pairs.size()),
                                       std::max<int64_t>(1, stage_.micro_batch_rows / 2));
  std::vector<LossStats> parts;
  std::vector<double> part_chosen_tokens;
  auto micro_step = [&](int64_t m) -> StatusOr<LossResult> {
    const auto [begin, end] = ranges[static_cast<size_t>(m)];
    const int64_t B = end - begin;
    int64_t T = 0;
    for (int64_t i = begin; i < end; ++i) {
      const PreparedPair& p = pairs[static_cast<size_t>(i)];
      T = std::max<int64_t>({T, static_cast<int64_t>(p.chosen.tokens.size()),
                             static_cast<int64_t>(p.rejected.tokens.size())});
    }
    // Rows [0, B) are the chosen sides, [B, 2B) the rejected ones, right-padded to T.
    auto ids = torch::zeros({2 * B, T}, torch::kInt64);
    auto attention = torch::zeros({2 * B, T}, torch::kInt64);
    auto mask = torch::zeros({2 * B, T}, torch::kFloat32);
    double micro_chosen = 0.0;
    for (int64_t b = 0; b < B; ++b) {
      const PreparedPair& p = pairs[static_cast<size_t>(begin + b)];
      for (int side = 0; side < 2; ++side) {
        const PairSide& s = side == 0 ? p.chosen : p.rejected;
        const int64_t row = b + side * B;
        const auto n = static_cast<int64_t>(s.tokens.size());
        ids[row].narrow(0, 0, n).copy_(torch::tensor(s.tokens, torch::kInt64));
        attention[row].narrow(0, 0, n).fill_(1);
        mask[row].narrow(0, 0, n).copy_(torch::tensor(s.mask, torch::kFloat32));
      }
      micro_chosen += Sum(p.chosen.mask);
    }
    ids = ids.to(device);
    attention = attention.to(device);
    mask = mask.to(device);
    auto out = policy_->forward(ids, attention);
    SCORCH_ASSIGN_OR_RETURN(torch::Tensor logp, TokenLogProbs(out.logits, ids));
    torch::Tensor ref_logp;
    {
      torch::NoGradGuard no_grad;
      auto ref_out = reference_->forward(ids, attention);
      SCORCH_ASSIGN_OR_RETURN(ref_logp, TokenLogProbs(ref_out.logits, ids));
    }
    PreferenceBatch pb;
    pb.chosen_logp = logp.narrow(0, 0, B);
    pb.chosen_ref_logp = ref_logp.narrow(0, 0, B);
    pb.chosen_mask = mask.narrow(0, 0, B);
    pb.rejected_logp = logp.narrow(0, B, B);
    pb.rejected_ref_logp = ref_logp.narrow(0, B, B);
    pb.rejected_mask = mask.narrow(0, B, B);
    MdpoOptions o = stage_.mdpo;
    o.normalizer = pair_norm;
    o.nll_normalizer = nll_norm;
    SCORCH_ASSIGN_OR_RETURN(LossResult result, MdpoLoss(pb, o));
    parts.push_back(result.stats);
    part_chosen_tokens.push_back(micro_chosen);
    return result;
  };
  // An empty data-parallel shard (no pairs) adds a zero gradient and no statistics.
  LossStats merged;
  if (!ranges.empty()) {
    auto accumulated = AccumulateGradients(static_cast<int64_t>(ranges.size()), micro_step);
    if (!accumulated.ok()) {
      optimizer_->ZeroGrad();  // a failed micro-batch must not leak its gradient into the next step
      return accumulated.status();
    }
    merged = *accumulated;
  }
  SCORCH_ASSIGN_OR_RETURN(const StepResult step, ApplyGradients());

  // DPO statistics are per pair (nll per chosen token): weight the micro-batches by them,
  // not by tokens as MergeStats does.
  double acc = 0.0, margin = 0.0, r_chosen = 0.0, r_rejected = 0.0, nll = 0.0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const double w = parts[i].sequences;
    acc += w * parts[i].reward_accuracy;
    margin += w * parts[i].reward_margin;
    r_chosen += w * parts[i].reward_chosen;
    r_rejected += w * parts[i].reward_rejected;
    nll += part_chosen_tokens[i] * parts[i].nll;
  }
  const double n_pairs = static_cast<double>(pairs.size());
  std::map<std::string, double> metrics;
  metrics["mdpo/pairs"] = n_pairs;
  metrics["mdpo/chosen_tokens"] = chosen_tokens;  // the weight of mdpo/nll across ranks
  if (!pairs.empty()) {
    metrics["loss"] = merged.loss;
    metrics["tokens"] = merged.tokens;
    metrics["mdpo/reward_accuracy"] = acc / n_pairs;
    metrics["mdpo/margin"] = margin / n_pairs;
    metrics["mdpo/reward_chosen"] = r_chosen / n_pairs;
    metrics["mdpo/reward_rejected"] = r_rejected / n_pairs;
    metrics["mdpo/nll"] = nll / std::max(chosen_tokens, 1.0);
  }
  metrics["lr"] = step.lr;
  metrics["grad_norm"] = step.grad_norm;
  return metrics;
}

}  // namespace scorch::learner
