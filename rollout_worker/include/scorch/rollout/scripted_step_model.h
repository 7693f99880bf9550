// ScriptedStepModel: a fake StepModel whose next tokens are predetermined, for tests and
// benches of the generator and the turn protocols without a neural network.
//
// A slot's first Forward after ResetSlot or BeginGeneration ends its prompt: the prompt is the
// slot's whole token history at that point (so a generation that continues a kept slot sees
// the same prompt as one prefilled from scratch). The script maps that prompt to a planned
// continuation; the k-th token generated in the slot then has logits 0 at plan[k] and
// -1e4 everywhere else, so it is sampled with probability 1 whatever the temperature or
// filters and its log-probability is 0. Past the end of the plan (or when the script returns
// no plan) the logits are `fallback`: a fixed token (e.g. end of sequence), or pseudo-random
// logits that depend only on the slot's token history — the same history gives the same
// logits in any batch, which makes seeded sampling checkable.
//
// Ownership: a value type holding the script. Thread-safety: not thread-safe. Errors: as
// StepModel (ValidateRows); a script that throws is a bug in the test.
#pragma once

#include <functional>
#include <optional>
#include <vector>

#include "scorch/rollout/step_model.h"

namespace scorch::rollout {

class ScriptedStepModel final : public StepModel {
 public:
  // The planned continuation for a prompt (may be empty).
  using Script = std::function<std::vector<TokenId>(std::span<const TokenId> prompt)>;

  struct Options {
    int64_t num_slots = 4;
    int64_t max_seq_len = 4096;
    int64_t vocab_size = 101;
    std::optional<TokenId> fallback_token;  // past the plan: this token; nullopt = random logits
  };

  ScriptedStepModel(const Options& options, Script script);

  int64_t num_slots() const override { return options_.num_slots; }
  int64_t max_seq_len() const override { return options_.max_seq_len; }
  int64_t vocab_size() const override { return options_.vocab_size; }
  int64_t SlotLength(int64_t slot) const override;
  void ResetSlot(int64_t slot) override;
  void BeginGeneration(int64_t slot) override;
  StatusOr<torch::Tensor> Forward(const std::vector<StepRow>& rows) override;

  // Rows and tokens seen over all Forward calls (for batching assertions).
  int64_t forward_calls() const { return forward_calls_; }
  const std::vector<int64_t>& rows_per_call() const { return rows_per_call_; }
  // The prompts slots were started with, in order.
  const std::vector<std::vector<TokenId>>& prompts_seen() const { return prompts_seen_; }

 private:
  struct Slot {
    std::vector<TokenId> history;
    size_t prompt_len = 0;
    std::vector<TokenId> plan;
    bool new_generation = true;  // the next Forward ends a prompt
  };

  Options options_;
  Script script_;
  std::vector<Slot> slots_;
  int64_t forward_calls_ = 0;
  std::vector<int64_t> rows_per_call_;
  std::vector<std::vector<TokenId>> prompts_seen_;
};

}  // namespace scorch::rollout
