// ModelConfig: the architecture of a decoder-only transformer, read from and written to a
// Hugging Face `config.json` (Llama / Qwen2 family).
//
// Supported: `architectures` containing LlamaForCausalLM, Qwen2ForCausalLM or
// MistralForCausalLM (without sliding window), or `model_type` llama / qwen2 / mistral. Any
// other architecture is rejected with Unimplemented so a checkpoint is never silently
// misread. Fields follow the HF names; missing optional fields take HF's defaults (noted
// per field). Qwen2 has q/k/v biases by default; Llama has none unless `attention_bias`.
//
// Thread-safety: a plain value. Errors: ParseModelConfig returns InvalidArgument naming the
// field for a missing or ill-typed required field or an out-of-range value, Unimplemented
// for an unsupported architecture, activation or rope_scaling type.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "scorch/common/status.h"

namespace scorch::model {

// `rope_scaling` from config.json. Type "linear" divides positions by `factor`; "llama3"
// rescales low frequencies as Llama 3.1 does; "default"/absent means no scaling.
struct RopeScaling {
  std::string type = "default";                  // "default" | "linear" | "llama3"
  double factor = 1.0;                           // position divisor (linear), freq divisor (llama3)
  double low_freq_factor = 1.0;                  // llama3 only
  double high_freq_factor = 4.0;                 // llama3 only
  int64_t original_max_position_embeddings = 8192;  // llama3 only, tokens
};

struct ModelConfig {
  std::string architecture = "Qwen2ForCausalLM";  // first entry of `architectures`
  std::string model_type = "qwen2";               // "llama" | "qwen2" | "mistral"
  int64_t vocab_size = 0;                         // rows of embed_tokens / lm_head
  int64_t hidden_size = 0;                        // d, the residual width
  int64_t intermediate_size = 0;                  // SwiGLU inner width
  int64_t num_hidden_layers = 0;                  // L, number of decoder blocks
  int64_t num_attention_heads = 0;                // query heads
  int64_t num_key_value_heads = 0;                // KV heads (GQA); default = query heads
  int64_t head_dim = 0;                           // default hidden_size / num_attention_heads
  int64_t max_position_embeddings = 2048;         // tokens; informational (no hard limit)
  double rms_norm_eps = 1e-6;                     // RMSNorm epsilon
  double initializer_range = 0.02;                // std of the normal init (`model init`)
  double rope_theta = 10000.0;                    // rotary base
  RopeScaling rope_scaling;                       // optional rotary scaling
  bool attention_bias = false;                    // q/k/v projections carry a bias (Qwen2: true)
  bool tie_word_embeddings = false;               // lm_head shares embed_tokens.weight
  std::string hidden_act = "silu";                // only "silu" is supported
  std::string torch_dtype = "float32";            // dtype the weights were saved in
  std::optional<int64_t> bos_token_id;            // for generation_config.json
  std::optional<int64_t> eos_token_id;            // for generation_config.json

  // Checks ranges and divisibility (heads divide hidden, query heads a multiple of KV heads).
  [[nodiscard]] Status Validate() const;

  // Number of parameters of the causal LM (tied embeddings counted once), computed from
  // the shapes; `with_lm_head=false` leaves out an untied lm_head.
  int64_t ParameterCount(bool with_lm_head = true) const;

  // The config.json object (HF field names), with `architectures` as a one-element list.
  nlohmann::json ToJson() const;
};

// Parses a config.json object. Unknown fields are ignored.
StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& j);

// Reads and parses `path` (a config.json file). NotFound / IoError / InvalidArgument.
StatusOr<ModelConfig> LoadModelConfig(const std::string& path);

}  // namespace scorch::model
