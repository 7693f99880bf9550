// `scorch run` in one process: every role as a thread over inproc:// ZeroMQ; see embedded_job.h.
#include "embedded_job.h"

#include "job_parts.h"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>
#include <utility>

#include <nlohmann/json.hpp>

#include "scorch/common/checkpoint_dir.h"
#include "scorch/common/logging.h"
#include "scorch/common/run_dir.h"
#include "scorch/common/transport/socket_options.h"
#include "scorch/learner/learner_service.h"
#include "scorch/learner/trainer.h"
#include "scorch/model/char_tokenizer.h"
#include "scorch/model/checkpoint.h"
#include "scorch/model/policy.h"
#include "scorch/model/torch_runtime.h"
#include "scorch/model/weight_exchange.h"
#include "scorch/orchestrator/dispatcher.h"
#include "scorch/orchestrator/job_runner.h"
#include "scorch/orchestrator/live_status.h"
#include "scorch/reward/grader_pool.h"
#include "scorch/reward/reward_config.h"
#include "scorch/reward/reward_grader_oracle.h"
#include "scorch/reward/server_api.h"
#include "scorch/reward/zmq_service.h"
#include "scorch/rollout/generator.h"
#include "scorch/rollout/rollout_engine.h"
#include "scorch/rollout/rollout_worker.h"
#include "scorch/rollout/step_model.h"

namespace scorch::app {
namespace {

namespace fs = std::filesystem;
using config::RunConfig;
using config::StageKind;

// Fault injection for tests (SCORCH_CHAOS_HANG_ROLLOUT="RANK:CALLS"): rollout worker RANK's
// model hangs on its CALLS-th forward call, as a wedged or dead worker would: its loop stops,
// so do its heartbeats, and the orchestrator must re-queue its leases elsewhere. The hang is
// released at shutdown (the call then fails) so the thread can be joined.
class HangingStepModel final : public rollout::StepModel {
 public:
  HangingStepModel(rollout::StepModel& inner, int64_t hang_at, std::atomic<bool>* release)
      : inner_(inner), hang_at_(hang_at), release_(release) {}
  int64_t num_slots() const override { return inner_.num_slots(); }
  int64_t max_seq_len() const override { return inner_.max_seq_len(); }
  int64_t vocab_size() const override { return inner_.vocab_size(); }
  int64_t SlotLength(int64_t slot) const override { return inner_.SlotLength(slot); }
  void ResetSlot(int64_t slot) override { inner_.ResetSlot(slot); }
  StatusOr<torch::Tensor> Forward(const std::vector<rollout::StepRow>& rows) override {
    if (++calls_ == hang_at_) {
      SCORCH_LOG(WARNING) << "chaos: this rollout worker hangs now (SCORCH_CHAOS_HANG_ROLLOUT)";
      while (!release_->load()) std::this_thread::sleep_for(std::chrono::milliseconds(20));
      return Status::Cancelled("chaos: hung worker released at shutdown");
    }
    return inner_.Forward(rows);
  }
  const std::vector<std::array<float, 2>>* TokenTerms(int64_t slot) const override { return inner_.TokenTerms(slot); }
  bool TokenTermsGated() const override { return inner_.TokenTermsGated(); }

