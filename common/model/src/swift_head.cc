// The SWIFT reward head: feature extraction from policy outputs, the gated-average head,
// and its on-disk format (see swift_head.h).
#include "scorch/model/swift_head.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <system_error>
#include <utility>

#include "scorch/common/atomic_file.h"
#include "scorch/model/safetensors.h"

namespace scorch::model {
namespace {

using nlohmann::json;

constexpr const char* kFormat = "scorch.swift_head";
constexpr int64_t kVersion = 1;
constexpr double kGateFloor = 1e-8;  // max(Σ m g, ·) in the gated average

bool IsLogits(const SwiftHeadConfig& c) { return c.features == "logits"; }

std::string Str(int64_t v) { return std::to_string(v); }

}  // namespace

// ---------------------------------------------------------------------------------------
Status SwiftHeadConfig::Validate(const ModelConfig& model) const {
  const int64_t L = model.num_hidden_layers;
  if (features != "hidden" && features != "logits") {
    return Status::InvalidArgument("swift_head.features: unknown value '" + features +
                                   "' (expected \"hidden\" or \"logits\")");
  }
  if (IsLogits(*this)) {
    if (last_k_layers != 0) {
      return Status::InvalidArgument("swift_head.last_k_layers: must be 0 when features = \"logits\" (got " +
                                     Str(last_k_layers) + ")");
    }
    if (apply_norm) {
      return Status::InvalidArgument("swift_head.apply_norm: only meaningful with features = \"hidden\"");
    }
    if (model.vocab_size <= 0) {
      return Status::InvalidArgument("swift_head.features: the model's vocab_size must be positive");
    }
    return Status::Ok();
  }
  if (last_k_layers < 0 || last_k_layers > L + 1) {
    return Status::InvalidArgument("swift_head.last_k_layers: " + Str(last_k_layers) + " outside [0, " +
                                   Str(L + 1) + "] (the model has L+1 = " + Str(L + 1) + " hidden states)");
  }
  if (model.hidden_size <= 0) {
    return Status::InvalidArgument("swift_head.features: the model's hidden_size must be positive");
  }
  return Status::Ok();
}

json SwiftHeadConfig::ToJson() const {
  return json{{"features", features}, {"last_k_layers", last_k_layers}, {"apply_norm", apply_norm}, {"gate", gate}};
}

StatusOr<SwiftHeadConfig> SwiftHeadConfig::FromJson(const json& j) {
  if (!j.is_object()) return Status::InvalidArgument("swift_head config: expected a JSON object");
  SwiftHeadConfig c;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string& key = it.key();
    const json& v = it.value();
    if (key == "features") {
      if (!v.is_string()) return Status::InvalidArgument("swift_head.features: must be a string");
      c.features = v.get<std::string>();
    } else if (key == "last_k_layers") {
      if (!v.is_number_integer()) return Status::InvalidArgument("swift_head.last_k_layers: must be an integer");
      c.last_k_layers = v.get<int64_t>();
    } else if (key == "apply_norm") {
      if (!v.is_boolean()) return Status::InvalidArgument("swift_head.apply_norm: must be a boolean");
      c.apply_norm = v.get<bool>();
    } else if (key == "gate") {
      if (!v.is_boolean()) return Status::InvalidArgument("swift_head.gate: must be a boolean");
      c.gate = v.get<bool>();
    } else {
      return Status::InvalidArgument("swift_head: unknown key '" + key + "'");
    }
  }
  return c;
}

std::vector<int64_t> SwiftLayers(const SwiftHeadConfig& config, int64_t num_hidden_layers) {
  std::vector<int64_t> layers;
  if (IsLogits(config)) return layers;
  const int64_t L = num_hidden_layers;
  const int64_t first = config.last_k_layers <= 0 ? 0 : std::max<int64_t>(0, L - config.last_k_layers + 1);
  for (int64_t i = first; i <= L; ++i) layers.push_back(i);
  return layers;
}

int64_t SwiftInputDim(const SwiftHeadConfig& config, const ModelConfig& model) {
  if (IsLogits(config)) return model.vocab_size;
  return static_cast<int64_t>(SwiftLayers(config, model.num_hidden_layers).size()) * model.hidden_size;
}

ForwardOptions SwiftForwardOptions(const SwiftHeadConfig& config, const ModelConfig& model) {
  ForwardOptions o;
  if (IsLogits(config)) {
    o.logits = LogitsMode::kAll;
  } else {
    o.logits = LogitsMode::kNone;
    o.hidden_layers = SwiftLayers(config, model.num_hidden_layers);
  }
  return o;
}

