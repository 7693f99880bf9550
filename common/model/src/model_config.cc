// Parsing and validation of Hugging Face config.json files (see model_config.h).
#include "scorch/model/model_config.h"

#include <cmath>
#include <fstream>
#include <sstream>
#include <string>

namespace scorch::model {
namespace {

using nlohmann::json;

// Reads an integer field. `required` fields must be present; absent optional fields keep
// `*out` unchanged. JSON null counts as absent.
Status GetInt(const json& j, const char* key, bool required, int64_t* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) {
    if (required) return Status::InvalidArgument(std::string("config.json: missing field '") + key + "'");
    return Status::Ok();
  }
  if (it->is_number_integer() || it->is_number_unsigned()) {
    *out = it->get<int64_t>();
    return Status::Ok();
  }
  if (it->is_number_float()) {
    double v = it->get<double>();
    if (std::floor(v) == v && std::fabs(v) < 9.0e15) {
      *out = static_cast<int64_t>(v);
      return Status::Ok();
    }
  }
  return Status::InvalidArgument(std::string("config.json: field '") + key + "' must be an integer");
}

Status GetDouble(const json& j, const char* key, double* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_number()) {
    return Status::InvalidArgument(std::string("config.json: field '") + key + "' must be a number");
  }
  *out = it->get<double>();
  if (!std::isfinite(*out)) {
    return Status::InvalidArgument(std::string("config.json: field '") + key + "' must be finite");
  }
  return Status::Ok();
}

Status GetBool(const json& j, const char* key, bool* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_boolean()) {
    return Status::InvalidArgument(std::string("config.json: field '") + key + "' must be a boolean");
  }
  *out = it->get<bool>();
  return Status::Ok();
}

Status GetString(const json& j, const char* key, std::string* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_string()) {
    return Status::InvalidArgument(std::string("config.json: field '") + key + "' must be a string");
  }
  *out = it->get<std::string>();
  return Status::Ok();
}

// eos_token_id may be an integer or a list of integers (Llama 3); the first is kept.
Status GetTokenId(const json& j, const char* key, std::optional<int64_t>* out) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return Status::Ok();
  const json* v = &*it;
  if (v->is_array()) {
    if (v->empty()) return Status::Ok();
    v = &(*v)[0];
  }
  if (!v->is_number_integer() && !v->is_number_unsigned()) {
    return Status::InvalidArgument(std::string("config.json: field '") + key + "' must be an integer");
  }
  *out = v->get<int64_t>();
  return Status::Ok();
}

std::string ModelTypeForArchitecture(const std::string& arch) {
  if (arch == "LlamaForCausalLM") return "llama";
  if (arch == "Qwen2ForCausalLM") return "qwen2";
  if (arch == "MistralForCausalLM") return "mistral";
  return "";
}

std::string ArchitectureForModelType(const std::string& type) {
  if (type == "llama") return "LlamaForCausalLM";
  if (type == "qwen2") return "Qwen2ForCausalLM";
  if (type == "mistral") return "MistralForCausalLM";
  return "";
}

Status ParseRopeScaling(const json& j, RopeScaling* rs) {
  auto it = j.find("rope_scaling");
  if (it == j.end() || it->is_null()) return Status::Ok();
  if (!it->is_object()) return Status::InvalidArgument("config.json: 'rope_scaling' must be an object or null");
  const json& r = *it;
  std::string type;
  SCORCH_RETURN_IF_ERROR(GetString(r, "rope_type", &type));
  if (type.empty()) SCORCH_RETURN_IF_ERROR(GetString(r, "type", &type));
  if (type.empty()) type = "default";
  if (type != "default" && type != "linear" && type != "llama3") {
    return Status::Unimplemented("config.json: rope_scaling type '" + type +
                                 "' is not supported (supported: default, linear, llama3)");
  }
  rs->type = type;
  SCORCH_RETURN_IF_ERROR(GetDouble(r, "factor", &rs->factor).WithContext("rope_scaling"));
  SCORCH_RETURN_IF_ERROR(GetDouble(r, "low_freq_factor", &rs->low_freq_factor).WithContext("rope_scaling"));
  SCORCH_RETURN_IF_ERROR(GetDouble(r, "high_freq_factor", &rs->high_freq_factor).WithContext("rope_scaling"));
  SCORCH_RETURN_IF_ERROR(GetInt(r, "original_max_position_embeddings", false,
                                &rs->original_max_position_embeddings).WithContext("rope_scaling"));
  return Status::Ok();
}

}  // namespace

