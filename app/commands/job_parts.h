// The pieces of a job every launch mode shares: the embedded run (embedded_job.cc: every role
// a thread in one process) and the mpirun layout (mpi_job.cc: one role per rank) build a
// role's objects through these, so the two modes cannot drift apart.
//
//   StageTrainingOf   a stage's learner settings from the job config (the learner's lookup)
//   RewardOf          the job's `reward:` section as the reward service's RewardConfig
//   LoadStartingPolicy  the tokenizer and the policy a job starts from, checked against the
//                     rollout section (every role that holds weights builds the same one)
//   FindResumePoint   the latest complete checkpoint of a run: job state, folder, version
//   JobToken          the Hello token of a tcp control plane (config, $SCORCH_TOKEN, or new)
//   RunOrchestratorRole  the orchestrator's part once its dispatcher is bound: live status,
//                     waiting for peers, the JobRunner (Ctrl-C stops after the step), shutdown,
//                     and runs/NAME/outcome.json ({"state": finished|stopped|failed, "error"})
//
// Ownership: the returned objects belong to the caller. Thread-safety: call from one thread.
// Errors: Status naming the config key, file or role that failed.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "scorch/common/config/run_config.h"
#include "scorch/common/run_dir.h"
#include "scorch/common/status.h"
#include "scorch/learner/trainer.h"
#include "scorch/model/policy.h"
#include "scorch/model/tokenizer.h"
#include "scorch/orchestrator/dispatcher.h"
#include "scorch/orchestrator/job_runner.h"
#include "scorch/reward/grader_pool.h"
#include "scorch/reward/reward_config.h"
#include "scorch/reward/reward_grader_oracle.h"
#include "scorch/reward/server_api.h"

namespace scorch::app {

StatusOr<learner::StageTraining> StageTrainingOf(const config::RunConfig& config,
                                                 const std::filesystem::path& run_root, const std::string& name);

StatusOr<reward::RewardConfig> RewardOf(const config::RewardSection& section);

// The job's grader: a pool of forked grader processes behind the reward API (rules from the
// job's reward section, SRR protocol by default). Create it BEFORE any thread exists (and
// before MPI_Init): the pool forks.
struct JobGrader {
  std::unique_ptr<reward::GraderPool> pool;
  std::unique_ptr<reward::GraderPoolOracle> oracle;
  reward::ServerMetrics metrics;
  std::unique_ptr<reward::RewardApi> api;

  // Grades a request in this process (the orchestrator's GradeFn when no reward rank exists).
  StatusOr<proto::GradeReply> Grade(const proto::GradeRequest& request);
};
StatusOr<std::unique_ptr<JobGrader>> CreateJobGrader(const config::RunConfig& config,
                                                     const reward::RewardConfig& reward_config);

struct StartingPolicy {
  std::unique_ptr<model::Tokenizer> tokenizer;
  model::Policy policy{nullptr};
  model::ModelConfig model_config;
};

// model.path (a model directory) or model.init_config initialised with job.seed, so every
// process that builds it from the same job file holds the same version-0 weights.
StatusOr<StartingPolicy> LoadStartingPolicy(const config::RunConfig& config);

// Only the tokenizer (the orchestrator needs no weights).
StatusOr<std::unique_ptr<model::Tokenizer>> LoadJobTokenizer(const config::RunConfig& config);

struct ResumePoint {
  orchestrator::JobState state;                  // where the job stands
  std::optional<std::filesystem::path> checkpoint;  // the checkpoint folder (none: start over)
  int64_t version = 0;                           // the policy version in it
};

// The latest complete checkpoint under `checkpoints_dir`; an empty ResumePoint (with a
// warning) when there is none yet. DataLoss when the checkpoint holds no job state.
StatusOr<ResumePoint> FindResumePoint(const std::filesystem::path& checkpoints_dir, const config::RunConfig& config);

// The token a tcp control plane demands in every Hello: cluster.token, else $SCORCH_TOKEN,
// else 128 random bits (hex) from /dev/urandom. `source` says which ("config", "env", "new").
StatusOr<std::string> JobToken(const config::RunConfig& config, std::string* source);

// Writes the token to <run>/join.token (mode 0600) and the endpoint to <run>/control.addr, so
// `scorch rollout --connect "$(cat runs/NAME/control.addr)" --token-file runs/NAME/join.token`
// can join. Written atomically.
Status WriteJoinInfo(const RunDirectory& run, const std::string& endpoint, const std::string& token);
// Removes them when the job ends (whatever its outcome): nobody joins a finished job.
void RemoveJoinInfo(const RunDirectory& run);

// The dispatcher's options from the cluster section, for `endpoint` (token when set).
orchestrator::DispatcherOptions DispatcherOptionsOf(const config::RunConfig& config, const std::string& endpoint,
                                                    std::optional<std::string> token);

struct OrchestratorRoleOptions {
  int rollout_workers = 1;  // wait for this many before the first stage
  // Called after the job ended and the dispatcher's Shutdown went out (e.g. to release hung
  // in-process workers); may be empty.
  std::function<void(const Status&)> after_shutdown;
  // Whether every rollout peer has ended (embedded: the worker threads); empty = do not wait.
  std::function<bool()> workers_done;
};

// The orchestrator's job loop over a bound dispatcher: see the file comment. Returns the job's
// status (the Shutdown has gone out either way).
Status RunOrchestratorRole(const config::RunConfig& config, RunDirectory& run, orchestrator::Dispatcher& dispatcher,
                           orchestrator::GradeFn grade, const model::Tokenizer& tokenizer,
                           orchestrator::JobState state, const OrchestratorRoleOptions& options);

}  // namespace scorch::app
