// RunConfig: the typed form of a job YAML file (configs/*.yaml), loaded once at start-up.
//
// Each section is a struct whose fields have defaults and a trailing comment with the unit;
// VisitFields (see schema.h) lists them for reading, checking and writing. Objects receive
// the section they need as `const XConfig&`; nothing reads a global config. Later components
// add their sections here (they meet in this file because every role reads one job file).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "scorch/common/config/schema.h"
#include "scorch/common/status.h"

namespace scorch::config {

enum class StageKind { kSft, kCollect, kGrpo, kPpo, kMdpo, kEval, kBon };

template <>
struct EnumNames<StageKind> {
  static constexpr std::pair<StageKind, const char*> kValues[] = {
      {StageKind::kSft, "sft"},   {StageKind::kCollect, "collect"}, {StageKind::kGrpo, "grpo"},
      {StageKind::kPpo, "ppo"},   {StageKind::kMdpo, "mdpo"},       {StageKind::kEval, "eval"},
      {StageKind::kBon, "bon"}};
};

struct JobConfig {
  std::string name = "job";        // run directory name: <runs_dir>/<name>
  std::string runs_dir = "runs";   // parent folder of run directories
  int64_t seed = 1234;             // master seed; every RNG in the job derives from it
  int threads = 0;                 // LibTorch intra-op threads per process (0 = all CPUs)

  template <class V>
  void VisitFields(V& v) {
    v.Field("name", &name, "run directory name: <runs_dir>/<name>");
    v.Field("runs_dir", &runs_dir, "parent folder of run directories");
    v.Field("seed", &seed, "master seed; every RNG in the job derives from it",
            Range<int64_t>{0, INT64_MAX});
    v.Field("threads", &threads, "LibTorch threads per process (0 = all online CPUs)",
            Range<int>{0, 1024});
  }
  Status Validate() const;
};

struct LoggingConfig {
  std::string level = "info";  // debug | info | warning | error
  int verbosity = 0;           // SCORCH_VLOG(n) prints when n <= verbosity
  bool color = true;           // colour level letters on a terminal

  template <class V>
  void VisitFields(V& v) {
    v.Field("level", &level, "debug | info | warning | error");
    v.Field("verbosity", &verbosity, "SCORCH_VLOG(n) lines print when n <= verbosity",
            Range<int>{0, 10});
    v.Field("color", &color, "colour level letters on a terminal");
  }
  Status Validate() const;
};

struct ModelSection {
  std::string path;         // Hugging Face model directory to start from ("" = init_config)
  std::string init_config;  // config.json for a randomly initialised model (seeded by job.seed)
  std::string tokenizer = "char";  // "char" (synthetic task), or a tokenizer.json path

  template <class V>
  void VisitFields(V& v) {
    v.Field("path", &path, "Hugging Face model directory to start from (empty: use init_config)");
    v.Field("init_config", &init_config, "config.json for a random, seeded initial model");
    v.Field("tokenizer", &tokenizer, "\"char\" for the synthetic task, or a tokenizer.json path");
  }
};

struct StageConfig {
  std::string name;                     // unique within the job; names outputs
  StageKind kind = StageKind::kSft;     // what the stage does
  int64_t steps = 1;                    // optimizer steps (or eval/collect batches)
  int batch_prompts = 8;                // prompts per step
  int samples_per_prompt = 1;           // trajectories per prompt (GRPO group size)
  std::string protocol = "single_turn"; // single_turn | self_correct | two_turn | post_completion
  std::string dataset = "synthetic";    // "synthetic" or a JSONL path
  double lr = 1e-5;                     // peak learning rate

  template <class V>
  void VisitFields(V& v) {
    v.Field("name", &name, "unique stage name; names its outputs");
    v.Field("kind", &kind, "sft | collect | grpo | ppo | mdpo | eval | bon");
    v.Field("steps", &steps, "optimizer steps (eval/collect: batches)", Range<int64_t>{0, 100000000});
    v.Field("batch_prompts", &batch_prompts, "prompts per step", Range<int>{1, 1 << 20});
    v.Field("samples_per_prompt", &samples_per_prompt, "trajectories per prompt (GRPO group)",
            Range<int>{1, 4096});
    v.Field("protocol", &protocol,
            "turn protocol: single_turn | self_correct | two_turn | post_completion");
    v.Field("dataset", &dataset, "\"synthetic\" or a JSONL path");
    v.Field("lr", &lr, "peak learning rate", Range<double>{0.0, 1.0});
  }
  Status Validate() const;
};

struct ClusterConfig {
  std::string control_endpoint = "inproc://scorch-control";  // orchestrator ROUTER endpoint
  int rollout_workers = 1;  // rollout worker count (embedded: threads)
  int reward_workers = 1;   // reward service workers
  int learners = 1;         // data-parallel learner ranks

  template <class V>
  void VisitFields(V& v) {
    v.Field("control_endpoint", &control_endpoint,
            "orchestrator ROUTER endpoint (inproc:// embedded; tcp://127.0.0.1:PORT otherwise)");
    v.Field("rollout_workers", &rollout_workers, "rollout workers", Range<int>{0, 100000});
    v.Field("reward_workers", &reward_workers, "reward service workers", Range<int>{1, 4096});
    v.Field("learners", &learners, "data-parallel learner ranks", Range<int>{1, 100000});
  }
  Status Validate() const;
};

struct RunConfig {
  JobConfig job;
  LoggingConfig logging;
  ModelSection model;
  std::vector<StageConfig> stages;
  ClusterConfig cluster;

  template <class V>
  void VisitFields(V& v) {
    v.Field("job", &job, "job identity and seeding");
    v.Field("logging", &logging, "human-readable logs (metrics go to metrics.jsonl)");
    v.Field("model", &model, "the policy model to start from");
    v.Field("stages", &stages, "the stages, run in order");
    v.Field("cluster", &cluster, "process layout");
  }
  Status Validate() const;
};

// Applies one "--set a.b.c=value" override to a parsed document. Path segments that are
// integers index lists (stages.0.steps=5); the value is parsed as YAML (so lists and numbers
// keep their type). Missing mappings are created. Errors name the override.
Status ApplyOverride(YAML::Node& root, const std::string& assignment, SourceInfo* src);

// Loads `path`, applies `overrides` in order, reads and validates the whole config. Every
// problem is reported at once, one per line, each naming its key path and file:line:column.
StatusOr<RunConfig> LoadRunConfig(const std::string& path,
                                  const std::vector<std::string>& overrides = {});
// Same, from YAML text (`name` is used in error locations).
StatusOr<RunConfig> ParseRunConfig(const std::string& yaml_text, const std::string& name,
                                   const std::vector<std::string>& overrides = {});

// The resolved config as YAML, with each field's doc as a comment.
std::string ResolvedConfigYaml(const RunConfig& config);

}  // namespace scorch::config
