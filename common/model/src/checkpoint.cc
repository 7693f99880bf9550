// Hugging Face model directories: sharded safetensors, config, tokenizer files (see
// checkpoint.h).
#include "scorch/model/checkpoint.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

namespace scorch::model {
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr const char* kSingleFile = "model.safetensors";
constexpr const char* kIndexFile = "model.safetensors.index.json";
constexpr uint64_t kMaxIndexBytes = 64ull << 20;

std::string ShapeString(c10::IntArrayRef shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

std::string ShapeString(const std::vector<int64_t>& shape) { return ShapeString(c10::IntArrayRef(shape)); }

Status WriteTextFile(const std::string& path, const std::string& content) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) return Status::IoError("cannot create " + tmp);
    out << content;
    out.flush();
    if (!out) return Status::IoError("error writing " + tmp);
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return Status::IoError("cannot rename " + tmp + " to " + path + ": " + ec.message());
  return Status::Ok();
}

StatusOr<std::string> ReadSmallFile(const std::string& path, uint64_t limit) {
  std::error_code ec;
  auto size = fs::file_size(path, ec);
  if (ec) return Status::NotFound("cannot read " + path + ": " + ec.message());
  if (size > limit) return Status::ResourceExhausted(path + " is larger than " + std::to_string(limit) + " bytes");
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::IoError("cannot open " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A shard name from an index file must name a file directly inside the directory.
bool SafeShardName(const std::string& f) {
  return !f.empty() && f.find('/') == std::string::npos && f.find('\\') == std::string::npos && f[0] != '.' &&
         f.size() > 12 && f.compare(f.size() - 12, 12, ".safetensors") == 0;
}

std::string TorchDtypeName(torch::Dtype d) {
  if (d == torch::kFloat16) return "float16";
  if (d == torch::kBFloat16) return "bfloat16";
  return "float32";
}

bool IsFloatDtype(const std::string& st) { return st == "F16" || st == "BF16" || st == "F32" || st == "F64"; }

}  // namespace

const std::vector<std::string>& TokenizerFileNames() {
  static const std::vector<std::string> kNames = {
      "tokenizer.json",  "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
      "vocab.json",      "merges.txt",            "tokenizer.model",         "chat_template.jinja",
      "chat_template.json"};
  return kNames;
}

// ---------------------------------------------------------------------------------------
StatusOr<std::unique_ptr<CheckpointReader>> CheckpointReader::Open(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return Status::NotFound("model directory not found: " + dir);
  std::unique_ptr<CheckpointReader> r(new CheckpointReader());
  r->dir_ = dir;
  const std::string index_path = (fs::path(dir) / kIndexFile).string();
  if (fs::exists(index_path, ec)) {
    SCORCH_ASSIGN_OR_RETURN(std::string text, ReadSmallFile(index_path, kMaxIndexBytes));
    json j = json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(index_path + ": not a JSON object");
    auto wm = j.find("weight_map");
    if (wm == j.end() || !wm->is_object()) return Status::InvalidArgument(index_path + ": missing 'weight_map' object");
    for (auto it = wm->begin(); it != wm->end(); ++it) {
      if (!it->is_string()) return Status::InvalidArgument(index_path + ": weight_map['" + it.key() + "'] is not a string");
      std::string file = it->get<std::string>();
      if (!SafeShardName(file)) {
        return Status::InvalidArgument(index_path + ": shard name '" + file +
                                       "' must be a *.safetensors file inside the directory");
      }
      r->weight_map_[it.key()] = file;
    }
    return r;
  }
  const std::string single = (fs::path(dir) / kSingleFile).string();
  if (!fs::exists(single, ec)) {
    return Status::NotFound("no " + std::string(kSingleFile) + " or " + kIndexFile + " in " + dir);
  }
  SCORCH_ASSIGN_OR_RETURN(SafetensorsFile * f, r->Shard(kSingleFile));
  for (const auto& e : f->header().entries) r->weight_map_[e.name] = kSingleFile;
  return r;
}

std::vector<std::string> CheckpointReader::shard_files() const {
  std::set<std::string> files;
  for (const auto& [name, file] : weight_map_) files.insert(file);
  return {files.begin(), files.end()};
}

StatusOr<SafetensorsFile*> CheckpointReader::Shard(const std::string& file) {
  auto it = shards_.find(file);
  if (it != shards_.end()) return it->second.get();
  SCORCH_ASSIGN_OR_RETURN(auto f, SafetensorsFile::Open((fs::path(dir_) / file).string()));
  SafetensorsFile* raw = f.get();
  shards_[file] = std::move(f);
  return raw;
}

StatusOr<const SafetensorsEntry*> CheckpointReader::Entry(const std::string& name) {
  auto it = weight_map_.find(name);
  if (it == weight_map_.end()) return Status::NotFound("checkpoint " + dir_ + " has no tensor '" + name + "'");
  SCORCH_ASSIGN_OR_RETURN(SafetensorsFile * f, Shard(it->second));
  const SafetensorsEntry* e = f->Find(name);
  if (e == nullptr) {
    return Status::DataLoss("index of " + dir_ + " maps '" + name + "' to " + it->second + ", which lacks it");
  }
  return e;
}

StatusOr<torch::Tensor> CheckpointReader::View(const std::string& name) {
  SCORCH_RETURN_IF_ERROR(Entry(name).status());
  SCORCH_ASSIGN_OR_RETURN(SafetensorsFile * f, Shard(weight_map_.at(name)));
  return f->View(name);
}

// ---------------------------------------------------------------------------------------
Status LoadWeights(torch::nn::Module& module, const std::string& dir, const LoadOptions& options) {
  SCORCH_ASSIGN_OR_RETURN(auto reader, CheckpointReader::Open(dir));
  auto params = module.named_parameters(/*recurse=*/true);
  std::set<std::string> allowed_missing(options.allow_missing.begin(), options.allow_missing.end());
  std::vector<std::pair<std::string, torch::Tensor>> to_load;
  for (const auto& item : params) {
    const std::string& name = item.key();
    auto entry = reader->Entry(name);
    if (!entry.ok()) {
      if (entry.status().IsNotFound() && allowed_missing.count(name)) continue;
      if (entry.status().IsNotFound()) {
        return Status::NotFound("checkpoint " + dir + " is missing tensor '" + name + "' (expected shape " +
                                ShapeString(item.value().sizes()) + ")");
      }
      return entry.status();
    }
    const SafetensorsEntry* e = *entry;
    if (!IsFloatDtype(e->dtype)) {
      return (e->supported ? Status::InvalidArgument("tensor '" + name + "' in " + dir + " has dtype " + e->dtype +
                                                     "; a floating-point dtype (F16, BF16, F32, F64) is required")
                           : Status::Unimplemented("tensor '" + name + "' in " + dir + " has unsupported dtype " +
                                                   e->dtype));
    }
    if (c10::IntArrayRef(e->shape) != item.value().sizes()) {
      return Status::InvalidArgument("tensor '" + name + "' in " + dir + " has shape " + ShapeString(e->shape) +
                                     " but the model expects " + ShapeString(item.value().sizes()));
    }
    to_load.emplace_back(name, item.value());
  }
  if (!options.allow_unexpected) {
    for (const auto& [name, file] : reader->weight_map()) {
      if (params.find(name) == nullptr) {
        return Status::InvalidArgument("checkpoint " + dir + " has tensor '" + name + "' that the model lacks");
      }
    }
  }
  try {
    torch::NoGradGuard no_grad;
    for (auto& [name, param] : to_load) {
      SCORCH_ASSIGN_OR_RETURN(auto view, reader->View(name));
      param.copy_(view);
    }
  } catch (const c10::Error& e) {
    return Status::Internal("loading weights from " + dir + ": " + e.what_without_backtrace());
  }
  return Status::Ok();
}

Status SaveModelDir(torch::nn::Module& module, const ModelConfig& config, const std::string& dir,
                    const SaveOptions& options) {
  if (options.dtype != torch::kFloat32 && options.dtype != torch::kFloat16 && options.dtype != torch::kBFloat16) {
    return Status::InvalidArgument("SaveModelDir: dtype must be float32, float16 or bfloat16");
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Status::IoError("cannot create " + dir + ": " + ec.message());
  std::vector<std::pair<std::string, torch::Tensor>> tensors;
  int64_t total = 0;
  try {
    torch::NoGradGuard no_grad;
    for (const auto& item : module.named_parameters(true)) {
      auto t = item.value().detach().to(torch::kCPU, options.dtype).contiguous();
      total += t.numel() * t.element_size();
      tensors.emplace_back(item.key(), std::move(t));
    }
  } catch (const c10::Error& e) {
    return Status::Internal(std::string("SaveModelDir: ") + e.what_without_backtrace());
  }
  const std::map<std::string, std::string> meta = {{"format", "pt"}};
  const fs::path root(dir);
  // Remove weight files of the other layout so the directory never mixes two checkpoints.
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const std::string f = entry.path().filename().string();
    if (f == kIndexFile || (f.rfind("model-", 0) == 0 && f.find("-of-") != std::string::npos &&
                            f.size() > 12 && f.compare(f.size() - 12, 12, ".safetensors") == 0)) {
      fs::remove(entry.path(), ec);
    }
  }
  if (options.max_shard_bytes <= 0 || total <= options.max_shard_bytes) {
    SCORCH_RETURN_IF_ERROR(WriteSafetensors((root / kSingleFile).string(), tensors, meta));
  } else {
    fs::remove(root / kSingleFile, ec);
    std::vector<std::vector<std::pair<std::string, torch::Tensor>>> shards(1);
    int64_t bytes = 0;
    for (auto& t : tensors) {
      const int64_t b = t.second.numel() * t.second.element_size();
      if (!shards.back().empty() && bytes + b > options.max_shard_bytes) {
        shards.emplace_back();
        bytes = 0;
      }
      shards.back().push_back(t);
      bytes += b;
    }
    json weight_map = json::object();
    for (size_t i = 0; i < shards.size(); ++i) {
      char name[64];
      std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", i + 1, shards.size());
      SCORCH_RETURN_IF_ERROR(WriteSafetensors((root / name).string(), shards[i], meta));
      for (const auto& t : shards[i]) weight_map[t.first] = name;
    }
    json index = {{"metadata", {{"total_size", total}}}, {"weight_map", weight_map}};
    SCORCH_RETURN_IF_ERROR(WriteTextFile((root / kIndexFile).string(), index.dump(2) + "\n"));
  }
  ModelConfig saved = config;
  saved.torch_dtype = TorchDtypeName(options.dtype);
  SCORCH_RETURN_IF_ERROR(WriteTextFile((root / "config.json").string(), saved.ToJson().dump(2) + "\n"));
  json gen = json::object();
  if (config.bos_token_id) gen["bos_token_id"] = *config.bos_token_id;
  if (config.eos_token_id) gen["eos_token_id"] = *config.eos_token_id;
  gen["do_sample"] = true;
  SCORCH_RETURN_IF_ERROR(WriteTextFile((root / "generation_config.json").string(), gen.dump(2) + "\n"));
  if (!options.tokenizer_dir.empty() && !fs::equivalent(options.tokenizer_dir, dir, ec)) {
    for (const auto& f : TokenizerFileNames()) {
      fs::path src = fs::path(options.tokenizer_dir) / f;
      if (!fs::is_regular_file(src, ec)) continue;
      fs::copy_file(src, root / f, fs::copy_options::overwrite_existing, ec);
      if (ec) return Status::IoError("cannot copy " + src.string() + ": " + ec.message());
    }
  }
  return Status::Ok();
}

StatusOr<Policy> LoadPolicy(const std::string& dir, torch::Device device) {
  SCORCH_ASSIGN_OR_RETURN(auto config, LoadModelConfig((fs::path(dir) / "config.json").string()));
  try {
    Policy policy(config);
    policy->to(device);
    SCORCH_RETURN_IF_ERROR(LoadWeights(*policy, dir));
    return policy;
  } catch (const c10::Error& e) {
    return Status::ResourceExhausted("building the model from " + dir + ": " + e.what_without_backtrace());
  }
}

StatusOr<Critic> LoadCritic(const std::string& dir, torch::Device device) {
  SCORCH_ASSIGN_OR_RETURN(auto config, LoadModelConfig((fs::path(dir) / "config.json").string()));
  try {
    Critic critic(config);
    {
      torch::NoGradGuard no_grad;
      critic->value_head->weight.zero_();
      critic->value_head->bias.zero_();
    }
    critic->to(device);
    LoadOptions opts;
    opts.allow_missing = {"value_head.weight", "value_head.bias"};
    SCORCH_RETURN_IF_ERROR(LoadWeights(*critic, dir, opts));
    return critic;
  } catch (const c10::Error& e) {
    return Status::ResourceExhausted("building the critic from " + dir + ": " + e.what_without_backtrace());
  }
}

StatusOr<ModelDirInfo> InspectModelDir(const std::string& dir) {
  ModelDirInfo info;
  SCORCH_ASSIGN_OR_RETURN(info.config, LoadModelConfig((fs::path(dir) / "config.json").string()));
  SCORCH_ASSIGN_OR_RETURN(auto reader, CheckpointReader::Open(dir));
  info.shards = reader->shard_files();
  for (const auto& [name, file] : reader->weight_map()) {
    SCORCH_ASSIGN_OR_RETURN(const SafetensorsEntry* e, reader->Entry(name));
    int64_t n = 1;
    for (int64_t d : e->shape) n *= d;
    info.num_tensors += 1;
    info.num_parameters += n;
    info.weight_bytes += static_cast<int64_t>(e->end - e->begin);
    info.dtypes[e->dtype] += 1;
  }
  std::error_code ec;
  for (const auto& f : TokenizerFileNames()) {
    if (fs::is_regular_file(fs::path(dir) / f, ec)) info.tokenizer_files.push_back(f);
  }
  return info;
}

}  // namespace scorch::model
