// Model directories in the Hugging Face layout:
//   config.json                       ModelConfig::ToJson (torch_dtype = the saved dtype)
//   generation_config.json            bos/eos ids
//   model.safetensors                 all weights, or, when sharded,
//   model-0000K-of-0000N.safetensors  + model.safetensors.index.json {"metadata":
//                                     {"total_size": bytes}, "weight_map": {name: file}}
//   tokenizer.json, tokenizer_config.json, ... copied through from SaveOptions::tokenizer_dir
// Tensor names and shapes are the module's named_parameters() (HF names, see policy.h), so
// a directory scorch writes loads in transformers and vice versa. Tied embeddings store no
// `lm_head.weight`; a tied model ignores one if present.
//
// dtype policy: weights are saved in SaveOptions::dtype (F32 default, or F16/BF16) and on
// load are converted to each parameter's current dtype and device (so a BF16 checkpoint loads
// into an F32 model as F32; call module->to(kBFloat16) first to keep BF16).
//
// Errors (Status, never a crash): NotFound for a missing directory, config or tensor;
// InvalidArgument for a wrong shape, a non-float tensor for a float parameter, a bad index
// file (including shard names that try to leave the directory); Unimplemented for an
// unsupported architecture or dtype; DataLoss for a truncated/corrupt safetensors file;
// IoError from the OS. Thread-safety: functions are reentrant; do not load into a module
// another thread is using.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/model/model_config.h"
#include "scorch/model/policy.h"
#include "scorch/model/safetensors.h"

namespace scorch::model {

struct SaveOptions {
  torch::Dtype dtype = torch::kFloat32;  // F32, F16 or BF16 on disk
  int64_t max_shard_bytes = 0;           // bytes per shard file; 0 = one model.safetensors
  std::string tokenizer_dir;             // copy tokenizer files from here ("" = none)
};

struct LoadOptions {
  bool allow_unexpected = true;          // ignore checkpoint tensors the module lacks
  std::vector<std::string> allow_missing;  // parameter names that may be absent (kept as is)
};

// The weights of a model directory, single-file or sharded, opened lazily.
class CheckpointReader {
 public:
  // Opens `dir`'s model.safetensors.index.json if present, else model.safetensors.
  static StatusOr<std::unique_ptr<CheckpointReader>> Open(const std::string& dir);

  // All tensor names -> shard file name.
  const std::map<std::string, std::string>& weight_map() const { return weight_map_; }
  std::vector<std::string> shard_files() const;
  // The header entry of `name` (NotFound if absent; DataLoss if its shard lacks it).
  StatusOr<const SafetensorsEntry*> Entry(const std::string& name);
  // A view valid while this reader lives (see SafetensorsFile::View).
  StatusOr<torch::Tensor> View(const std::string& name);

 private:
  StatusOr<SafetensorsFile*> Shard(const std::string& file);
  std::string dir_;
  std::map<std::string, std::string> weight_map_;
  std::map<std::string, std::unique_ptr<SafetensorsFile>> shards_;
};

// Copies every parameter of `module` from the checkpoint in `dir`, converting dtype and
// moving to the parameter's device. All shapes are checked before any parameter changes.
Status LoadWeights(torch::nn::Module& module, const std::string& dir, const LoadOptions& options = {});

// Writes config.json, generation_config.json, the weights and tokenizer files into `dir`
// (created if needed). Stale weight files of the other layout are removed.
Status SaveModelDir(torch::nn::Module& module, const ModelConfig& config, const std::string& dir,
                    const SaveOptions& options = {});

// config.json + weights -> a Policy on `device` in float32 (eval mode off: caller decides).
StatusOr<Policy> LoadPolicy(const std::string& dir, torch::Device device = torch::kCPU);

// A Critic from `dir`: the backbone from the checkpoint; value_head too if present, else
// zero-initialised (a critic started from a policy checkpoint).
StatusOr<Critic> LoadCritic(const std::string& dir, torch::Device device = torch::kCPU);

// Summary of a model directory without loading weights (for `scorch model info`).
struct ModelDirInfo {
  ModelConfig config;
  std::vector<std::string> shards;        // weight files
  int64_t num_tensors = 0;
  int64_t num_parameters = 0;             // elements over all stored tensors
  int64_t weight_bytes = 0;               // bytes of tensor data
  std::map<std::string, int64_t> dtypes;  // safetensors dtype -> tensor count
  std::vector<std::string> tokenizer_files;
};
StatusOr<ModelDirInfo> InspectModelDir(const std::string& dir);

// Tokenizer-related files copied by SaveModelDir when present.
const std::vector<std::string>& TokenizerFileNames();

}  // namespace scorch::model
