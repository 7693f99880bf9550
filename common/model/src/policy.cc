// Transformer backbone, causal-LM Policy and PPO Critic (see policy.h).
#include "scorch/model/policy.h"

#include <ATen/CPUGeneratorImpl.h>

#include <algorithm>
#include <limits>
#include <set>
#include <string>

#include "attention_backend.h"

namespace scorch::model {
namespace {

// Fills the per-call masks from `allowed` (B,T,S) bool, true = query t may attend key s.
void SetMask(AttentionInputs& in, const torch::Tensor& allowed, torch::Dtype dtype) {
  const int64_t B = allowed.size(0), T = allowed.size(1), S = allowed.size(2);
  if constexpr (kUseFusedAttention) {
    in.mask_bool = allowed.unsqueeze(1);
  } else {
    auto add = torch::zeros({B, T, S}, torch::TensorOptions().dtype(dtype).device(allowed.device()));
    add.masked_fill_(allowed.logical_not(), -std::numeric_limits<double>::infinity());
    in.mask = add.view({B, 1, 1, T, S});
  }
}

torch::Tensor BoolMask(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  TORCH_CHECK(input_ids.dim() == 2, "input_ids must be (B,T), got ", input_ids.sizes());
  TORCH_CHECK(input_ids.scalar_type() == torch::kInt64 || input_ids.scalar_type() == torch::kInt32,
              "input_ids must be int64 or int32, got ", input_ids.scalar_type());
  if (!attention_mask.defined()) {
    return torch::ones(input_ids.sizes(), torch::TensorOptions().dtype(torch::kBool).device(input_ids.device()));
  }
  TORCH_CHECK(attention_mask.sizes() == input_ids.sizes(), "attention_mask ", attention_mask.sizes(),
              " must match input_ids ", input_ids.sizes());
  return attention_mask.to(input_ids.device()).ne(0);
}

}  // namespace

// ---------------------------------------------------------------------------------------
TransformerImpl::TransformerImpl(const ModelConfig& config) : config_(config), rotary_(config) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(config.vocab_size, config.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    blocks_.push_back(DecoderLayer(config, l));
    layers->push_back(blocks_.back());
  }
  norm = register_module("norm", RMSNorm(config.hidden_size, config.rms_norm_eps));
}

ForwardOutput TransformerImpl::RunLayers(const torch::Tensor& input_ids, AttentionInputs& in,
                                         const std::vector<int64_t>& hidden_layers) {
  const int64_t L = config_.num_hidden_layers;
  for (int64_t i : hidden_layers) {
    TORCH_CHECK(i >= 0 && i <= L, "hidden layer index ", i, " out of range [0, ", L, "]");
  }
  TORCH_CHECK(input_ids.numel() == 0 ||
                  (input_ids.min().item<int64_t>() >= 0 && input_ids.max().item<int64_t>() < config_.vocab_size),
              "input_ids contain a token id outside [0, ", config_.vocab_size, ")");
  ForwardOutput out;
  out.hidden_states.resize(hidden_layers.size());
  auto capture = [&](int64_t index, const torch::Tensor& h) {
    for (size_t j = 0; j < hidden_layers.size(); ++j) {
      if (hidden_layers[j] == index) out.hidden_states[j] = h;
    }
  };
  auto h = embed_tokens(input_ids.to(torch::kInt64));
  capture(0, h);
  for (int64_t l = 0; l < L; ++l) {
    h = blocks_[static_cast<size_t>(l)](h, in);
    if (l + 1 < L) capture(l + 1, h);
  }
  out.last_hidden = norm(h);
  capture(L, out.last_hidden);
  return out;
}