Status ModelConfig::Validate() const {
  auto positive = [](int64_t v, const char* name) -> Status {
    if (v <= 0) return Status::InvalidArgument(std::string("config.json: '") + name + "' must be > 0, got " + std::to_string(v));
    return Status::Ok();
  };
  SCORCH_RETURN_IF_ERROR(positive(vocab_size, "vocab_size"));
  SCORCH_RETURN_IF_ERROR(positive(hidden_size, "hidden_size"));
  SCORCH_RETURN_IF_ERROR(positive(intermediate_size, "intermediate_size"));
  SCORCH_RETURN_IF_ERROR(positive(num_hidden_layers, "num_hidden_layers"));
  SCORCH_RETURN_IF_ERROR(positive(num_attention_heads, "num_attention_heads"));
  SCORCH_RETURN_IF_ERROR(positive(num_key_value_heads, "num_key_value_heads"));
  SCORCH_RETURN_IF_ERROR(positive(head_dim, "head_dim"));
  constexpr int64_t kMaxDim = int64_t{1} << 24;
  if (vocab_size > kMaxDim * 4 || hidden_size > kMaxDim || intermediate_size > kMaxDim ||
      num_hidden_layers > 4096 || num_attention_heads > 4096 || head_dim > 65536) {
    return Status::InvalidArgument("config.json: a dimension is implausibly large");
  }
  if (num_attention_heads % num_key_value_heads != 0) {
    return Status::InvalidArgument("config.json: num_attention_heads (" + std::to_string(num_attention_heads) +
                                   ") must be a multiple of num_key_value_heads (" +
                                   std::to_string(num_key_value_heads) + ")");
  }
  if (head_dim % 2 != 0) {
    return Status::InvalidArgument("config.json: head_dim must be even for rotary embeddings, got " +
                                   std::to_string(head_dim));
  }
  if (!(rms_norm_eps > 0)) return Status::InvalidArgument("config.json: 'rms_norm_eps' must be > 0");
  if (!(initializer_range >= 0)) return Status::InvalidArgument("config.json: 'initializer_range' must be >= 0");
  if (!(rope_theta > 0)) return Status::InvalidArgument("config.json: 'rope_theta' must be > 0");
  if (!(rope_scaling.factor > 0)) return Status::InvalidArgument("config.json: rope_scaling.factor must be > 0");
  if (rope_scaling.type == "llama3") {
    if (!(rope_scaling.high_freq_factor > rope_scaling.low_freq_factor) || !(rope_scaling.low_freq_factor > 0) ||
        rope_scaling.original_max_position_embeddings <= 0) {
      return Status::InvalidArgument(
          "config.json: llama3 rope_scaling needs high_freq_factor > low_freq_factor > 0 and "
          "original_max_position_embeddings > 0");
    }
  }
  if (hidden_act != "silu") {
    return Status::Unimplemented("config.json: hidden_act '" + hidden_act + "' is not supported (only silu)");
  }
  if (ArchitectureForModelType(model_type).empty()) {
    return Status::Unimplemented("config.json: model_type '" + model_type + "' is not supported");
  }
  return Status::Ok();
}

int64_t ModelConfig::ParameterCount(bool with_lm_head) const {
  const int64_t d = hidden_size;
  const int64_t q = num_attention_heads * head_dim;
  const int64_t kv = num_key_value_heads * head_dim;
  int64_t attn = d * q + 2 * d * kv + q * d + (attention_bias ? q + 2 * kv : 0);
  int64_t mlp = 3 * d * intermediate_size;
  int64_t block = attn + mlp + 2 * d;
  int64_t total = vocab_size * d + num_hidden_layers * block + d;
  if (with_lm_head && !tie_word_embeddings) total += vocab_size * d;
  return total;
}

nlohmann::json ModelConfig::ToJson() const {
  json j;
  j["architectures"] = json::array({architecture});
  j["model_type"] = model_type;
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["head_dim"] = head_dim;
  j["max_position_embeddings"] = max_position_embeddings;
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  j["initializer_range"] = initializer_range;
  if (rope_scaling.type == "default") {
    j["rope_scaling"] = nullptr;
  } else {
    json r;
    r["rope_type"] = rope_scaling.type;
    r["type"] = rope_scaling.type;
    r["factor"] = rope_scaling.factor;
    if (rope_scaling.type == "llama3") {
      r["low_freq_factor"] = rope_scaling.low_freq_factor;
      r["high_freq_factor"] = rope_scaling.high_freq_factor;
      r["original_max_position_embeddings"] = rope_scaling.original_max_position_embeddings;
    }
    j["rope_scaling"] = r;
  }
  j["attention_bias"] = attention_bias;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["hidden_act"] = hidden_act;
  j["torch_dtype"] = torch_dtype;
  if (bos_token_id) j["bos_token_id"] = *bos_token_id;
  if (eos_token_id) j["eos_token_id"] = *eos_token_id;
  if (model_type == "qwen2" || model_type == "mistral") j["use_sliding_window"] = false;
  return j;
}

