// StepModel: the one operation the rollout Generator needs from a language model — "append
// these new tokens to these KV-cache slots and give me the next-token logits of each slot" —
// so the continuous-batching loop can run over the real Policy (PolicyStepModel) or over a
// scripted fake in tests and benches (scripted_step_model.h).
//
// Slot model (as model/kv_cache.h): the model owns `num_slots()` independent sequences of at
// most `max_seq_len()` tokens. A Forward call names, per row, a slot and the tokens to append
// to it (a whole prompt for a fresh slot, one sampled token for a decoding one); rows in one
// call may carry different token counts, so a prefill and many decode steps share a call.
// ResetSlot empties a slot for the next request. BeginGeneration marks the start of a new
// generation in a slot — after ResetSlot, or on a slot that keeps its earlier tokens when the
// generator reuses a session's prefix (generator.h); the real model ignores it, the scripted
// fake uses it to know where a prompt ends.
//
// PolicyStepModel runs one ForwardIncremental over a right-padded batch when the rows have
// similar lengths, and splits a call into a prefill forward and a single-token decode forward
// when padding every decode row to the longest prompt would waste more than half the work;
// both happen inside the same Forward call (one generator step), and the results are equal
// either way.
//
// Token scoring (SWIFT, ALGORITHMS §5): with a head installed (SetScoreHead), every forward
// also asks the policy for the head's hidden layers (or all logits, in logits mode) and keeps,
// per slot, the head's [gate logit, token reward] of every token fed to that slot (TokenTerms),
// so a sequence's score costs one Linear(D, 2) per token on states generation computes anyway,
// not a second forward pass. The terms are emptied with the slot.
//
// Ownership: PolicyStepModel shares the Policy handle and owns its KvCache. Thread-safety:
// not thread-safe; one generator loop owns a StepModel. Errors: Forward returns
// InvalidArgument for a bad slot, an empty row or a row that overflows its slot, and Internal
// for a LibTorch failure (the c10::Error text is kept); the slots' contents are then
// unspecified and the caller should reset the slots it used.
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/model/kv_cache.h"
#include "scorch/model/policy.h"
#include "scorch/model/swift_head.h"
#include "scorch/model/tokenizer.h"

namespace scorch::rollout {

using model::TokenId;

// One row of a step: append `tokens` (non-empty) to `slot`.
struct StepRow {
  int64_t slot = 0;
  std::span<const TokenId> tokens;
};

class StepModel {
 public:
  virtual ~StepModel() = default;

  virtual int64_t num_slots() const = 0;
  virtual int64_t max_seq_len() const = 0;  // tokens per slot (prompt + generation)
  virtual int64_t vocab_size() const = 0;
  virtual int64_t SlotLength(int64_t slot) const = 0;

  // Empties `slot` (its next Forward starts a new sequence at position 0).
  virtual void ResetSlot(int64_t slot) = 0;
  // The next Forward on `slot` ends the prompt of a new generation (see above).
  virtual void BeginGeneration(int64_t slot) { (void)slot; }

  // Appends each row's tokens to its slot and returns float32 (rows, vocab) logits for the
  // next token of each row, on the model's device. REQUIRES: distinct slots.
  virtual StatusOr<torch::Tensor> Forward(const std::vector<StepRow>& rows) = 0;

  // Token scoring (see the file comment): [gate logit, token reward] for each token fed to
  // `slot`, by position; null when no scoring head is installed.
  virtual const std::vector<std::array<float, 2>>* TokenTerms(int64_t slot) const {
    (void)slot;
    return nullptr;
  }
  // Whether the installed head gates its token rewards (false: a plain mean).
  virtual bool TokenTermsGated() const { return true; }
};

// A SWIFT head ready to score: the module (eval mode, the policy's device) and its config.
struct ScoreHead {
  model::SwiftHead head{nullptr};
  model::SwiftHeadConfig config;
};

struct PolicyStepModelOptions {
  int64_t num_slots = 8;                        // concurrent sequences
  int64_t max_seq_len = 2048;                   // tokens per slot
  torch::Dtype dtype = torch::kFloat32;         // KV cache dtype (= the policy's)
  torch::Device device = torch::Device(torch::kCPU);
  double max_padding_waste = 0.5;               // split prefill/decode above this padded fraction
};

class PolicyStepModel final : public StepModel {
 public:
  // REQUIRES: `policy` is in eval mode on options.device.
  PolicyStepModel(model::Policy policy, const PolicyStepModelOptions& options);

  int64_t num_slots() const override { return cache_.num_slots(); }
  int64_t max_seq_len() const override { return cache_.max_seq_len(); }
  int64_t vocab_size() const override { return policy_->config().vocab_size; }
  int64_t SlotLength(int64_t slot) const override { return cache_.length(slot); }
  void ResetSlot(int64_t slot) override;
  StatusOr<torch::Tensor> Forward(const std::vector<StepRow>& rows) override;

  // Installs (or, with nullopt, removes) the scoring head. REQUIRES: no sequence in flight;
  // every slot is reset. The head must match the policy (LoadSwiftHead checks).
  void SetScoreHead(std::optional<ScoreHead> head);
  const std::vector<std::array<float, 2>>* TokenTerms(int64_t slot) const override;
  bool TokenTermsGated() const override { return !score_ || score_->config.gate; }

  // Replaces the weights' owner (a new policy version). REQUIRES: same config; the caller
  // swaps only between sequences (every slot is reset here).
  void SetPolicy(model::Policy policy);
  model::Policy& policy() { return policy_; }

  // Number of ForwardIncremental calls made (a split step counts two).
  int64_t forward_calls() const { return forward_calls_; }

 private:
  torch::Tensor RunRows(const std::vector<StepRow>& rows, const std::vector<size_t>& which);

  model::Policy policy_;
  model::KvCache cache_;
  PolicyStepModelOptions options_;
  std::optional<ScoreHead> score_;
  std::vector<std::vector<std::array<float, 2>>> terms_;  // per slot, while score_ is set
  int64_t forward_calls_ = 0;
};

// Loads the SWIFT head in `dir` (model::LoadSwiftHead, checked against the step model's
// policy) onto the policy's device and installs it; nullopt removes the head. REQUIRES: no
// sequence in flight. Errors: the loader's (NotFound, FailedPrecondition for another model).
[[nodiscard]] Status InstallScoreHead(PolicyStepModel& step, const std::optional<std::string>& dir);

// Checks rows against a model's slots: valid, distinct, non-empty and within capacity.
Status ValidateRows(const StepModel& model, const std::vector<StepRow>& rows);

}  // namespace scorch::rollout