torch::Tensor SwiftFeaturesFrom(Policy& policy, const SwiftHeadConfig& config, const ForwardOutput& out) {
  torch::NoGradGuard no_grad;
  if (IsLogits(config)) {
    TORCH_CHECK(out.logits.defined() && out.logits.dim() == 3,
                "SwiftFeaturesFrom: logits mode needs (B,T,V) logits (LogitsMode::kAll)");
    return out.logits.detach().to(torch::kFloat32).contiguous();
  }
  const int64_t L = policy->config().num_hidden_layers;
  const auto layers = SwiftLayers(config, L);
  TORCH_CHECK(out.hidden_states.size() == layers.size(), "SwiftFeaturesFrom: expected ", layers.size(),
              " hidden states (SwiftForwardOptions), got ", out.hidden_states.size());
  std::vector<torch::Tensor> parts;
  parts.reserve(layers.size());
  for (size_t j = 0; j < layers.size(); ++j) {
    torch::Tensor h = out.hidden_states[j];
    TORCH_CHECK(h.defined() && h.dim() == 3, "SwiftFeaturesFrom: hidden state for layer ", layers[j],
                " missing or not (B,T,d)");
    if (config.apply_norm && layers[j] != L) h = policy->model->norm(h);
    parts.push_back(h.to(torch::kFloat32));
  }
  return torch::cat(parts, -1).contiguous();
}

torch::Tensor SwiftFeatures(Policy& policy, const SwiftHeadConfig& config, const torch::Tensor& input_ids,
                            const torch::Tensor& attention_mask) {
  torch::NoGradGuard no_grad;
  auto out = policy->forward(input_ids, attention_mask, SwiftForwardOptions(config, policy->config()));
  return SwiftFeaturesFrom(policy, config, out);
}

// ---------------------------------------------------------------------------------------
SwiftHeadImpl::SwiftHeadImpl(int64_t input_dim, bool gate) : input_dim_(input_dim), gate_(gate) {
  TORCH_CHECK(input_dim > 0, "SwiftHead: input_dim must be positive, got ", input_dim);
  linear = register_module("linear", torch::nn::Linear(torch::nn::LinearOptions(input_dim, 2).bias(true)));
  torch::NoGradGuard no_grad;
  linear->weight.zero_();
  linear->bias.zero_();
}

torch::Tensor SwiftHeadImpl::TokenTerms(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() >= 1 && features.size(-1) == input_dim_, "SwiftHead: features last dim ",
              features.dim() >= 1 ? features.size(-1) : 0, " != input_dim ", input_dim_);
  return linear(features.to(linear->weight.scalar_type()));
}

SwiftScores SwiftHeadImpl::forward(const torch::Tensor& features, const torch::Tensor& mask) {
  TORCH_CHECK(features.dim() == 3, "SwiftHead: features must be (B,T,D), got ", features.dim(), " dims");
  TORCH_CHECK(mask.dim() == 2 && mask.size(0) == features.size(0) && mask.size(1) == features.size(1),
              "SwiftHead: mask must be (B,T) matching the features");
  const auto dev = linear->weight.device();
  auto keep = mask.to(dev).ne(0);  // (B,T) bool
  auto m = keep.to(torch::kFloat32);
  // Zero the features at masked positions before the matmul so that garbage there (even
  // NaN) reaches neither the outputs nor the weight gradient.
  auto x = torch::where(keep.unsqueeze(-1), features.to(dev).to(linear->weight.scalar_type()),
                        torch::zeros({}, linear->weight.options()));
  auto terms = linear(x).to(torch::kFloat32);  // (B,T,2)
  auto zero = torch::zeros({}, m.options());
  auto r = torch::where(keep, terms.select(-1, 1), zero);
  SwiftScores s;
  s.token_reward = r;
  if (gate_) {
    auto g = torch::where(keep, torch::sigmoid(terms.select(-1, 0)), zero);
    s.gate = g;
    s.score = (g * r).sum(1) / g.sum(1).clamp_min(kGateFloor);
  } else {
    s.gate = m;
    s.score = r.sum(1) / m.sum(1).clamp_min(1.0);
  }
  return s;
}

double SwiftHeadImpl::CombineTokenTerms(const std::vector<std::array<float, 2>>& terms, bool gate) {
  double num = 0.0, den = 0.0;
  for (const auto& t : terms) {
    const double w = gate ? 1.0 / (1.0 + std::exp(-static_cast<double>(t[0]))) : 1.0;
    num += w * static_cast<double>(t[1]);
    den += w;
  }
  return num / std::max(den, gate ? kGateFloor : 1.0);
}