StatusOr<ModelConfig> ParseModelConfig(const nlohmann::json& j) {
  if (!j.is_object()) return Status::InvalidArgument("config.json: top level must be a JSON object");
  ModelConfig c;
  c.architecture.clear();
  c.model_type.clear();
  auto arch_it = j.find("architectures");
  if (arch_it != j.end() && !arch_it->is_null()) {
    if (!arch_it->is_array()) return Status::InvalidArgument("config.json: 'architectures' must be a list of strings");
    for (const auto& a : *arch_it) {
      if (!a.is_string()) return Status::InvalidArgument("config.json: 'architectures' must be a list of strings");
      std::string name = a.get<std::string>();
      if (!ModelTypeForArchitecture(name).empty()) {
        c.architecture = name;
        break;
      }
    }
    if (c.architecture.empty()) {
      std::string names = arch_it->dump();
      return Status::Unimplemented("config.json: architectures " + names +
                                   " not supported (supported: LlamaForCausalLM, Qwen2ForCausalLM, "
                                   "MistralForCausalLM)");
    }
  }
  SCORCH_RETURN_IF_ERROR(GetString(j, "model_type", &c.model_type));
  if (c.model_type.empty() && c.architecture.empty()) {
    return Status::InvalidArgument("config.json: needs 'architectures' or 'model_type'");
  }
  if (c.model_type.empty()) c.model_type = ModelTypeForArchitecture(c.architecture);
  if (ArchitectureForModelType(c.model_type).empty()) {
    return Status::Unimplemented("config.json: model_type '" + c.model_type +
                                 "' not supported (supported: llama, qwen2, mistral)");
  }
  if (c.architecture.empty()) c.architecture = ArchitectureForModelType(c.model_type);
  if (ModelTypeForArchitecture(c.architecture) != c.model_type) {
    return Status::InvalidArgument("config.json: architecture " + c.architecture + " does not match model_type " +
                                   c.model_type);
  }

  SCORCH_RETURN_IF_ERROR(GetInt(j, "vocab_size", true, &c.vocab_size));
  SCORCH_RETURN_IF_ERROR(GetInt(j, "hidden_size", true, &c.hidden_size));
  SCORCH_RETURN_IF_ERROR(GetInt(j, "intermediate_size", true, &c.intermediate_size));
  SCORCH_RETURN_IF_ERROR(GetInt(j, "num_hidden_layers", true, &c.num_hidden_layers));
  SCORCH_RETURN_IF_ERROR(GetInt(j, "num_attention_heads", true, &c.num_attention_heads));
  c.num_key_value_heads = c.num_attention_heads;
  SCORCH_RETURN_IF_ERROR(GetInt(j, "num_key_value_heads", false, &c.num_key_value_heads));
  if (c.num_attention_heads > 0 && c.hidden_size > 0) c.head_dim = c.hidden_size / c.num_attention_heads;
  SCORCH_RETURN_IF_ERROR(GetInt(j, "head_dim", false, &c.head_dim));
  SCORCH_RETURN_IF_ERROR(GetInt(j, "max_position_embeddings", false, &c.max_position_embeddings));
  SCORCH_RETURN_IF_ERROR(GetDouble(j, "rms_norm_eps", &c.rms_norm_eps));
  SCORCH_RETURN_IF_ERROR(GetDouble(j, "rope_theta", &c.rope_theta));
  SCORCH_RETURN_IF_ERROR(GetDouble(j, "initializer_range", &c.initializer_range));
  SCORCH_RETURN_IF_ERROR(ParseRopeScaling(j, &c.rope_scaling));
  c.attention_bias = c.model_type == "qwen2";
  SCORCH_RETURN_IF_ERROR(GetBool(j, "attention_bias", &c.attention_bias));
  SCORCH_RETURN_IF_ERROR(GetBool(j, "tie_word_embeddings", &c.tie_word_embeddings));
  SCORCH_RETURN_IF_ERROR(GetString(j, "hidden_act", &c.hidden_act));
  SCORCH_RETURN_IF_ERROR(GetString(j, "torch_dtype", &c.torch_dtype));
  SCORCH_RETURN_IF_ERROR(GetTokenId(j, "bos_token_id", &c.bos_token_id));
  SCORCH_RETURN_IF_ERROR(GetTokenId(j, "eos_token_id", &c.eos_token_id));
  bool sliding = false;
  SCORCH_RETURN_IF_ERROR(GetBool(j, "use_sliding_window", &sliding));
  if (sliding) return Status::Unimplemented("config.json: use_sliding_window=true is not supported");
  if (c.model_type == "mistral") {
    auto sw = j.find("sliding_window");
    if (sw != j.end() && !sw->is_null()) {
      return Status::Unimplemented("config.json: Mistral sliding_window attention is not supported");
    }
  }
  SCORCH_RETURN_IF_ERROR(c.Validate());
  return c;
}

StatusOr<ModelConfig> LoadModelConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::NotFound("cannot open model config " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IoError("error reading " + path);
  json j = json::parse(ss.str(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return Status::InvalidArgument(path + ": not valid JSON");
  auto c = ParseModelConfig(j);
  if (!c.ok()) return c.status().WithContext(path);
  return c;
}

}  // namespace scorch::model