ForwardOutput TransformerImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                       const std::vector<int64_t>& hidden_layers) {
  auto m = BoolMask(input_ids, attention_mask);
  const int64_t T = input_ids.size(1);
  auto dev = input_ids.device();
  auto pos = (m.to(torch::kInt64).cumsum(1) - 1).clamp_min(0);  // (B,T)
  AttentionInputs in;
  std::tie(in.cos, in.sin) = rotary_.Tables(pos);
  auto idx = torch::arange(T, torch::TensorOptions().dtype(torch::kInt64).device(dev));
  auto causal = idx.unsqueeze(1).ge(idx.unsqueeze(0));           // (T,S): s <= t
  auto allowed = causal.unsqueeze(0).logical_and(m.unsqueeze(1));  // (B,T,S)
  // A padding query (e.g. left padding) may see no real key; letting every query see itself
  // keeps its softmax finite. Real queries always see themselves already.
  auto eye = torch::eye(T, torch::TensorOptions().dtype(torch::kBool).device(dev));
  allowed = allowed.logical_or(eye.unsqueeze(0));
  SetMask(in, allowed, embed_tokens->weight.scalar_type());
  return RunLayers(input_ids, in, hidden_layers);
}

ForwardOutput TransformerImpl::ForwardIncremental(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                                  const std::vector<int64_t>& slots, KvCache& cache,
                                                  const std::vector<int64_t>& hidden_layers) {
  torch::NoGradGuard no_grad;
  auto m = BoolMask(input_ids, attention_mask);
  const int64_t B = input_ids.size(0);
  auto dev = input_ids.device();
  TORCH_CHECK(static_cast<int64_t>(slots.size()) == B, "ForwardIncremental: ", slots.size(), " slots for ", B,
              " batch rows");
  TORCH_CHECK(cache.num_layers() == config_.num_hidden_layers, "ForwardIncremental: cache has ", cache.num_layers(),
              " layers, model has ", config_.num_hidden_layers);
  auto counts_t = m.sum(1).to(torch::kCPU).to(torch::kInt64).contiguous();
  std::vector<int64_t> counts(counts_t.data_ptr<int64_t>(), counts_t.data_ptr<int64_t>() + B);
  std::vector<int64_t> bases(static_cast<size_t>(B));
  std::set<int64_t> seen;
  bool prefix = true;
  int64_t key_len = 1;
  for (int64_t b = 0; b < B; ++b) {
    const int64_t s = slots[static_cast<size_t>(b)];
    TORCH_CHECK(s >= 0 && s < cache.num_slots(), "ForwardIncremental: slot ", s, " out of range [0, ",
                cache.num_slots(), ")");
    TORCH_CHECK(seen.insert(s).second, "ForwardIncremental: slot ", s, " appears twice in one batch");
    const int64_t len = cache.length(s);
    TORCH_CHECK(len + counts[static_cast<size_t>(b)] <= cache.max_seq_len(), "ForwardIncremental: slot ", s,
                " holds ", len, " tokens and cannot take ", counts[static_cast<size_t>(b)], " more (max_seq_len ",
                cache.max_seq_len(), ")");
    bases[static_cast<size_t>(b)] = len;
    key_len = std::max(key_len, len + counts[static_cast<size_t>(b)]);
    prefix = prefix && s == b;
  }
  auto long_opts = torch::TensorOptions().dtype(torch::kInt64).device(dev);
  auto base_t = torch::tensor(bases, torch::kInt64).to(dev);
  auto slots_t = torch::tensor(slots, torch::kInt64).to(dev);
  auto qpos = base_t.unsqueeze(1) + m.to(torch::kInt64).cumsum(1) - 1;  // (B,T); real tokens: their position
  auto pos = qpos.clamp_min(0);

  AttentionInputs in;
  std::tie(in.cos, in.sin) = rotary_.Tables(pos);
  auto keys = torch::arange(key_len, long_opts);
  // Key s is visible to query t iff s <= its position: everything before it in the slot plus
  // the new tokens up to itself. Padding queries see positions <= max(pos, 0), all finite.
  auto allowed = keys.view({1, 1, key_len}).le(pos.unsqueeze(-1));  // (B,T,S)
  SetMask(in, allowed, embed_tokens->weight.scalar_type());
  auto flat_mask = m.reshape({-1});
  in.write_src = flat_mask.nonzero().squeeze(1);
  in.write_slot = slots_t.unsqueeze(1).expand_as(qpos).reshape({-1}).index_select(0, in.write_src);
  in.write_pos = qpos.reshape({-1}).index_select(0, in.write_src);
  in.cache = &cache;
  in.slots = slots_t;
  in.slots_are_prefix = prefix;
  in.key_len = key_len;
  auto out = RunLayers(input_ids, in, hidden_layers);
  cache.Advance(slots, counts);
  return out;
}

