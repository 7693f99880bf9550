// KvCache: per-layer key/value storage for batched incremental decoding with continuous
// batching (llama.cpp's "slots").
//
// The cache has `num_slots` independent slots of `max_seq_len` positions each. A slot holds
// one sequence; its keys are stored densely from position 0 to length(slot)-1, so no padding
// ever enters the cache and each slot's position ids are simply 0, 1, 2, ... A decode step
// (Policy::ForwardIncremental) names, per batch row, the slot it extends and which of its
// input tokens are real (attention_mask); the new tokens are appended at length(slot) and the
// slot's length advances by the number of real tokens. So a batch may mix a prompt prefill in
// one slot with single-token decode steps in others, rows may carry different token counts
// (ragged, left- or right-padded), and a finished sequence is simply left out of the next
// step (or given an all-zero mask row) and its slot reset for the next request.
//
// Layout per layer: keys and values are (num_slots, num_key_value_heads, max_seq_len,
// head_dim) tensors on `device` in `dtype` (contiguous). Memory is allocated once at
// construction: 2 * L * num_slots * Hkv * max_seq_len * head_dim * sizeof(dtype) bytes.
//
// Thread-safety: not thread-safe; one decode loop owns a cache. Errors: misuse (slot out of
// range, capacity exceeded) throws c10::Error through TORCH_CHECK with a message naming the
// slot; callers check Remaining() before appending.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "scorch/model/model_config.h"

namespace scorch::model {

struct KvCacheOptions {
  int64_t num_slots = 1;                        // concurrent sequences
  int64_t max_seq_len = 2048;                   // positions per slot (prompt + generation)
  torch::Dtype dtype = torch::kFloat32;         // should match the model's parameter dtype
  torch::Device device = torch::Device(torch::kCPU);
};

class KvCache {
 public:
  KvCache(const ModelConfig& config, const KvCacheOptions& options);

  int64_t num_slots() const { return options_.num_slots; }
  int64_t max_seq_len() const { return options_.max_seq_len; }
  int64_t num_layers() const { return static_cast<int64_t>(keys_.size()); }
  const KvCacheOptions& options() const { return options_; }

  // Tokens stored in `slot` (= the position id its next token gets).
  int64_t length(int64_t slot) const;
  const std::vector<int64_t>& lengths() const { return lengths_; }
  // Positions still free in `slot`.
  int64_t Remaining(int64_t slot) const { return options_.max_seq_len - length(slot); }

  // Empties a slot (O(1): stale entries are overwritten before they are read again).
  void ResetSlot(int64_t slot);
  void ResetAll();
  // Drops all but the first `new_length` tokens of a slot (e.g. to roll back a draft).
  // REQUIRES: 0 <= new_length <= length(slot).
  void Truncate(int64_t slot, int64_t new_length);

  // Total bytes held by the key and value tensors.
  int64_t Bytes() const;

  // --- Used by the model's incremental forward; not needed by callers. ---
  // (num_slots, Hkv, max_seq_len, head_dim) storage of layer `layer`.
  torch::Tensor& keys(int64_t layer) { return keys_.at(static_cast<size_t>(layer)); }
  torch::Tensor& values(int64_t layer) { return values_.at(static_cast<size_t>(layer)); }
  // Adds counts[i] to the length of slots[i]. REQUIRES: capacity checked by the caller.
  void Advance(const std::vector<int64_t>& slots, const std::vector<int64_t>& counts);

 private:
  void CheckSlot(int64_t slot) const;

  KvCacheOptions options_;
  std::vector<torch::Tensor> keys_;    // one per layer
  std::vector<torch::Tensor> values_;  // one per layer
  std::vector<int64_t> lengths_;       // tokens stored per slot
};

}  // namespace scorch::model
