// Private: picks the attention kernel by LibTorch version. LibTorch >= 2.0 has the fused
// at::scaled_dot_product_attention (flash / memory-efficient kernels on CUDA); 1.13 (Debian,
// CPU) does not, and the model falls back to matmul + masked softmax.
#pragma once

#include <torch/torch.h>
#include <torch/version.h>

namespace scorch::model {

#if TORCH_VERSION_MAJOR >= 2
inline constexpr bool kUseFusedAttention = true;

// q (B,H,T,D); keys/vals (B,Hkv,S,D); mask (B,1,T,S) bool, true = attend. Returns (B,H,T,D).
inline torch::Tensor FusedAttention(const torch::Tensor& q, const torch::Tensor& keys, const torch::Tensor& vals,
                                    const torch::Tensor& mask, int64_t group) {
  torch::Tensor k = keys, v = vals;
  if (group > 1) {
    const int64_t B = keys.size(0), Hkv = keys.size(1), S = keys.size(2), D = keys.size(3);
    k = keys.unsqueeze(2).expand({B, Hkv, group, S, D}).reshape({B, Hkv * group, S, D});
    v = vals.unsqueeze(2).expand({B, Hkv, group, S, D}).reshape({B, Hkv * group, S, D});
  }
  return at::scaled_dot_product_attention(q, k, v, mask);
}
#else
inline constexpr bool kUseFusedAttention = false;

inline torch::Tensor FusedAttention(const torch::Tensor&, const torch::Tensor&, const torch::Tensor&,
                                    const torch::Tensor&, int64_t) {
  TORCH_CHECK(false, "fused attention needs LibTorch >= 2.0");
  return {};
}
#endif

}  // namespace scorch::model