// ---------------------------------------------------------------------------------------
PolicyImpl::PolicyImpl(const ModelConfig& config) {
  model = register_module("model", Transformer(config));
  if (!config.tie_word_embeddings) {
    lm_head = register_module(
        "lm_head", torch::nn::Linear(torch::nn::LinearOptions(config.hidden_size, config.vocab_size).bias(false)));
  }
}

torch::Tensor PolicyImpl::OutputWeight() { return lm_head ? lm_head->weight : model->embed_tokens->weight; }

torch::Tensor PolicyImpl::Logits(const torch::Tensor& hidden) {
  auto logits = torch::linear(hidden, OutputWeight());
  return logits.scalar_type() == torch::kFloat32 ? logits : logits.to(torch::kFloat32);
}

ForwardOutput PolicyImpl::Finish(ForwardOutput out, const torch::Tensor& attention_mask, LogitsMode mode) {
  if (mode == LogitsMode::kAll) {
    out.logits = Logits(out.last_hidden);
  } else if (mode == LogitsMode::kLast) {
    const int64_t B = out.last_hidden.size(0), T = out.last_hidden.size(1);
    torch::Tensor last;
    if (!attention_mask.defined()) {
      last = out.last_hidden.select(1, T - 1);
    } else {
      auto dev = out.last_hidden.device();
      auto rank = torch::arange(1, T + 1, torch::TensorOptions().dtype(torch::kInt64).device(dev));
      auto idx = (attention_mask.to(dev).ne(0).to(torch::kInt64) * rank).argmax(1);  // last real token
      auto rows = torch::arange(B, torch::TensorOptions().dtype(torch::kInt64).device(dev));
      last = out.last_hidden.index({rows, idx});
    }
    out.logits = Logits(last);
  }
  return out;
}

ForwardOutput PolicyImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                  const ForwardOptions& options) {
  return Finish(model->forward(input_ids, attention_mask, options.hidden_layers), attention_mask, options.logits);
}

ForwardOutput PolicyImpl::ForwardIncremental(const torch::Tensor& input_ids, const torch::Tensor& attention_mask,
                                             const std::vector<int64_t>& slots, KvCache& cache,
                                             const ForwardOptions& options) {
  torch::NoGradGuard no_grad;
  return Finish(model->ForwardIncremental(input_ids, attention_mask, slots, cache, options.hidden_layers),
                attention_mask, options.logits);
}

// ---------------------------------------------------------------------------------------
CriticImpl::CriticImpl(const ModelConfig& config) {
  model = register_module("model", Transformer(config));
  value_head = register_module("value_head", torch::nn::Linear(config.hidden_size, 1));
}

torch::Tensor CriticImpl::forward(const torch::Tensor& input_ids, const torch::Tensor& attention_mask) {
  auto h = model->forward(input_ids, attention_mask).last_hidden;
  return value_head(h).squeeze(-1).to(torch::kFloat32);
}

// ---------------------------------------------------------------------------------------
void InitializeWeights(torch::nn::Module& module, double initializer_range, uint64_t seed) {
  torch::NoGradGuard no_grad;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(seed);
  auto ends_with = [](const std::string& s, const std::string& suffix) {
    return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    torch::Tensor& p = item.value();
    if (ends_with(item.key(), "norm.weight")) {
      p.fill_(1.0);
    } else if (ends_with(item.key(), ".bias")) {
      p.zero_();
    } else {
      auto t = torch::empty(p.sizes(), torch::kFloat32);
      t.normal_(0.0, initializer_range, gen);
      p.copy_(t);
    }
  }
}

int64_t CountParameters(const torch::nn::Module& module) {
  std::set<const void*> seen;
  int64_t total = 0;
  for (const auto& p : module.parameters(/*recurse=*/true)) {
    if (seen.insert(p.unsafeGetTensorImpl()).second) total += p.numel();
  }
  return total;
}

}  // namespace scorch::model
