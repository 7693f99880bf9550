// `scorch run` in one process: every role as a thread over inproc:// ZeroMQ; see embedded_job.h.
#include "embedded_job.h"

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

std::atomic<orchestrator::JobRunner*> g_runner{nullptr};

void OnStopSignal(int) {
  if (auto* r = g_runner.load()) r->RequestStop();
}

StatusOr<learner::StageTraining> StageTrainingOf(const RunConfig& config, const fs::path& run_root,
                                                 const std::string& name) {
  for (const auto& s : config.stages) {
    if (s.name != name) continue;
    learner::StageTraining t;
    t.stage = s.name;
    if (s.kind == StageKind::kSft) {
      t.objective = learner::Objective::kSft;
    } else if (s.kind == StageKind::kGrpo) {
      t.objective = learner::Objective::kGrpo;
    } else if (s.kind == StageKind::kPpo) {
      t.objective = learner::Objective::kPpo;
    } else if (s.kind == StageKind::kMdpo) {
      t.objective = learner::Objective::kMdpo;
      t.mdpo.eta = s.mdpo_eta;
      t.mdpo.nll_coef = s.mdpo_nll_coef;
    } else if (s.kind == StageKind::kSwiftTrain) {
      t.objective = learner::Objective::kSwift;
      t.swift.head.features = s.swift_features;
      t.swift.head.last_k_layers = s.swift_last_layers;
      t.swift.head.apply_norm = s.swift_apply_norm;
      t.swift.head.gate = s.swift_gate;
      t.swift.train.loss = s.swift_loss;
      t.swift.train.lr = s.lr;
      t.swift.train.batch_size = s.swift_batch;
      t.swift.train.max_epochs = s.swift_epochs;
      t.swift.train.patience = s.swift_patience;
      t.swift.train.val_fraction = s.swift_val_fraction;
      t.swift.train.seed = static_cast<uint64_t>(config.job.seed);
      t.swift.output_dir = run_root / "swift" / s.name;
      t.swift.batches = s.steps;
    } else {
      return Status::InvalidArgument("stage " + name + " does not train the policy");
    }
    t.optimizer.lr = s.lr;
    t.optimizer.weight_decay = config.learner.weight_decay;
    t.optimizer.max_grad_norm = config.learner.max_grad_norm;
    t.optimizer.warmup_steps = std::min(s.warmup_steps, s.steps);
    t.optimizer.total_steps = s.steps;
    t.optimizer.min_lr_ratio = config.learner.min_lr_ratio;
    t.micro_batch_rows = config.learner.micro_batch_rows;
    t.kl_beta = s.kl_beta >= 0.0 ? s.kl_beta : config.learner.kl_beta;
    t.kl_estimator = config.learner.kl_estimator == "k1"   ? learner::KlEstimator::kK1
                     : config.learner.kl_estimator == "k2" ? learner::KlEstimator::kK2
                                                           : learner::KlEstimator::kK3;
    t.grpo.clip_low = config.learner.clip_low;
    t.grpo.clip_high = config.learner.clip_high;
    t.grpo.aggregation = config.learner.aggregation == "sequence" ? learner::Aggregation::kSequenceMean
                                                                  : learner::Aggregation::kTokenMean;
    t.advantages.scale_by_std = config.learner.scale_by_std;
    t.ppo.critic_optimizer = t.optimizer;
    t.ppo.critic_optimizer.lr = config.learner.ppo_critic_lr > 0.0 ? config.learner.ppo_critic_lr : 10.0 * s.lr;
    t.ppo.gamma = config.learner.ppo_gamma;
    t.ppo.lambda = config.learner.ppo_lambda;
    t.ppo.value_clip = config.learner.ppo_value_clip;
    t.ppo.whiten_advantages = config.learner.ppo_whiten_advantages;
    return t;
  }
  return Status::NotFound("no stage named " + name + " in the job");
}

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

