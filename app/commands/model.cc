// `scorch model init --config FILE --out DIR [--seed N] [--dtype float32|bfloat16|float16]
//                   [--tokenizer-dir DIR] [--shard-mb N]`
//   Builds a randomly initialised (seeded) causal LM from a Hugging Face config.json and
//   writes it as a model directory (config.json, model.safetensors, generation_config.json,
//   tokenizer files copied from --tokenizer-dir).
// `scorch model info DIR [--json]`
//   Describes a model directory without loading the weights: architecture, dimensions,
//   parameter count, dtypes, shards, tokenizer files.
// Exit status 1 with a message naming the problem on any error.
#include <torch/torch.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "commands.h"
#include "scorch/model/checkpoint.h"
#include "scorch/model/policy.h"
#include "scorch/model/torch_runtime.h"

namespace scorch::app {
namespace {

struct InitArgs {
  std::string config;
  std::string out;
  uint64_t seed = 0;
  std::string dtype = "float32";
  std::string tokenizer_dir;
  int64_t shard_mb = 0;
};

void RunInit(const InitArgs& a) {
  model::ConfigureTorchThreads();
  auto config = model::LoadModelConfig(a.config);
  if (!config.ok()) {
    std::fprintf(stderr, "scorch model init: %s\n", config.status().ToString().c_str());
    throw CommandExit{1};
  }
  model::SaveOptions opts;
  opts.dtype = a.dtype == "bfloat16" ? torch::kBFloat16 : a.dtype == "float16" ? torch::kFloat16 : torch::kFloat32;
  opts.tokenizer_dir = a.tokenizer_dir;
  opts.max_shard_bytes = a.shard_mb * (int64_t{1} << 20);
  Status s;
  try {
    model::Policy policy(*config);
    model::InitializeWeights(*policy, config->initializer_range, a.seed);
    s = model::SaveModelDir(*policy, *config, a.out, opts);
  } catch (const c10::Error& e) {
    s = Status::ResourceExhausted(std::string("building the model: ") + e.what_without_backtrace());
  }
  if (!s.ok()) {
    std::fprintf(stderr, "scorch model init: %s\n", s.ToString().c_str());
    throw CommandExit{1};
  }
  std::printf("wrote %s: %s, %lld parameters, %s, seed %llu\n", a.out.c_str(), config->architecture.c_str(),
              static_cast<long long>(config->ParameterCount()), a.dtype.c_str(),
              static_cast<unsigned long long>(a.seed));
}

void RunInfo(const std::string& dir, bool as_json) {
  auto info = model::InspectModelDir(dir);
  if (!info.ok()) {
    std::fprintf(stderr, "scorch model info: %s\n", info.status().ToString().c_str());
    throw CommandExit{1};
  }
  const auto& c = info->config;
  nlohmann::json j;
  j["dir"] = dir;
  j["architecture"] = c.architecture;
  j["model_type"] = c.model_type;
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["head_dim"] = c.head_dim;
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["attention_bias"] = c.attention_bias;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = c.rope_scaling.type;
  j["parameters"] = info->num_parameters;
  j["parameters_expected"] = c.ParameterCount();
  j["tensors"] = info->num_tensors;
  j["weight_bytes"] = info->weight_bytes;
  j["dtypes"] = info->dtypes;
  j["torch_dtype"] = c.torch_dtype;
  j["shards"] = info->shards;
  j["tokenizer_files"] = info->tokenizer_files;
  if (as_json) {
    std::printf("%s\n", j.dump(2).c_str());
    return;
  }
  std::printf("%s\n", dir.c_str());
  std::printf("  architecture   %s (%s)\n", c.architecture.c_str(), c.model_type.c_str());
  std::printf("  layers         %lld, hidden %lld, mlp %lld, heads %lld (kv %lld, dim %lld)\n",
              static_cast<long long>(c.num_hidden_layers), static_cast<long long>(c.hidden_size),
              static_cast<long long>(c.intermediate_size), static_cast<long long>(c.num_attention_heads),
              static_cast<long long>(c.num_key_value_heads), static_cast<long long>(c.head_dim));
  std::printf("  vocab          %lld, %s embeddings, %s qkv bias\n", static_cast<long long>(c.vocab_size),
              c.tie_word_embeddings ? "tied" : "untied", c.attention_bias ? "with" : "no");
  std::printf("  rope           theta %g, scaling %s\n", c.rope_theta, c.rope_scaling.type.c_str());
  std::printf("  parameters     %lld stored (%.2fM), config implies %lld\n",
              static_cast<long long>(info->num_parameters), info->num_parameters / 1e6,
              static_cast<long long>(c.ParameterCount()));
  std::string dtypes;
  for (const auto& [name, count] : info->dtypes) dtypes += name + " x" + std::to_string(count) + " ";
  std::printf("  dtypes         %s(config: %s)\n", dtypes.c_str(), c.torch_dtype.c_str());
  std::printf("  weights        %.1f MiB in %zu file(s):", info->weight_bytes / 1048576.0, info->shards.size());
  for (const auto& s : info->shards) std::printf(" %s", s.c_str());
  std::printf("\n  tokenizer      %s\n", info->tokenizer_files.empty() ? "(none)" : "");
  for (const auto& f : info->tokenizer_files) std::printf("                 %s\n", f.c_str());
}

}  // namespace

void RegisterModelCommands(CLI::App& app) {
  auto* model = app.add_subcommand("model", "Create and describe model directories (Hugging Face layout)");
  model->require_subcommand(1);

  auto args = std::make_shared<InitArgs>();
  auto* init = model->add_subcommand("init", "Write a randomly initialised model from a config.json");
  init->add_option("--config", args->config, "Hugging Face config.json (e.g. configs/models/tiny.json)")->required();
  init->add_option("--out", args->out, "Output model directory")->required();
  init->add_option("--seed", args->seed, "Initialisation seed (same seed, same weights)");
  init->add_option("--dtype", args->dtype, "Stored dtype")->check(CLI::IsMember({"float32", "bfloat16", "float16"}));
  init->add_option("--tokenizer-dir", args->tokenizer_dir, "Copy tokenizer files from this directory");
  init->add_option("--shard-mb", args->shard_mb, "Shard the weights into files of at most this many MiB (0 = one file)")
      ->check(CLI::NonNegativeNumber);
  init->callback([args] { RunInit(*args); });

  auto dir = std::make_shared<std::string>();
  auto as_json = std::make_shared<bool>(false);
  auto* info = model->add_subcommand("info", "Describe a model directory");
  info->add_option("dir", *dir, "Model directory")->required();
  info->add_flag("--json", *as_json, "Print one JSON object");
  info->callback([dir, as_json] { RunInfo(*dir, *as_json); });
}

}  // namespace scorch::app
