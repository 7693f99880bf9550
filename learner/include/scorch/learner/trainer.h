// Trainer: turns a proto::TrainBatch into one optimizer step of the policy — the learner's
// driver between the orchestrator's batches and the pure losses of losses.h.
//
// Per step:
//   1. Masks: each sample's trained tokens are its trajectory's trainable_mask, or, when the
//      sample names an SRR IFT set (mask_rule "srr_d1|d2|d3"), SrrSftMask over its segments.
//   2. Advantages (GRPO): group-normalised over the samples of each prompt (prompt_id).
//   3. Micro-batches of `micro_batch_rows` sequences, right-padded to their longest member,
//      each loss computed with the WHOLE batch's normaliser (token count, or rows for
//      sequence aggregation), so gradient accumulation equals one big batch. With a
//      data-parallel Communicator the normaliser is summed over ranks first and gradients are
//      SUM all-reduced before the optimizer step, so every rank takes the same step.
//   4. The sampling policy's log-probs: a sample produced by the current version (on-policy)
//      uses the detached current log-probs (ratio exactly 1, as recomputing them would give);
//      an older one uses the log-probs the rollout worker recorded (exact at temperature 1).
//   5. KL to the reference (the policy frozen at BeginStage) when kl_beta > 0: in the loss and
//      reported as k1/k2/k3; entropy is always reported.
// Objectives: sft, grpo, ppo, mdpo and swift (the SWIFT head, see SwiftTraining). PPO (trainer_ppo.cc): PPO trains a critic (model::Critic, its
// trunk copied from the policy at BeginStage, value head zero) with its own AdamW beside the
// policy; the terminal reward sits on each row's last trained token (plus any dense_rewards the
// sample carries), the KL penalty to the reference is folded into the per-token reward
// (β = kl_beta), GAE gives advantages (whitened over the whole batch) and returns, and one
// step updates policy (clipped surrogate) and critic (clipped value loss) together.
// The critic is checkpointed beside the policy (AuxiliaryModules).
// M-DPO (ALGORITHMS §4.3, trainer_mdpo.cc) takes a batch of
// preference pairs (TrainSample::pair_index / pair_chosen, two samples per pair sharing
// (x, a¹)): ℓ(τ) = Σ (log π − log π_ref) over the model-written tokens after the pair's common
// prefix (MdpoMask), π_ref = the policy frozen at BeginStage, MdpoLoss with the whole batch's
// pair count (and chosen-token count for the NLL term) as normalisers across micro-batches of
// micro_batch_rows/2 pairs. Metrics: loss, mdpo/reward_accuracy, mdpo/margin,
// mdpo/reward_chosen, mdpo/reward_rejected, mdpo/nll, mdpo/pairs, tokens, lr, grad_norm. A
// batch without pairs (or with a pair that does not share its a¹ tokens) is InvalidArgument.
//
// Each stage starts with BeginStage: a fresh AdamW with the stage's schedule (warmup + cosine
// over the stage's steps). Resume: BeginStage, then LoadLearnerCheckpoint with
// AuxiliaryModules(), which restores the critic and the frozen reference the stage began with.
//
// Ownership: shares the Policy handle (the caller may publish its weights between steps);
// owns the optimizer and the reference copy. Thread-safety: not thread-safe; one learner
// thread. Errors: InvalidArgument for a bad batch (empty trajectory, bad masks, a token id
// outside the vocabulary) — no step is taken then; FailedPrecondition when the gradient is not finite (the step is skipped).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "scorch/common/proto/rollout_messages.h"
#include "scorch/common/status.h"
#include "scorch/learner/communicator.h"
#include "scorch/learner/learner_checkpoint.h"
#include "scorch/learner/losses.h"
#include "scorch/learner/optimizer.h"
#include "scorch/learner/swift_training.h"
#include "scorch/model/policy.h"
#include "scorch/model/swift_head.h"

namespace scorch::learner {

enum class Objective { kSft, kGrpo, kPpo, kMdpo, kSwift };

struct PpoTraining {
  OptimizerConfig critic_optimizer;  // the critic's AdamW (lr, schedule as the policy's)
  double gamma = 1.0;                // GAE γ, λ (ALGORITHMS §4.2: SRR and Demystify use 1, 1)
  double lambda = 1.0;
  double value_clip = 0.2;           // <= 0: no value clipping
  bool whiten_advantages = true;
};

// swift_train (trainer_swift.cc, ALGORITHMS §5): each batch's samples (reward = label, 1 =
// correct) become SWIFT examples — the frozen policy's features at the states that read
// each sampled token (position t for every trainable token t, as generation scores them) —
// and after the stage's `batches`-th batch the head is trained (TrainSwiftHead) and saved to
// output_dir (rank 0). The policy is not changed and its version does not move.
struct SwiftTraining {
  model::SwiftHeadConfig head;
  SwiftTrainOptions train;
  std::filesystem::path output_dir;
  int64_t batches = 1;
};

struct StageTraining {
  std::string stage;                 // stage name (checkpoints, logs)
  Objective objective = Objective::kSft;
  OptimizerConfig optimizer;         // lr, schedule (total_steps = the stage's steps), clipping
  int64_t micro_batch_rows = 16;
  double kl_beta = 0.0;              // > 0: KL to the frozen reference in the loss
  KlEstimator kl_estimator = KlEstimator::kK3;
  GrpoOptions grpo;                  // clip range, aggregation (beta is set from kl_beta)
  GroupAdvantageOptions advantages;
  PpoTraining ppo;                   // objective kPpo only
  MdpoOptions mdpo;                  // eta, nll_coef (normalisers are set per batch)
  SwiftTraining swift;               // objective kSwift only
};

class Trainer {
 public:
  // `communicator` may be null (one process); it must outlive the Trainer.
  Trainer(model::Policy policy, Communicator* communicator = nullptr);