// The job's `reward` section as the reward service's RewardConfig (rule names checked there).
StatusOr<reward::RewardConfig> RewardOf(const config::RewardSection& section) {
  nlohmann::json j = nlohmann::json::object();
  if (!section.preset.empty()) j["preset"] = section.preset;
  j["rules"] = nlohmann::json::array();
  for (const auto& r : section.rules) j["rules"].push_back({{"name", r.name}, {"weight", r.weight}});
  auto c = reward::RewardConfig::FromJson(j);
  if (!c.ok()) return c.status().WithContext("config reward");
  SCORCH_RETURN_IF_ERROR(c->Validate().WithContext("config reward"));
  return c;
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
  reward::GraderPoolOptions pool_options;
  pool_options.num_workers = config.cluster.reward_workers;
  SCORCH_ASSIGN_OR_RETURN(auto pool, reward::GraderPool::Create(pool_options));
  reward::GraderPoolOracle oracle(pool.get());
  reward::ServerMetrics reward_metrics;
  reward::RewardApiOptions api_options;
  api_options.reward = reward_config;
  api_options.default_protocol = reward::Protocol::kSrr;
  SCORCH_ASSIGN_OR_RETURN(auto api, reward::RewardApi::Create(api_options, &oracle, &reward_metrics));

  const int threads = model::ConfigureTorchThreads(config.job.threads);
  SCORCH_LOG(INFO) << "run " << root.string() << (resume ? " (resuming)" : "") << ": " << config.stages.size()
                   << " stages, " << config.cluster.rollout_workers << " rollout worker(s), LibTorch threads "
                   << threads << ", BLAS " << model::BlasLibraryInUse();

  // Tokenizer and the starting policy.
  std::unique_ptr<model::Tokenizer> tokenizer;
  if (config.model.tokenizer == "char") {
    tokenizer = model::CharTokenizer::CreateDefault();
  } else {
    SCORCH_ASSIGN_OR_RETURN(tokenizer, model::LoadTokenizer(config.model.tokenizer));
  }
  model::Policy policy{nullptr};
  model::ModelConfig model_config;
  if (!config.model.path.empty()) {
    SCORCH_ASSIGN_OR_RETURN(policy, model::LoadPolicy(config.model.path));
    model_config = policy->config();
  } else {
    if (config.model.init_config.empty()) {
      return Status::InvalidArgument("model: set either path (a model directory) or init_config (a config.json)");
    }
    SCORCH_ASSIGN_OR_RETURN(model_config, model::LoadModelConfig(config.model.init_config));
    policy = model::Policy(model_config);
    model::InitializeWeights(*policy, model_config.initializer_range, static_cast<uint64_t>(config.job.seed));
  }
  if (model_config.vocab_size < tokenizer->vocab_size()) {
    return Status::InvalidArgument("model vocab_size " + std::to_string(model_config.vocab_size) +
                                   " is smaller than the tokenizer's " + std::to_string(tokenizer->vocab_size()));
  }
  if (config.rollout.max_seq_len > model_config.max_position_embeddings) {
    return Status::InvalidArgument("rollout.max_seq_len " + std::to_string(config.rollout.max_seq_len) +
                                   " exceeds the model's max_position_embeddings " +
                                   std::to_string(model_config.max_position_embeddings));
  }

  // Resume point: the latest complete checkpoint (none yet: start over in the same folder).
  orchestrator::JobState state;
  std::optional<fs::path> checkpoint;
  int64_t version = 0;
  if (resume) {
    auto latest = LatestCheckpoint(run.checkpoints_dir());
    if (latest.ok()) {
      checkpoint = *latest;
      SCORCH_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(*latest));
      const auto& learner_info = manifest.extra["learner"];
      if (!learner_info.is_object() || !learner_info.contains("extra") ||
          !learner_info["extra"].contains("orchestrator")) {
        return Status::DataLoss("checkpoint " + latest->string() + " holds no job state");
      }
      SCORCH_ASSIGN_OR_RETURN(state, orchestrator::JobState::FromJson(learner_info["extra"]["orchestrator"]));
      version = learner_info.value("policy_version", int64_t{0});
      SCORCH_RETURN_IF_ERROR(model::LoadWeights(*policy, (*latest / "model").string()));
      SCORCH_LOG(INFO) << "resuming from " << latest->string() << ": step " << state.step << ", stage "
                       << config.stages[static_cast<size_t>(std::min<int>(state.stage_index,
                                                                          static_cast<int>(config.stages.size()) - 1))]
                              .name
                       << ", policy version " << version;
    } else {
      SCORCH_LOG(WARNING) << "no complete checkpoint in " << run.checkpoints_dir().string()
                          << ": the job starts from the beginning";
    }
  }

  orchestrator::DispatcherOptions dispatcher_options;
  dispatcher_options.endpoint = config.cluster.control_endpoint;
  dispatcher_options.heartbeat_timeout =
      std::chrono::milliseconds(static_cast<int64_t>(config.cluster.heartbeat_timeout_s * 1000));
  dispatcher_options.lease_timeout = std::chrono::milliseconds(static_cast<int64_t>(config.cluster.lease_timeout_s * 1000));
  SCORCH_ASSIGN_OR_RETURN(auto dispatcher, orchestrator::Dispatcher::Bind(dispatcher_options));

  // Live status for `scorch status` (GET /status, /metrics), on loopback unless configured.
  // A job runs on without it when its port cannot be bound.
  std::optional<orchestrator::LiveStatus> live;
  if (config.cluster.status_port >= 0) {
    orchestrator::LiveStatusOptions live_options;
    live_options.job_name = config.job.name;
    live_options.run_dir = run.root();
    live_options.num_stages = static_cast<int>(config.stages.size());
    live_options.server.host = config.cluster.status_host;
    live_options.server.port = static_cast<uint16_t>(config.cluster.status_port);
    live.emplace(live_options, *dispatcher);
    Status st = live->Start();
    if (st.ok()) {
      SCORCH_LOG(INFO) << "live status: scorch status " << live->endpoint() << " (or GET http://" << live->endpoint()
                       << "/status, /metrics)";
    } else {
      SCORCH_LOG(WARNING) << "no live status server: " << st;
      live.reset();
    }
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

  Status status = dispatcher->WaitForPeers(config.cluster.rollout_workers, 1, std::chrono::seconds(120));
  std::optional<orchestrator::JobRunner> runner;
  if (status.ok()) {
    orchestrator::GradeFn grade = [&api](const proto::GradeRequest& request) {
      return reward::HandleGradeRequest(*api, request, reward::Protocol::kSrr);
    };
    runner.emplace(config, run, *dispatcher, grade, *tokenizer);
    g_runner = &*runner;
    if (live) {
      live->AttachRunner(&*runner);
      live->SetState("running");
    }
    auto previous_int = std::signal(SIGINT, OnStopSignal);
    auto previous_term = std::signal(SIGTERM, OnStopSignal);
    status = Guarded("orchestrator", [&] { return runner->Run(state); });
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    g_runner = nullptr;
  }
  release_hung = true;
  const std::string reason = status.ok() ? "job finished" : "job failed";
  if (live) {
    live->DetachRunner();
    live->SetState(status.ok() ? "finished" : "failed");
  }
  dispatcher->Shutdown(reason, /*drain=*/false, std::chrono::seconds(1));
  // A worker the dispatcher had declared lost (hung, then released) only hears a Shutdown sent
  // after it speaks again: repeat it, bounded, until every worker thread has ended.
  auto workers_done = [&workers] {
    bool all = true;
    for (auto& w : workers) all = all && w->done.load();
    return all;
  };
  // Each round gives the workers 200 ms to end (they return as soon as they read the
  // message) before the next Shutdown goes out; 25 rounds bound the wait to 5 s.
  for (int round = 0; round < 25 && !workers_done(); ++round) {
    for (int tick = 0; tick < 20 && !workers_done(); ++tick) std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!workers_done()) dispatcher->Shutdown(reason, /*drain=*/false, std::chrono::milliseconds(200));
  }
  const bool all_done = workers_done();
  if (!all_done) {
    // A worker still running never heard the Shutdown (the dispatcher had written it off):
    // ending the ZeroMQ context makes its next receive fail, so its thread returns.
    SCORCH_LOG(WARNING) << "a rollout worker did not acknowledge the shutdown; closing the control plane";
    transport::SharedContext().shutdown();
  }
  learner_thread.join();
  for (auto& w : workers) w->thread.join();
  if (!status.ok()) return status;
  model::ClearSharedWeights(learner_config.publish.channel);
  SCORCH_LOG(INFO) << "job " << config.job.name << " finished: " << root.string();
  return Status::Ok();
}

}  // namespace scorch::app
