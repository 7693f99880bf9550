// RunWorkerProcess: everything `scorch rollout` does once its flags are parsed, as a library
// call, so the integration test runs the very same code in a thread against a fake
// orchestrator.
//
// It loads the job config (LoadRunConfig, with --set overrides), builds the tokenizer and the
// starting policy exactly as the embedded job does — model.path (a Hugging Face model
// directory; --model overrides it) or model.init_config initialised with job.seed, so a worker
// started from the same yaml holds the same version-0 weights as the learner — and runs a
// RolloutWorker (rollout_worker.h) over a PolicyStepModel with rollout.slots KV-cache slots of
// rollout.max_seq_len tokens, the turn protocols configured by rollout.max_turns and the
// prompts section, until the orchestrator sends Shutdown.
//
// Weights: a WeightsAnnounce is applied with model::ApplyWeights (weight_exchange.h: `file`
// transport across processes, `shared` inside one) into the worker's policy, then the step
// model takes the new version (its KV cache is emptied). The worker applies it only when no
// trajectory is in flight (drain, see rollout_worker.h). A failed application ends the
// process with that error: a worker never serves on weights it could not load.
//
// Ownership: the call owns every object it builds. Thread-safety: one call per thread; calls
// share nothing but LibTorch's global thread setting. Blocking: until Shutdown or an error.
// Errors: InvalidArgument/NotFound for a bad config, model or tokenizer (the message names
// the file or key), the transport's error when the socket fails, ApplyWeights' error.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/rollout/rollout_worker.h"

namespace scorch::rollout {

struct WorkerProcessOptions {
  std::string endpoint;                    // orchestrator ROUTER endpoint (--connect)
  std::string config_path;                 // job yaml (--config)
  std::vector<std::string> overrides;      // "a.b=value" (--set), applied in order
  std::string model_dir;                   // overrides model.path when set (--model)
  int32_t capacity = 0;                    // work items in flight; 0 = rollout.slots (--capacity)
  int32_t rank = 0;                        // rank within the rollout role (--rank)
  std::optional<std::string> token;        // shared secret sent in Hello (--token)
  std::string identity;                    // DEALER routing id; empty = "rollout-<rank>"
  int64_t policy_version = 0;              // version of the starting weights (--policy-version)
  std::optional<int> threads;              // LibTorch threads; unset = job.threads
  std::optional<std::chrono::milliseconds> heartbeat_interval;  // unset: from cluster.heartbeat_timeout_s
};

// Builds the worker described above and runs it until Shutdown. `stats`, when given, receives
// the worker's counters at the end.
[[nodiscard]] Status RunWorkerProcess(const WorkerProcessOptions& options, RolloutWorkerStats* stats = nullptr);

}  // namespace scorch::rollout