  // Starts `config.stage`: a fresh optimizer and, if kl_beta > 0 or the objective is mdpo, a
// frozen reference copy of the current policy.
  Status BeginStage(const StageTraining& config);

  // One optimizer step on `batch` (see the file comment). Returns the step's metrics:
  // loss, lr, grad_norm, entropy, kl/k1..k3, clip_fraction, tokens, ... (names as in
  // metrics.jsonl). Without a data-parallel communicator (null or size 1) an empty batch takes
  // no step and returns no metrics.
  //
  // Data-parallel (communicator size > 1): `batch` is this rank's shard (ShardBatch) and every
  // rank calls Step for the same global step, in the same order; the collectives (normalisers,
  // PPO whitening and explained variance, gradients) run in the same order on every rank. An
  // EMPTY shard still takes part: it contributes zero tokens and a zero gradient, takes the
  // same optimizer step as the others and returns only lr and grad_norm. The metrics are this
  // rank's (token means over its shard, sums over its shard); LearnerGroup reduces them to the
  // global batch's (step_metrics.h). Exact under DP up to float summation order: sft, grpo
  // (groups whole on a rank, ShardBatch), mdpo (pairs whole), ppo (advantages whitened with
  // global moments). swift makes no collective and is meant for the leader alone (LearnerGroup
  // runs it there); called on every rank, each would train its own head on its own shard.
  // A failure before the first collective is only one CheckBatch reports; after it, failures
  // are identical on every rank (a non-finite global gradient) or end the process (the
  // communicator's failure policy).
  StatusOr<std::map<std::string, double>> Step(const proto::TrainBatch& batch);

  // The checks Step makes on `batch` before its first collective (FailedPrecondition before
  // BeginStage; InvalidArgument naming the bad sample: masks, lengths, token ids, pairs). A
  // batch that passes cannot fail Step for a reason that is local to this rank. No collective.
  [[nodiscard]] Status CheckBatch(const proto::TrainBatch& batch) const;

  // Optimizer steps taken in the current stage, and the policy version (every step of
  // every stage, plus the version the trainer was started at).
  int64_t stage_step() const;
  int64_t version() const { return version_; }
  void set_version(int64_t v) { version_ = v; }

  model::Policy& policy() { return policy_; }
  // The stage's modules besides the policy, for checkpoints: the PPO critic (with its
  // optimizer) and the frozen reference (kl_beta > 0), saved and restored with the policy so a
  // resume is exact. Empty for sft and for grpo without KL.
  std::vector<AuxiliaryModule> AuxiliaryModules();
  Optimizer* optimizer() { return optimizer_.get(); }
  const StageTraining& stage() const { return stage_; }

  // One prepared training sequence (defined in src/train/trainer_internal.h).
  struct Row;

 private:
  StatusOr<std::vector<Row>> PrepareRows(const proto::TrainBatch& batch) const;
  StatusOr<std::map<std::string, double>> StepPpo(std::vector<Row> rows);  // trainer_ppo.cc
  Status BeginCritic();                                                  // trainer_ppo.cc
  Status AllReduceGradients(Optimizer& optimizer);
  // The M-DPO step (trainer_mdpo.cc).
  StatusOr<std::map<std::string, double>> StepMdpo(const proto::TrainBatch& batch);
  // The swift_train step (trainer_swift.cc).
  StatusOr<std::map<std::string, double>> StepSwift(const proto::TrainBatch& batch);
  // Sums `value` over data-parallel ranks (itself with one process).
  StatusOr<double> SumOverRanks(double value) const;
  // Whether a communicator with more than one rank is attached.
  bool data_parallel() const;
  Status CheckNoPairs(const proto::TrainBatch& batch) const;
  Status CheckMdpoBatch(const proto::TrainBatch& batch) const;  // trainer_mdpo.cc
  // PPO (trainer_ppo.cc): WhitenAdvantages with the global batch's mean and variance (two
  // all-reduces under DP), and the explained variance of the global batch (one all-reduce;
  // called only under DP).
  StatusOr<torch::Tensor> WhitenOverRanks(const torch::Tensor& advantages, const torch::Tensor& mask) const;
  StatusOr<double> ExplainedVarianceOverRanks(const torch::Tensor& returns, const torch::Tensor& values,
                                              const torch::Tensor& mask) const;
  // All-reduces the accumulated gradients, takes the optimizer step and bumps the version;
  // returns lr and grad_norm (the gradients are cleared on failure).
  StatusOr<StepResult> ApplyGradients();

  model::Policy policy_;
  Communicator* communicator_;
  StageTraining stage_;
  std::unique_ptr<Optimizer> optimizer_;
  model::Policy reference_{nullptr};
  model::Critic critic_{nullptr};              // kPpo only
  std::unique_ptr<Optimizer> critic_optimizer_;
  int64_t version_ = 0;
  std::vector<SwiftExample> swift_examples_;  // kSwift: features gathered so far this stage
  int64_t swift_batches_ = 0;
};

}  // namespace scorch::learner
