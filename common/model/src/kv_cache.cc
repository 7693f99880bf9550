// KvCache storage and slot bookkeeping (see kv_cache.h).
#include "scorch/model/kv_cache.h"

#include <string>

namespace scorch::model {

KvCache::KvCache(const ModelConfig& config, const KvCacheOptions& options) : options_(options) {
  TORCH_CHECK(options.num_slots > 0, "KvCache: num_slots must be > 0, got ", options.num_slots);
  TORCH_CHECK(options.max_seq_len > 0, "KvCache: max_seq_len must be > 0, got ", options.max_seq_len);
  auto topts = torch::TensorOptions().dtype(options.dtype).device(options.device);
  for (int64_t l = 0; l < config.num_hidden_layers; ++l) {
    // Zero-filled so that never-written positions read as finite values (they are masked out,
    // but 0 * NaN would still poison a softmax-weighted sum).
    keys_.push_back(torch::zeros({options.num_slots, config.num_key_value_heads, options.max_seq_len,
                                  config.head_dim}, topts));
    values_.push_back(torch::zeros_like(keys_.back()));
  }
  lengths_.assign(static_cast<size_t>(options.num_slots), 0);
}

void KvCache::CheckSlot(int64_t slot) const {
  TORCH_CHECK(slot >= 0 && slot < options_.num_slots, "KvCache: slot ", slot, " out of range [0, ",
              options_.num_slots, ")");
}

int64_t KvCache::length(int64_t slot) const {
  CheckSlot(slot);
  return lengths_[static_cast<size_t>(slot)];
}

void KvCache::ResetSlot(int64_t slot) {
  CheckSlot(slot);
  lengths_[static_cast<size_t>(slot)] = 0;
}

void KvCache::ResetAll() { lengths_.assign(lengths_.size(), 0); }

void KvCache::Truncate(int64_t slot, int64_t new_length) {
  CheckSlot(slot);
  TORCH_CHECK(new_length >= 0 && new_length <= lengths_[static_cast<size_t>(slot)], "KvCache: cannot truncate slot ",
              slot, " of length ", lengths_[static_cast<size_t>(slot)], " to ", new_length);
  lengths_[static_cast<size_t>(slot)] = new_length;
}

int64_t KvCache::Bytes() const {
  int64_t total = 0;
  for (size_t i = 0; i < keys_.size(); ++i) {
    total += keys_[i].numel() * keys_[i].element_size() + values_[i].numel() * values_[i].element_size();
  }
  return total;
}

void KvCache::Advance(const std::vector<int64_t>& slots, const std::vector<int64_t>& counts) {
  TORCH_CHECK(slots.size() == counts.size(), "KvCache::Advance: slots and counts differ in size");
  for (size_t i = 0; i < slots.size(); ++i) {
    CheckSlot(slots[i]);
    int64_t& len = lengths_[static_cast<size_t>(slots[i])];
    TORCH_CHECK(counts[i] >= 0 && len + counts[i] <= options_.max_seq_len, "KvCache: slot ", slots[i],
                " cannot take ", counts[i], " more tokens (length ", len, ", max_seq_len ", options_.max_seq_len,
                ")");
    len += counts[i];
  }
}

}  // namespace scorch::model
