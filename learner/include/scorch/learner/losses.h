// The learner's objectives (ALGORITHMS §4) as pure functions over tensors.
//
// Conventions (B = rows/sequences, T = tokens, V = vocabulary):
//  * Every per-token tensor is (B,T) and ALIGNED WITH TOKEN POSITIONS: entry [b,t] concerns
//    token t of row b, e.g. logp[b,t] = log π(x_t | x_<t) — the same convention as
//    proto::Trajectory::logprobs. TokenLogProbs/TokenEntropy turn a model's (B,T,V) logits
//    (where logits[:,t] predicts token t+1) into this layout; position 0 gets 0.
//  * `mask` (B,T), any numeric/bool dtype, 1 = the loss sees this token (a token the policy
//    generated and that this objective trains), 0 = context or padding. Masked tokens get
//    exactly zero gradient.
//  * `normalizer` (0 = automatic) fixes the denominator of the batch mean: the total token
//    count (token-mean) or row/pair count (sequence-mean, DPO) of the WHOLE optimisation
//    batch. With it, summing the gradients of micro-batches equals one big batch's
//    gradient (see optim/grad_accumulator.h).
//  * KL estimators with Δ = log π_ref − log π (J. Schulman's "Approximating KL"):
//    k1 = −Δ, k2 = Δ²/2, k3 = e^Δ − Δ − 1; all estimate KL(π‖π_ref) on tokens sampled from π.
//
// Each loss returns the scalar loss (autograd graph attached to the inputs that require
// grad) and LossStats (detached doubles; NaN = not applicable, e.g. no reference model).
//
// Errors: a missing required tensor, a shape mismatch, a non-floating input or an invalid
// option returns InvalidArgument naming the argument; nothing throws for bad input.
// Thread-safety: pure functions, no shared state.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::learner {

inline constexpr double kNotApplicable = std::numeric_limits<double>::quiet_NaN();

// Detached per-step facts; NaN fields are "not computed" and are left out of ToMap().
struct LossStats {
  double loss = kNotApplicable;             // the returned loss value
  double policy_loss = kNotApplicable;      // clipped surrogate part (GRPO/PPO)
  double value_loss = kNotApplicable;       // critic part (PPO), before value_coef
  double kl_loss = kNotApplicable;          // β·KL part of the loss (GRPO with β > 0)
  double nll = kNotApplicable;              // token-mean negative log-likelihood (SFT, DPO NLL)
  double kl_k1 = kNotApplicable;            // token-mean KL estimates vs the reference
  double kl_k2 = kNotApplicable;
  double kl_k3 = kNotApplicable;
  double entropy = kNotApplicable;          // token-mean policy entropy, nats
  double clip_fraction = kNotApplicable;    // share of tokens where the ratio clip is active
  double value_clip_fraction = kNotApplicable;  // share of tokens where the value clip wins
  double ratio_mean = kNotApplicable;       // token-mean π/π_old
  double advantage_mean = kNotApplicable;   // token-mean advantage
  double reward_chosen = kNotApplicable;    // DPO: mean η·ℓ(τ_w)
  double reward_rejected = kNotApplicable;  // DPO: mean η·ℓ(τ_l)
  double reward_accuracy = kNotApplicable;  // DPO: share of pairs with ℓ_w > ℓ_l
  double reward_margin = kNotApplicable;    // DPO: mean η·(ℓ_w − ℓ_l)
  double tokens = kNotApplicable;           // masked (trained) tokens in this batch
  double sequences = kNotApplicable;        // rows (or pairs) in this batch

  // name -> value for every field that is not NaN (metrics.jsonl keys).
  std::map<std::string, double> ToMap() const;
};

struct LossResult {
  torch::Tensor loss;  // scalar
  LossStats stats;
};

enum class KlEstimator { kK1, kK2, kK3 };
enum class Aggregation {
  kTokenMean,     // Σ_b,t L·m / (total masked tokens)   (TRL "bnpo", OpenRLHF token mean)
  kSequenceMean,  // Σ_b [Σ_t L·m / max(Σ_t m, 1)] / B  (TRL "grpo": per-row mean, then rows)
};

// ---- building blocks ------------------------------------------------------------------

// (B,T,V) logits, (B,T) int64 ids -> (B,T) log π(id_t | prefix); column 0 is 0.
StatusOr<torch::Tensor> TokenLogProbs(const torch::Tensor& logits, const torch::Tensor& input_ids);
// (...,V) logits -> (...) entropy −Σ p log p, in nats.
torch::Tensor EntropyFromLogits(const torch::Tensor& logits);
// (B,T,V) logits -> (B,T) entropy of the distribution that produced token t; column 0 is 0.
StatusOr<torch::Tensor> TokenEntropy(const torch::Tensor& logits);

