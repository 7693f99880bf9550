// The SWIFT reward head (ALGORITHMS.md §5): a Linear(D, 2) over a frozen policy's hidden
// states (or logits) that scores a response as a gated average of per-token rewards.
//
// Features: the token feature h_t concatenates the chosen hidden states of the policy
// (index 0 = embedding output, i in 1..L = block i output, L already final-normed; see
// policy.h), so D = |layers|·hidden_size; or, in "logits" mode, the (V) logit vector, D = V.
// Feature extraction is split in two so that a rollout worker can reuse the states it
// already computes while generating: ask the policy for SwiftForwardOptions() in any
// forward (full or ForwardIncremental), then turn that ForwardOutput into features with
// SwiftFeaturesFrom().
//
// Head: row 0 of the Linear is the gate (w_g, b_g), row 1 the reward (w_r, b_r):
//   g_t = σ(w_g·h_t + b_g),  r_t = w_r·h_t + b_r,
//   R   = Σ_t m_t g_t r_t / max(Σ_t m_t g_t, 1e-8)     (gate = true)
//   R   = Σ_t m_t r_t / max(Σ_t m_t, 1)                (gate = false, the --disable_gate ablation)
// 2D+2 parameters. A freshly constructed head is zero-initialised (R = 0 for every input).
// Which positions a caller scores (m_t = 1) is the caller's choice; SWIFT scores the
// response tokens from the first step to the end, end-of-turn tokens included: the state that
// READ each generated token. A rollout worker gets them from decoding itself, feeding a scored
// sequence's last token once more before it finishes (rollout generator.h), so a candidate
// costs no second forward pass; swift_train takes the same positions (learner trainer.h).
//
// Ownership: SwiftHead is a shared module handle (TORCH_MODULE). Features are returned as
// fresh float32 tensors without autograd history (the policy is frozen).
// Thread-safety: like any torch::nn::Module: concurrent no-grad forwards are fine, training
// a head from two threads is not. The free functions are reentrant.
// Errors: shape misuse in forward/TokenTerms/SwiftFeaturesFrom throws c10::Error
// (TORCH_CHECK) naming the problem. Config errors are InvalidArgument naming the field;
// SaveSwiftHead returns IoError/InvalidArgument; LoadSwiftHead returns NotFound (missing
// file), DataLoss (unparsable json, corrupt or inconsistent safetensors), InvalidArgument
// (bad config fields) and FailedPrecondition (a head saved for another model: names both dims).
#pragma once

#include <torch/torch.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/model/model_config.h"
#include "scorch/model/policy.h"

namespace scorch::model {

struct SwiftHeadConfig {
  std::string features = "hidden";  // "hidden" (policy hidden states) | "logits" (D = vocab)
  int64_t last_k_layers = 0;        // 0 = all L+1 hidden states; k>0 = the last k (L-k+1..L)
  bool apply_norm = false;          // final RMSNorm on every chosen layer except L (already normed)
  bool gate = true;                 // false = --disable_gate: R = masked mean of r_t

  // InvalidArgument naming the field: unknown `features`, last_k_layers < 0 or > L+1, or
  // last_k_layers / apply_norm set in "logits" mode (where they have no meaning).
  [[nodiscard]] Status Validate(const ModelConfig& model) const;

