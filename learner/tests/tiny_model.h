// The tiny Qwen2-shaped model the Trainer tests train (23-token vocabulary, 2 layers,
// 64 positions): small enough that a dozen optimizer steps take milliseconds.
#pragma once

#include "scorch/model/model_config.h"

namespace scorch::learner::testing {

inline model::ModelConfig TinyTrainerConfig() {
  model::ModelConfig c;
  c.vocab_size = 23;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.max_position_embeddings = 64;
  return c;
}

}  // namespace scorch::learner::testing