// Per-token KL estimate (B,T) of KL(π‖π_ref) from log π and log π_ref (see file comment).
torch::Tensor KlPerToken(const torch::Tensor& logp, const torch::Tensor& ref_logp, KlEstimator estimator);

// Σ x·m / (normalizer > 0 ? normalizer : max(Σ m, 1)).
torch::Tensor MaskedMean(const torch::Tensor& x, const torch::Tensor& mask, double normalizer = 0.0);

// Aggregates a (B,T) per-token loss with `mask` as described by Aggregation.
torch::Tensor AggregateTokens(const torch::Tensor& per_token, const torch::Tensor& mask,
                              Aggregation aggregation, double normalizer = 0.0);

// ---- SFT (ALGORITHMS §4.4) --------------------------------------------------------------

struct SftOptions {
  double normalizer = 0.0;  // total trained tokens of the whole batch (0 = this call's)
};
// Token-mean NLL −Σ logp·m / N. `sample_weights` (B,) optional: row b's tokens count with
// weight w_b in the numerator (the denominator stays the token count), used for PCL's ρ.
StatusOr<LossResult> SftLoss(const torch::Tensor& logp, const torch::Tensor& mask,
                             const SftOptions& options = {},
                             const torch::Tensor& sample_weights = {});

// ---- GRPO (ALGORITHMS §4.5) -------------------------------------------------------------

struct GroupAdvantageOptions {
  bool scale_by_std = true;  // false: A = R − mean (Dr. GRPO)
  bool unbiased_std = true;  // torch.std default (TRL); a group of one has std 0
  double eps = 1e-4;         // A = (R − mean)/(std + eps), PCL/TRL value
};
// rewards (N,) and group ids (N prompt ids, any values) -> advantages (N,) float32.
StatusOr<torch::Tensor> GroupNormalizedAdvantages(const torch::Tensor& rewards,
                                                  const std::vector<int64_t>& group_ids,
                                                  const GroupAdvantageOptions& options = {});

struct PolicyBatch {
  torch::Tensor logp;        // (B,T) log π_θ, with grad
  torch::Tensor old_logp;    // (B,T) log π_old (sampling policy); no grad
  torch::Tensor ref_logp;    // (B,T) log π_ref; optional (required when beta > 0)
  torch::Tensor advantages;  // (B,) per sequence or (B,T) per token
  torch::Tensor mask;        // (B,T)
  torch::Tensor entropy;     // (B,T) optional; enters stats (and PPO's entropy bonus)
};

struct GrpoOptions {
  double clip_low = 0.2;   // ratio clipped to [1 − clip_low, 1 + clip_high]
  double clip_high = 0.2;
  double beta = 0.0;       // KL coefficient in the loss (TRL default 0.04 older, 0 newer)
  KlEstimator kl_estimator = KlEstimator::kK3;
  Aggregation aggregation = Aggregation::kTokenMean;
  double normalizer = 0.0;
};
// Per token: −min(ρA, clip(ρ, 1−εl, 1+εh)A) + β·KL_t, ρ = exp(logp − old_logp).
StatusOr<LossResult> GrpoLoss(const PolicyBatch& batch, const GrpoOptions& options = {});

// ---- PPO (ALGORITHMS §4.2) ---------------------------------------------------------------

struct AdvantageResult {
  torch::Tensor advantages;  // (B,T), 0 at masked positions
  torch::Tensor returns;     // (B,T) value targets, 0 at masked positions
};

// (B,) scores -> (B,T) with each score on its row's last masked token (right-aligned
// terminal reward). Rows without tokens get nothing.
StatusOr<torch::Tensor> TerminalRewards(const torch::Tensor& scores, const torch::Tensor& mask);

// GAE over the masked tokens of each row, in order; masked-out positions (padding, or
// instruction tokens between turns) are skipped, so the next state of a token is the next
// masked token, and after the last one the value is 0 (terminal).
// δ_t = r_t + γV_next − V_t, A_t = δ_t + γλA_next, returns = A + V. No grad flows.
StatusOr<AdvantageResult> ComputeGae(const torch::Tensor& rewards, const torch::Tensor& values,
                                     const torch::Tensor& mask, double gamma, double lambda);

// Multi-γ mode (λ = 1): G_t = Σ_k Σ_{t'≥t} γ_k^{n(t,t')} r_{k,t'} over masked tokens, where
// n counts masked steps; A_t = G_t − V_t.
StatusOr<AdvantageResult> ComputeMultiGammaReturns(const std::vector<torch::Tensor>& rewards,
                                                   const std::vector<double>& gammas,
                                                   const torch::Tensor& values,
                                                   const torch::Tensor& mask);