  nlohmann::json ToJson() const;
  // Missing keys keep their defaults; unknown keys and wrong types are InvalidArgument
  // naming the key. Does not call Validate (it needs the model).
  static StatusOr<SwiftHeadConfig> FromJson(const nlohmann::json& j);
};

// The hidden-state indices the head reads, ascending: 0..L, or L-k+1..L. Empty in "logits"
// mode. REQUIRES: config valid for a model with `num_hidden_layers` = L.
std::vector<int64_t> SwiftLayers(const SwiftHeadConfig& config, int64_t num_hidden_layers);

// D: |SwiftLayers|·hidden_size, or vocab_size in "logits" mode.
int64_t SwiftInputDim(const SwiftHeadConfig& config, const ModelConfig& model);

// What to ask the policy for: hidden_layers = SwiftLayers with logits = kNone ("hidden"), or
// logits = kAll and no hidden layers ("logits"). In "hidden" mode a generating caller may
// set `logits` to kLast for sampling; the features do not depend on it.
ForwardOptions SwiftForwardOptions(const SwiftHeadConfig& config, const ModelConfig& model);

// (B,T,D) float32 features from a ForwardOutput produced (by forward or ForwardIncremental)
// with SwiftForwardOptions(config, policy->config()): the chosen hidden states concatenated
// along the last dim, in SwiftLayers order (final norm applied to those below L when
// apply_norm), or the (B,T,V) logits. Throws c10::Error if `out` lacks what is needed.
torch::Tensor SwiftFeaturesFrom(Policy& policy, const SwiftHeadConfig& config, const ForwardOutput& out);

// Convenience: a full no-grad forward of (B,T) input_ids / attention_mask (undefined mask =
// all real), then SwiftFeaturesFrom.
torch::Tensor SwiftFeatures(Policy& policy, const SwiftHeadConfig& config, const torch::Tensor& input_ids,
                            const torch::Tensor& attention_mask);

struct SwiftScores {
  torch::Tensor score;         // (B) float32, R per row
  torch::Tensor gate;          // (B,T) σ(gate logit), 0 at masked positions (1 when gate=false)
  torch::Tensor token_reward;  // (B,T) r_t, 0 at masked positions
};

class SwiftHeadImpl : public torch::nn::Module {
 public:
  // REQUIRES: input_dim > 0. `gate` = SwiftHeadConfig::gate.
  explicit SwiftHeadImpl(int64_t input_dim, bool gate = true);

  // features (B,T,D) float, mask (B,T) any numeric/bool dtype (non-zero = a scored token).
  // Masked positions never influence the result, even if their features are NaN; a row with
  // no scored token gets R = 0. Differentiable in the head's parameters.
  SwiftScores forward(const torch::Tensor& features, const torch::Tensor& mask);

  // Per-token terms for streaming: features (...,D) -> (...,2) = [gate_logit, reward].
  torch::Tensor TokenTerms(const torch::Tensor& features);

  // R from per-token [gate_logit, reward] terms of the scored tokens, as forward() computes
  // it (in double; agrees with forward() to float rounding). Empty -> 0.
  static double CombineTokenTerms(const std::vector<std::array<float, 2>>& terms, bool gate);

  int64_t input_dim() const { return input_dim_; }
  bool gate() const { return gate_; }

  torch::nn::Linear linear{nullptr};  // Linear(D, 2): row 0 gate, row 1 reward

 private:
  int64_t input_dim_;
  bool gate_;
};
TORCH_MODULE(SwiftHead);

// Writes dir/swift_head.safetensors (linear.weight (2,D), linear.bias (2), float32) and then
// dir/swift_head.json ({"format", "version", "config", "input_dim"}), each atomically (temp +
// rename); `dir` is created if needed. The pair is not one atomic unit: a crash between the
// two can leave new weights beside an old json, which LoadSwiftHead reports as DataLoss.
// InvalidArgument if config.gate differs from head->gate(); IoError from the OS.
[[nodiscard]] Status SaveSwiftHead(SwiftHead& head, const SwiftHeadConfig& config, const std::filesystem::path& dir);

// Reads a head written by SaveSwiftHead for use with `model` (CPU, float32). The config is
// checked against the model and the stored input_dim against SwiftInputDim(config, model):
// a head trained on another model is FailedPrecondition naming both dims. `config_out` (may
// be null) receives the stored config.
StatusOr<SwiftHead> LoadSwiftHead(const std::filesystem::path& dir, const ModelConfig& model,
                                  SwiftHeadConfig* config_out);

inline constexpr const char* kSwiftHeadWeightsFile = "swift_head.safetensors";
inline constexpr const char* kSwiftHeadConfigFile = "swift_head.json";

}  // namespace scorch::model
