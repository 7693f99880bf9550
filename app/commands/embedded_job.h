// EmbeddedJob: `scorch run` in one process (ARCHITECTURE §3, mode 1). Every role is a thread
// talking over inproc:// ZeroMQ, through exactly the messages the distributed layout uses:
//   orchestrator  this thread: JobRunner over a Dispatcher (ROUTER);
//   learner       one thread: LearnerService + Trainer (DEALER), publishing weights through the
//                 in-process registry (learner.weights_transport: shared) or files;
//   rollout       cluster.rollout_workers threads: RolloutWorker + RolloutEngine over a
//                 PolicyStepModel replica (DEALER), applying announced weights between batches;
//   reward        the grader pool (forked worker processes, created before any thread) behind
//                 the reward API, called in process by the orchestrator's grade function.
// Resume (`--resume`): the latest complete checkpoint gives the learner its weights, optimizer
// and RNG and the orchestrator its job state; the rollout replicas start from the same weights.
//
// Ownership: everything lives inside Run. Thread-safety: Run is called once, from main.
// Errors: a Status naming the failing role and step; every thread is stopped and joined first.
#pragma once

#include <string>
#include <vector>

#include "scorch/common/config/run_config.h"
#include "scorch/common/status.h"

namespace scorch::app {

struct EmbeddedJobOptions {
  std::string config_path;
  std::vector<std::string> overrides;  // --set a.b=c
  std::string resume_dir;              // --resume runs/NAME ("" = a new run)
  std::vector<std::string> argv;       // for RUN_INFO.json
};

Status RunEmbeddedJob(const EmbeddedJobOptions& options);

}  // namespace scorch::app