struct PpoRewardOptions {
  std::vector<double> gammas = {1.0};  // one discount per reward stream
  double lambda = 1.0;                 // GAE λ; must be 1 with several streams
  double kl_coef = 0.0;                // β: stream k gets r_k − β·KL_t/K
  KlEstimator kl_estimator = KlEstimator::kK1;
};
// Folds the KL penalty (from old_logp vs ref_logp; ref may be undefined when kl_coef = 0)
// into the streams and returns advantages/returns: GAE for one stream, multi-γ for several.
StatusOr<AdvantageResult> PpoAdvantages(const std::vector<torch::Tensor>& reward_streams,
                                        const torch::Tensor& old_logp, const torch::Tensor& ref_logp,
                                        const torch::Tensor& values, const torch::Tensor& mask,
                                        const PpoRewardOptions& options);

// Whitens advantages over masked tokens: (A − mean)/(std + 1e-8); masked positions 0.
torch::Tensor WhitenAdvantages(const torch::Tensor& advantages, const torch::Tensor& mask);

struct ValueBatch {
  torch::Tensor values;      // (B,T) V_φ, with grad
  torch::Tensor old_values;  // (B,T) values at sampling time
  torch::Tensor returns;     // (B,T) targets
};

struct PpoOptions {
  double clip_low = 0.2;
  double clip_high = 0.2;
  double value_clip = 0.2;      // ≤ 0 disables value clipping
  double value_coef = 0.5;      // total = policy + value_coef·value − entropy_coef·entropy
  double entropy_coef = 0.0;    // needs PolicyBatch::entropy with grad when > 0
  Aggregation aggregation = Aggregation::kTokenMean;
  double normalizer = 0.0;
};
// Policy: clipped surrogate (as GRPO, no KL in the loss: it is in the reward). Value:
// 0.5·max((V − R)², (V_clip − R)²), V_clip = V_old + clamp(V − V_old, ±value_clip),
// token-mean. `value` may have undefined tensors for actor-only PPO.
StatusOr<LossResult> PpoLoss(const PolicyBatch& batch, const ValueBatch& value,
                             const PpoOptions& options = {});

// ---- M-DPO (ALGORITHMS §4.3) ------------------------------------------------------------

struct PreferenceBatch {
  torch::Tensor chosen_logp, chosen_ref_logp, chosen_mask;        // (B,T_w)
  torch::Tensor rejected_logp, rejected_ref_logp, rejected_mask;  // (B,T_l)
};
struct MdpoOptions {
  double eta = 0.1;         // η (DPO β)
  double nll_coef = 0.0;    // weight of the token-mean NLL on the chosen masked tokens
  double normalizer = 0.0;  // total pairs of the whole batch (0 = B)
  double nll_normalizer = 0.0;  // total chosen masked tokens of the whole batch (0 = this call's)
};
// ℓ(τ) = Σ_t m_t (logp − ref_logp); L = −log σ(η(ℓ_w − ℓ_l)) averaged over pairs
// (+ nll_coef·NLL). Masks must be built by MdpoMask (model tokens after the shared prefix).
StatusOr<LossResult> MdpoLoss(const PreferenceBatch& batch, const MdpoOptions& options = {});

// ---- PCL (ALGORITHMS §4.5) --------------------------------------------------------------

struct PclOptions {
  double w_grpo = 1.0;    // final config (1,1,1); the code defaults are (1, .1, .1)
  double w_reason = 1.0;
  double w_eval = 1.0;
};
// ρ_t for the evaluation-SFT track: 1, or 1 − step/decay_steps (floored at 0) when
// decay_steps > 0 [U: the decay shape is not given by the source].
double PclEvalSchedule(int64_t step, int64_t decay_steps);
// Per-sample weight of an evaluation-SFT sample: ρ_t, or ρ_t·invalid_scale when the
// teacher sample's rewards are not valid (`rewrew_valid` false; the code uses 0.01).
double PclEvalSampleWeight(double rho_t, bool teacher_valid, double invalid_scale = 0.01);
// L = w_g·L_GRPO + w_1·L_SFT-reason + w_2·L_SFT-eval (ρ already in the eval SFT's sample
// weights). Stats are GRPO's, with nll = reason NLL and loss = the total.
StatusOr<LossResult> PclLoss(const LossResult& grpo, const LossResult& sft_reason,
                             const LossResult& sft_eval, const PclOptions& options = {});

}  // namespace scorch::learner