 private:
  rollout::StepModel& inner_;
  int64_t hang_at_;
  std::atomic<bool>* release_;
  int64_t calls_ = 0;
};

// (rank, calls) from SCORCH_CHAOS_HANG_ROLLOUT, if set and well-formed.
std::optional<std::pair<int, int64_t>> ChaosHang() {
  const char* v = std::getenv("SCORCH_CHAOS_HANG_ROLLOUT");
  if (v == nullptr) return std::nullopt;
  int rank = 0;
  long long calls = 0;
  if (std::sscanf(v, "%d:%lld", &rank, &calls) != 2 || calls < 1) return std::nullopt;
  return std::make_pair(rank, static_cast<int64_t>(calls));
}

// One rollout worker thread's objects.
struct RolloutSlot {
  model::Policy replica{nullptr};
  std::unique_ptr<rollout::PolicyStepModel> step_model;
  std::unique_ptr<HangingStepModel> hanging;  // chaos tests only
  std::unique_ptr<rollout::Generator> generator;
  std::unique_ptr<rollout::RolloutEngine> engine;
  std::unique_ptr<rollout::RolloutWorker> worker;
  Status status;
  std::atomic<bool> done{false};
  std::thread thread;
};

void CopyWeights(model::Policy& from, model::Policy& to) {
  torch::NoGradGuard no_grad;
  auto src = from->named_parameters();
  for (auto& item : to->named_parameters()) item.value().copy_(src[item.key()]);
}

// Runs `body` and turns a LibTorch exception into a Status (a thread must never throw).
template <typename F>
Status Guarded(const char* role, F&& body) {
  try {
    return body();
  } catch (const std::exception& e) {
    return Status::Internal(std::string(role) + ": " + e.what());
  }
}

}  // namespace

Status RunEmbeddedJob(const EmbeddedJobOptions& options) {
  const bool resume = !options.resume_dir.empty();
  std::string config_path = options.config_path;
  if (config_path.empty() && resume) config_path = (fs::path(options.resume_dir) / "config.yaml").string();
  SCORCH_ASSIGN_OR_RETURN(RunConfig config, config::LoadRunConfig(config_path, options.overrides));
  SCORCH_RETURN_IF_ERROR(orchestrator::ValidateJob(config));
  // Checked before the run directory exists: a misspelt rule writes nothing.
  SCORCH_ASSIGN_OR_RETURN(reward::RewardConfig reward_config, RewardOf(config.reward));

  const fs::path root = resume ? fs::path(options.resume_dir) : fs::path(config.job.runs_dir) / config.job.name;
  SCORCH_ASSIGN_OR_RETURN(RunDirectory run,
                          RunDirectory::Open(root, resume ? RunDirectory::Mode::kResume : RunDirectory::Mode::kCreate));
  if (!resume) SCORCH_RETURN_IF_ERROR(run.WriteResolvedConfig(config::ResolvedConfigYaml(config), options.argv));
  log::LogOptions log_options;
  log::ParseLevel(config.logging.level, &log_options.min_level);
  log_options.verbosity = config.logging.verbosity;
  log_options.log_dir = run.logs_dir();
  log_options.color = config.logging.color;
  log::InitLogging(log_options);
  log::SetProcessIdentity("orchestrator", 0);

  // The grader pool forks its workers: before any thread exists.
  SCORCH_ASSIGN_OR_RETURN(auto grader, CreateJobGrader(config, reward_config));

  const int threads = model::ConfigureTorchThreads(config.job.threads);
  SCORCH_LOG(INFO) << "run " << root.string() << (resume ? " (resuming)" : "") << ": " << config.stages.size()
                   << " stages, " << config.cluster.rollout_workers << " rollout worker(s), LibTorch threads "
                   << threads << ", BLAS " << model::BlasLibraryInUse();

  SCORCH_ASSIGN_OR_RETURN(StartingPolicy start, LoadStartingPolicy(config));
  std::unique_ptr<model::Tokenizer>& tokenizer = start.tokenizer;
  model::Policy& policy = start.policy;
  const model::ModelConfig& model_config = start.model_config;

  // Resume point: the latest complete checkpoint (none yet: start over in the same folder).
  ResumePoint resume_point;
  if (resume) {
    SCORCH_ASSIGN_OR_RETURN(resume_point, FindResumePoint(run.checkpoints_dir(), config));
  }
  const std::optional<fs::path>& checkpoint = resume_point.checkpoint;
  const int64_t version = resume_point.version;

  // A tcp control plane lets other processes join (scorch rollout --connect): each must bring
  // the job's token. inproc:// and ipc:// are reachable from this host only.
  std::optional<std::string> token;
  if (config.cluster.control_endpoint.rfind("tcp://", 0) == 0) {
    std::string source;
    SCORCH_ASSIGN_OR_RETURN(token, JobToken(config, &source));
  }
  SCORCH_ASSIGN_OR_RETURN(auto dispatcher, orchestrator::Dispatcher::Bind(
                                               DispatcherOptionsOf(config, config.cluster.control_endpoint, token)));
  if (token) {
    SCORCH_RETURN_IF_ERROR(WriteJoinInfo(run, dispatcher->endpoint(), *token));
    SCORCH_LOG(INFO) << "control plane " << dispatcher->endpoint() << ": workers join with scorch rollout --connect "
                     << dispatcher->endpoint() << " --token-file " << (run.root() / "join.token").string();
  }

  // Learner thread. The rollout replicas copy the starting weights before it may train.
  std::vector<std::unique_ptr<RolloutSlot>> workers;
  for (int i = 0; i < config.cluster.rollout_workers; ++i) {
    auto w = std::make_unique<RolloutSlot>();
    w->replica = model::Policy(model_config);
    CopyWeights(policy, w->replica);
    w->replica->eval();
    workers.push_back(std::move(w));
  }
  learner::Trainer trainer(policy);
  learner::LearnerServiceConfig learner_config;
  learner_config.endpoint = dispatcher->endpoint();
  learner_config.checkpoints_dir = run.checkpoints_dir();
  learner_config.resume_from = checkpoint;
  learner_config.checkpoint.keep_last = config.learner.keep_checkpoints;
  learner_config.token = token;
  if (config.learner.weights_transport == "file") {
    learner_config.publish.transport = proto::WeightsTransport::kFile;
    learner_config.publish.dir = (run.root() / "weights").string();
  } else {
    learner_config.publish.channel = "job-" + root.string();
  }
  learner::LearnerService learner_service(
      learner_config, trainer, model_config,
      [&config, &root](const std::string& stage) { return StageTrainingOf(config, root, stage); });
  Status learner_status;
  std::thread learner_thread([&] {
    log::SetThreadIdentity("learner", 0);
    learner_status = Guarded("learner", [&] { return learner_service.Run(); });
    if (!learner_status.ok()) SCORCH_LOG(ERROR) << "learner stopped: " << learner_status;
  });

  const auto chaos = ChaosHang();
  std::atomic<bool> release_hung{false};
  rollout::ProtocolOptions protocol_options;
  protocol_options.max_turns = config.rollout.max_turns;
  protocol_options.texts = model::PromptTextsFromConfig(config.prompts);
  for (int i = 0; i < static_cast<int>(workers.size()); ++i) {
    RolloutSlot& w = *workers[static_cast<size_t>(i)];
    rollout::PolicyStepModelOptions step_options;
    step_options.num_slots = config.rollout.slots;
    step_options.max_seq_len = config.rollout.max_seq_len;
    w.step_model = std::make_unique<rollout::PolicyStepModel>(w.replica, step_options);
    rollout::StepModel* model_for_generation = w.step_model.get();
    if (chaos && chaos->first == i) {
      w.hanging = std::make_unique<HangingStepModel>(*w.step_model, chaos->second, &release_hung);
      model_for_generation = w.hanging.get();
    }
    w.generator = std::make_unique<rollout::Generator>(*model_for_generation, *tokenizer);
    w.engine = std::make_unique<rollout::RolloutEngine>(*w.generator, *tokenizer, protocol_options);
    rollout::RolloutWorkerConfig worker_config;
    worker_config.endpoint = dispatcher->endpoint();
    worker_config.identity = "rollout-" + std::to_string(i);
    worker_config.rank = i;
    worker_config.capacity = config.rollout.slots;
    worker_config.initial_policy_version = version;
    worker_config.token = token;
    w.worker = std::make_unique<rollout::RolloutWorker>(worker_config, *w.engine,
                                                        [&w](const proto::WeightsAnnounce& a) -> Status {
                                                          SCORCH_RETURN_IF_ERROR(model::ApplyWeights(a, *w.replica));
                                                          w.step_model->SetPolicy(w.replica);
                                                          return Status::Ok();
                                                        });
    w.worker->set_score_head_loader([&w](const std::optional<std::string>& dir) {
      return rollout::InstallScoreHead(*w.step_model, dir);
    });
    w.thread = std::thread([&w, i] {
      log::SetThreadIdentity("rollout", i);
      w.status = Guarded("rollout", [&] { return w.worker->Run(); });
      if (!w.status.ok()) SCORCH_LOG(ERROR) << "rollout worker " << i << " stopped: " << w.status;
      w.done = true;
    });
  }

  auto workers_done = [&workers] {
    bool all = true;
    for (auto& w : workers) all = all && w->done.load();
    return all;
  };
  orchestrator::GradeFn grade = [&grader](const proto::GradeRequest& request) { return grader->Grade(request); };
  OrchestratorRoleOptions role_options;
  role_options.rollout_workers = config.cluster.rollout_workers;
  role_options.after_shutdown = [&release_hung](const Status&) { release_hung = true; };
  role_options.workers_done = workers_done;
  Status status = RunOrchestratorRole(config, run, *dispatcher, grade, *tokenizer, resume_point.state, role_options);
  const bool all_done = workers_done();
  if (!all_done) {
    // A worker still running never heard the Shutdown (the dispatcher had written it off):
    // ending the ZeroMQ context makes its next receive fail, so its thread returns.
    SCORCH_LOG(WARNING) << "a rollout worker did not acknowledge the shutdown; closing the control plane";
    transport::SharedContext().shutdown();
  }
  learner_thread.join();
  for (auto& w : workers) w->thread.join();
  if (token) RemoveJoinInfo(run);
  if (!status.ok()) return status;
  model::ClearSharedWeights(learner_config.publish.channel);
  SCORCH_LOG(INFO) << "job " << config.job.name << " finished: " << root.string();
  return Status::Ok();
}

}  // namespace scorch::app
