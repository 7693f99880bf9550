// The building blocks of the Llama/Qwen2 decoder: RMSNorm, rotary position embeddings,
// grouped-query self-attention, the SwiGLU MLP and one pre-norm decoder block.
//
// Parameter names equal Hugging Face's (`self_attn.q_proj.weight`, `mlp.gate_proj.weight`,
// `input_layernorm.weight`, ...) so that state dicts interoperate. Shapes use B = batch,
// T = query tokens in this call, S = key positions, d = hidden_size, H / Hkv = query / KV
// heads, D = head_dim.
//
// Attention is computed with two batched matmuls and a masked softmax; GQA is handled by
// folding the G = H / Hkv query heads that share a KV head into the query-length axis, so KV
// heads are never repeated. With LibTorch >= 2.0 the fused at::scaled_dot_product_attention
// is used instead (KV heads expanded). Softmax runs in float32 for half-precision models.
//
// Thread-safety: like any torch::nn::Module (concurrent forwards without grad are fine;
// training a module from two threads is not). Errors: shape misuse throws c10::Error.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "scorch/model/kv_cache.h"
#include "scorch/model/model_config.h"

namespace scorch::model {

// ---------------------------------------------------------------------------------------
// RMSNorm: y = x / sqrt(mean(x^2) + eps) * weight, computed in float32 for half inputs.
class RMSNormImpl : public torch::nn::Module {
 public:
  RMSNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);  // (..., d) -> (..., d)
  void reset_parameters();

  torch::Tensor weight;  // (d)

 private:
  double eps_;
};
TORCH_MODULE(RMSNorm);

// ---------------------------------------------------------------------------------------
// Rotary embeddings (HF "rotate_half" layout: the two halves of a head form the pairs).
// inv_freq[i] = theta^(-2i/D), adjusted by rope_scaling (linear: / factor; llama3: the
// Llama 3.1 wavelength-dependent rescale). The angle of position p is p * inv_freq[i],
// computed in float64 and then rounded, so a position gets the same table in a full forward
// and in incremental decoding.
class RotaryEmbedding {
 public:
  explicit RotaryEmbedding(const ModelConfig& config);

  // Per-frequency inverse wavelengths after scaling, length D/2.
  const std::vector<double>& inv_freq() const { return inv_freq_; }

  // position_ids (B,T) int64 -> {cos, sin}, each (B,T,D/2) float32 on position_ids' device.
  std::pair<torch::Tensor, torch::Tensor> Tables(const torch::Tensor& position_ids) const;

  // x (B,N,T,D) rotated by tables (B,T,D/2): [x1 c - x2 s, x2 c + x1 s] with x = [x1, x2].
  static torch::Tensor Apply(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin);

 private:
  std::vector<double> inv_freq_;
  torch::Tensor inv_freq_f64_;  // (D/2) float64 on CPU
};

// ---------------------------------------------------------------------------------------
// What every layer of one forward call shares. Built once per call by the Transformer.
struct AttentionInputs {
  torch::Tensor cos, sin;  // (B,T,D/2) float32 rotary tables at each query's position
  torch::Tensor mask;      // (B,1,1,T,S) additive (0 / -inf) in the compute dtype
  torch::Tensor mask_bool; // (B,1,T,S) bool, true = may attend (used by the fused kernel)
  // Incremental decoding only (cache != nullptr):
  KvCache* cache = nullptr;
  torch::Tensor write_src;   // (N) int64: flat index b*T+t of each real new token
  torch::Tensor write_slot;  // (N) int64: its cache slot
  torch::Tensor write_pos;   // (N) int64: its position in the slot
  torch::Tensor slots;       // (B) int64: the slot of each batch row
  bool slots_are_prefix = false;  // slots == 0..B-1, so the cache can be viewed, not gathered
  int64_t key_len = 0;            // S: keys read from the cache per row
};

class AttentionImpl : public torch::nn::Module {
 public:
  AttentionImpl(const ModelConfig& config, int64_t layer_index);
  // x (B,T,d) -> (B,T,d). Writes this layer's new keys/values into in.cache if set.
  torch::Tensor forward(const torch::Tensor& x, const AttentionInputs& in);

  torch::nn::Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};

 private:
  int64_t layer_;
  int64_t num_heads_, num_kv_heads_, head_dim_;
};
TORCH_MODULE(Attention);

// SwiGLU: down_proj(silu(gate_proj(x)) * up_proj(x)).
class MlpImpl : public torch::nn::Module {
 public:
  explicit MlpImpl(const ModelConfig& config);
  torch::Tensor forward(const torch::Tensor& x);  // (B,T,d) -> (B,T,d)

  torch::nn::Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(Mlp);

// Pre-norm block: h = x + attn(norm1(x)); out = h + mlp(norm2(h)).
class DecoderLayerImpl : public torch::nn::Module {
 public:
  DecoderLayerImpl(const ModelConfig& config, int64_t layer_index);
  torch::Tensor forward(const torch::Tensor& x, const AttentionInputs& in);  // (B,T,d)

  RMSNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
  Attention self_attn{nullptr};
  Mlp mlp{nullptr};
};
TORCH_MODULE(DecoderLayer);

}  // namespace scorch::model
