// The decoder-only transformer (Llama / Qwen2 family) as LibTorch modules:
//   Transformer — the backbone, HF `model.*` (embed_tokens, layers.N.*, norm);
//   Policy      — Transformer + lm_head: the causal LM used by rollout, learner and
//                 reference policy (HF *ForCausalLM; `lm_head.weight` is absent when tied);
//   Critic      — Transformer + value_head Linear(d,1): the PPO value model.
// Parameter names equal Hugging Face's so checkpoints interoperate (see checkpoint.h).
//
// Forward modes (B = batch rows, T = tokens in this call, d = hidden, V = vocab):
//  * forward(input_ids, attention_mask): full sequences, causal + padding mask. Works for
//    left- or right-padded batches: position ids are cumsum(mask) - 1, so a row's first
//    real token gets position 0 wherever padding sits. Autograd-enabled (training).
//  * ForwardIncremental(..., slots, cache): appends the real tokens of each row to its KV
//    cache slot and returns outputs for those tokens (see kv_cache.h for the slot model).
//    Always runs without autograd. Outputs at padded positions are unspecified.
//  * ForwardOptions::hidden_layers asks for hidden states: index 0 is the embedding output,
//    i in 1..L the output of block i, where (HF convention) index L has the final RMSNorm
//    applied. ForwardOutput::last_hidden is always the final-normed (B,T,d) state.
//
// Ownership: modules are shared handles (TORCH_MODULE). Thread-safety: concurrent no-grad
// forwards on one module are safe if each uses its own KvCache; training is single-threaded.
// Errors: shape or dtype misuse throws c10::Error (TORCH_CHECK) naming the problem; callers
// at adapter edges catch it. Construction REQUIRES a config that passed Validate().
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "scorch/model/kv_cache.h"
#include "scorch/model/layers.h"
#include "scorch/model/model_config.h"

namespace scorch::model {

enum class LogitsMode {
  kAll,   // logits (B,T,V) for every position
  kLast,  // logits (B,V) at each row's last real token (prefill / decode step)
  kNone,  // no logits (hidden states or values only)
};

struct ForwardOptions {
  LogitsMode logits = LogitsMode::kAll;
  std::vector<int64_t> hidden_layers;  // indices in [0, L]; may repeat; order is kept
};

struct ForwardOutput {
  torch::Tensor logits;                       // per LogitsMode; undefined for kNone
  std::vector<torch::Tensor> hidden_states;   // one (B,T,d) per ForwardOptions::hidden_layers
  torch::Tensor last_hidden;                  // (B,T,d) after the final norm
};

// ---------------------------------------------------------------------------------------
class TransformerImpl : public torch::nn::Module {
 public:
  explicit TransformerImpl(const ModelConfig& config);

  // input_ids (B,T) int64; attention_mask (B,T) (any integer/bool dtype, 1 = real token),
  // or undefined for "all real". Returns the final-normed hidden state and the requested
  // hidden states; logits are left to the caller.
  ForwardOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                        const std::vector<int64_t>& hidden_layers = {});

  // Incremental: row b extends cache slot slots[b]. REQUIRES: slots distinct and valid,
  // cache.Remaining(slot) >= real tokens of the row. Advances the cache lengths.
  ForwardOutput ForwardIncremental(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                   const std::vector<int64_t>& slots, KvCache& cache,
                                   const std::vector<int64_t>& hidden_layers = {});

  const ModelConfig& config() const { return config_; }
  const RotaryEmbedding& rotary() const { return rotary_; }

  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RMSNorm norm{nullptr};

 private:
  ForwardOutput RunLayers(const torch::Tensor& input_ids, AttentionInputs& in,
                          const std::vector<int64_t>& hidden_layers);

  ModelConfig config_;
  RotaryEmbedding rotary_;
  std::vector<DecoderLayer> blocks_;  // the same modules as `layers`, typed
};
TORCH_MODULE(Transformer);

// ---------------------------------------------------------------------------------------
class PolicyImpl : public torch::nn::Module {
 public:
  explicit PolicyImpl(const ModelConfig& config);

  // Full-sequence forward; see the file comment.
  ForwardOutput forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {},
                        const ForwardOptions& options = {});
  // Incremental decoding step over KV cache slots; see the file comment and kv_cache.h.
  ForwardOutput ForwardIncremental(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                   const std::vector<int64_t>& slots, KvCache& cache,
                                   const ForwardOptions& options = {});

  // hidden (...,d) -> logits (...,V) through lm_head (or the tied embedding matrix).
  torch::Tensor Logits(const torch::Tensor& hidden);
  // The (V,d) output projection: lm_head.weight, or embed_tokens.weight when tied.
  torch::Tensor OutputWeight();

  const ModelConfig& config() const { return model->config(); }

  Transformer model{nullptr};
  torch::nn::Linear lm_head{nullptr};  // null when tie_word_embeddings

 private:
  ForwardOutput Finish(ForwardOutput out, const torch::Tensor& attention_mask, LogitsMode mode);
};
TORCH_MODULE(Policy);

// ---------------------------------------------------------------------------------------
// PPO critic: values (B,T) float32 = value_head(final-normed hidden state). Parameter names
// `model.*` and `value_head.weight` (1,d), `value_head.bias` (1).
class CriticImpl : public torch::nn::Module {
 public:
  explicit CriticImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask = {});

  const ModelConfig& config() const { return model->config(); }

  Transformer model{nullptr};
  torch::nn::Linear value_head{nullptr};
};
TORCH_MODULE(Critic);

// Hugging Face's initialisation, deterministic in `seed` and independent of device and of
// the global torch RNG: every Linear/Embedding weight ~ N(0, initializer_range) drawn in
// named_parameters() order on CPU, biases 0, norm weights 1.
void InitializeWeights(torch::nn::Module& module, double initializer_range, uint64_t seed);

// Sum of numel over the module's parameters (a tied matrix is counted once).
int64_t CountParameters(const torch::nn::Module& module);

}  // namespace scorch::model