// ---------------------------------------------------------------------------------------
Status SaveSwiftHead(SwiftHead& head, const SwiftHeadConfig& config, const std::filesystem::path& dir) {
  if (config.gate != head->gate()) {
    return Status::InvalidArgument(std::string("SaveSwiftHead: swift_head.gate is ") + (config.gate ? "true" : "false") +
                                   " but the head was built with gate = " + (head->gate() ? "true" : "false"));
  }
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("SaveSwiftHead: cannot create " + dir.string() + ": " + ec.message());
  torch::Tensor w, b;
  {
    torch::NoGradGuard no_grad;
    w = head->linear->weight.detach().to(torch::kCPU, torch::kFloat32).contiguous();
    b = head->linear->bias.detach().to(torch::kCPU, torch::kFloat32).contiguous();
  }
  SCORCH_RETURN_IF_ERROR(WriteSafetensors((dir / kSwiftHeadWeightsFile).string(),
                                          {{"linear.weight", w}, {"linear.bias", b}},
                                          {{"format", kFormat}}));
  json j = {{"format", kFormat}, {"version", kVersion}, {"config", config.ToJson()}, {"input_dim", head->input_dim()}};
  return AtomicWriteFile(dir / kSwiftHeadConfigFile, j.dump(2) + "\n");
}

StatusOr<SwiftHead> LoadSwiftHead(const std::filesystem::path& dir, const ModelConfig& model,
                                  SwiftHeadConfig* config_out) {
  const auto json_path = dir / kSwiftHeadConfigFile;
  SCORCH_ASSIGN_OR_RETURN(std::string text, ReadFileToString(json_path));
  json j = json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object()) return Status::DataLoss(json_path.string() + ": not a JSON object");
  auto fmt = j.find("format");
  if (fmt == j.end() || !fmt->is_string() || fmt->get<std::string>() != kFormat) {
    return Status::InvalidArgument(json_path.string() + ": 'format' is not \"" + kFormat + "\"");
  }
  auto ver = j.find("version");
  if (ver == j.end() || !ver->is_number_integer() || ver->get<int64_t>() != kVersion) {
    return Status::InvalidArgument(json_path.string() + ": unsupported 'version' (expected " + Str(kVersion) + ")");
  }
  auto cfg_it = j.find("config");
  if (cfg_it == j.end()) return Status::InvalidArgument(json_path.string() + ": missing 'config'");
  auto cfg_or = SwiftHeadConfig::FromJson(*cfg_it);
  if (!cfg_or.ok()) return cfg_or.status().WithContext(json_path.string());
  const SwiftHeadConfig cfg = *cfg_or;
  auto dim_it = j.find("input_dim");
  if (dim_it == j.end() || !dim_it->is_number_integer() || dim_it->get<int64_t>() <= 0) {
    return Status::InvalidArgument(json_path.string() + ": 'input_dim' must be a positive integer");
  }
  const int64_t stored_dim = dim_it->get<int64_t>();

  Status valid = cfg.Validate(model);
  if (!valid.ok()) {
    return Status::FailedPrecondition("swift head in " + dir.string() + " does not fit the model: " + valid.message());
  }
  const int64_t want_dim = SwiftInputDim(cfg, model);
  if (stored_dim != want_dim) {
    std::string how = cfg.features == "logits"
                          ? "vocab_size " + Str(model.vocab_size)
                          : Str(want_dim / model.hidden_size) + " layers x hidden_size " + Str(model.hidden_size);
    return Status::FailedPrecondition("swift head in " + dir.string() + " has input_dim " + Str(stored_dim) +
                                      " but the model gives input_dim " + Str(want_dim) + " (= " + how + ")");
  }

  SCORCH_ASSIGN_OR_RETURN(auto file, SafetensorsFile::Open((dir / kSwiftHeadWeightsFile).string()));
  SCORCH_ASSIGN_OR_RETURN(torch::Tensor w, file->Load("linear.weight"));
  SCORCH_ASSIGN_OR_RETURN(torch::Tensor b, file->Load("linear.bias"));
  if (w.dim() != 2 || w.size(0) != 2 || w.size(1) != stored_dim || b.dim() != 1 || b.size(0) != 2) {
    return Status::DataLoss(file->path() + ": linear.weight/bias shapes do not match input_dim " + Str(stored_dim) +
                            " in " + json_path.string());
  }
  if (!w.is_floating_point() || !b.is_floating_point()) {
    return Status::DataLoss(file->path() + ": linear.weight/bias must be floating point");
  }
  SwiftHead head(stored_dim, cfg.gate);
  {
    torch::NoGradGuard no_grad;
    head->linear->weight.copy_(w.to(torch::kFloat32));
    head->linear->bias.copy_(b.to(torch::kFloat32));
  }
  if (config_out != nullptr) *config_out = cfg;
  return head;
}

}  // namespace scorch::model
