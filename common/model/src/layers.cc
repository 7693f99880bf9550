// RMSNorm, rotary embeddings, attention, MLP and the decoder block (see layers.h).
#include "scorch/model/layers.h"

#include <torch/version.h>

#include <cmath>
#include <string>

#include "attention_backend.h"

namespace scorch::model {

using torch::indexing::Slice;

// ---------------------------------------------------------------------------------------
RMSNormImpl::RMSNormImpl(int64_t dim, double eps) : eps_(eps) {
  weight = register_parameter("weight", torch::ones({dim}));
}

void RMSNormImpl::reset_parameters() {
  torch::NoGradGuard no_grad;
  weight.fill_(1.0);
}

torch::Tensor RMSNormImpl::forward(const torch::Tensor& x) {
  if (x.scalar_type() == torch::kFloat32) {
    auto inv = x.square().mean(-1, /*keepdim=*/true).add_(eps_).rsqrt_();
    auto y = x * inv;
    return y.mul_(weight);
  }
  // Half precision: normalise in float32, round, then scale (as Hugging Face does).
  auto xf = x.to(torch::kFloat32);
  auto inv = xf.square().mean(-1, true).add_(eps_).rsqrt_();
  return (xf * inv).to(x.scalar_type()) * weight;
}

// ---------------------------------------------------------------------------------------
RotaryEmbedding::RotaryEmbedding(const ModelConfig& c) {
  const int64_t half = c.head_dim / 2;
  inv_freq_.resize(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) {
    inv_freq_[static_cast<size_t>(i)] =
        1.0 / std::pow(c.rope_theta, static_cast<double>(2 * i) / static_cast<double>(c.head_dim));
  }
  const RopeScaling& rs = c.rope_scaling;
  if (rs.type == "linear") {
    for (double& f : inv_freq_) f /= rs.factor;
  } else if (rs.type == "llama3") {
    const double old_len = static_cast<double>(rs.original_max_position_embeddings);
    const double low_wavelen = old_len / rs.low_freq_factor;
    const double high_wavelen = old_len / rs.high_freq_factor;
    for (double& f : inv_freq_) {
      const double wavelen = 2.0 * M_PI / f;
      if (wavelen > low_wavelen) {
        f = f / rs.factor;  // low frequencies: fully interpolated
      } else if (wavelen >= high_wavelen) {
        const double smooth = (old_len / wavelen - rs.low_freq_factor) / (rs.high_freq_factor - rs.low_freq_factor);
        f = (1.0 - smooth) * f / rs.factor + smooth * f;
      }  // high frequencies unchanged
    }
  }
  inv_freq_f64_ = torch::tensor(inv_freq_, torch::kFloat64);
}

std::pair<torch::Tensor, torch::Tensor> RotaryEmbedding::Tables(const torch::Tensor& position_ids) const {
  auto freq = inv_freq_f64_.to(position_ids.device());
  auto angles = position_ids.to(torch::kFloat64).unsqueeze(-1) * freq;  // (B,T,D/2)
  return {angles.cos().to(torch::kFloat32), angles.sin().to(torch::kFloat32)};
}

torch::Tensor RotaryEmbedding::Apply(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin) {
  const int64_t half = x.size(-1) / 2;
  auto x1 = x.narrow(-1, 0, half);
  auto x2 = x.narrow(-1, half, half);
  auto c = cos.unsqueeze(1).to(x.scalar_type());  // (B,1,T,D/2)
  auto s = sin.unsqueeze(1).to(x.scalar_type());
  return torch::cat({x1 * c - x2 * s, x2 * c + x1 * s}, -1);
}

// ---------------------------------------------------------------------------------------
namespace {
torch::nn::Linear MakeLinear(int64_t in, int64_t out, bool bias) {
  return torch::nn::Linear(torch::nn::LinearOptions(in, out).bias(bias));
}
}  // namespace

AttentionImpl::AttentionImpl(const ModelConfig& c, int64_t layer_index)
    : layer_(layer_index),
      num_heads_(c.num_attention_heads),
      num_kv_heads_(c.num_key_value_heads),
      head_dim_(c.head_dim) {
  q_proj = register_module("q_proj", MakeLinear(c.hidden_size, num_heads_ * head_dim_, c.attention_bias));
  k_proj = register_module("k_proj", MakeLinear(c.hidden_size, num_kv_heads_ * head_dim_, c.attention_bias));
  v_proj = register_module("v_proj", MakeLinear(c.hidden_size, num_kv_heads_ * head_dim_, c.attention_bias));
  o_proj = register_module("o_proj", MakeLinear(num_heads_ * head_dim_, c.hidden_size, false));
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const AttentionInputs& in) {
  const int64_t B = x.size(0), T = x.size(1);
  const int64_t H = num_heads_, Hkv = num_kv_heads_, D = head_dim_, G = H / Hkv;
  auto q = q_proj(x).view({B, T, H, D}).transpose(1, 2);     // (B,H,T,D)
  auto k = k_proj(x).view({B, T, Hkv, D}).transpose(1, 2);   // (B,Hkv,T,D)
  auto v = v_proj(x).view({B, T, Hkv, D});                   // (B,T,Hkv,D)
  q = RotaryEmbedding::Apply(q, in.cos, in.sin);             // contiguous (B,H,T,D)
  k = RotaryEmbedding::Apply(k, in.cos, in.sin);             // contiguous (B,Hkv,T,D)

  torch::Tensor keys, vals;  // (B,Hkv,S,D)
  if (in.cache == nullptr) {
    keys = k;
    vals = v.transpose(1, 2);
  } else {
    torch::Tensor& ck = in.cache->keys(layer_);
    torch::Tensor& cv = in.cache->values(layer_);
    if (in.write_src.numel() > 0) {
      auto k_new = k.transpose(1, 2).reshape({B * T, Hkv, D}).index_select(0, in.write_src);
      auto v_new = v.reshape({B * T, Hkv, D}).index_select(0, in.write_src);
      ck.index_put_({in.write_slot, Slice(), in.write_pos}, k_new.to(ck.scalar_type()));
      cv.index_put_({in.write_slot, Slice(), in.write_pos}, v_new.to(cv.scalar_type()));
    }
    auto kc = ck.narrow(2, 0, in.key_len);
    auto vc = cv.narrow(2, 0, in.key_len);
    if (in.slots_are_prefix) {
      keys = kc.narrow(0, 0, B);
      vals = vc.narrow(0, 0, B);
    } else {
      keys = kc.index_select(0, in.slots);
      vals = vc.index_select(0, in.slots);
    }
    if (keys.scalar_type() != q.scalar_type()) {
      keys = keys.to(q.scalar_type());
      vals = vals.to(q.scalar_type());
    }
  }
  const int64_t S = keys.size(2);

  torch::Tensor out;  // (B,H,T,D)
  if constexpr (kUseFusedAttention) {
    out = FusedAttention(q, keys, vals, in.mask_bool, G);
  } else {
    const double scale = 1.0 / std::sqrt(static_cast<double>(D));
    // Fold the G query heads sharing a KV head into the row axis: no KV repetition.
    auto qg = (q * scale).view({B, Hkv, G * T, D});
    auto scores = torch::matmul(qg, keys.transpose(-1, -2)).view({B, Hkv, G, T, S});
    scores.add_(in.mask);
    torch::Tensor probs;
    if (scores.scalar_type() == torch::kFloat32) {
      probs = torch::softmax(scores, -1);
    } else {
      probs = torch::softmax(scores, -1, torch::kFloat32).to(scores.scalar_type());
    }
    out = torch::matmul(probs.view({B, Hkv, G * T, S}), vals).view({B, H, T, D});
  }
  return o_proj(out.transpose(1, 2).reshape({B, T, H * D}));
}

// ---------------------------------------------------------------------------------------
MlpImpl::MlpImpl(const ModelConfig& c) {
  gate_proj = register_module("gate_proj", MakeLinear(c.hidden_size, c.intermediate_size, false));
  up_proj = register_module("up_proj", MakeLinear(c.hidden_size, c.intermediate_size, false));
  down_proj = register_module("down_proj", MakeLinear(c.intermediate_size, c.hidden_size, false));
}

torch::Tensor MlpImpl::forward(const torch::Tensor& x) {
  auto g = gate_proj(x);
  auto u = up_proj(x);
  if (torch::GradMode::is_enabled()) return down_proj(torch::silu(g) * u);
  torch::silu_(g);
  return down_proj(g.mul_(u));
}

// ---------------------------------------------------------------------------------------
DecoderLayerImpl::DecoderLayerImpl(const ModelConfig& c, int64_t layer_index) {
  self_attn = register_module("self_attn", Attention(c, layer_index));
  mlp = register_module("mlp", Mlp(c));
  input_layernorm = register_module("input_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RMSNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const AttentionInputs& in) {
  // add_ acts on fresh projection outputs (not saved for backward), so it is autograd-safe.
  auto h = self_attn(input_layernorm(x), in).add_(x);
  return mlp(post_attention_layernorm(h)).add_(h);
}

}  // namespace scorch::model
