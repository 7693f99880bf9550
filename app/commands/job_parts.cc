// Shared pieces of a job's roles; see job_parts.h.
#include "job_parts.h"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>

#include <nlohmann/json.hpp>

#include "scorch/common/atomic_file.h"
#include "scorch/common/checkpoint_dir.h"
#include "scorch/common/logging.h"
#include "scorch/model/char_tokenizer.h"
#include "scorch/model/checkpoint.h"
#include "scorch/orchestrator/live_status.h"
#include "scorch/reward/zmq_service.h"

namespace scorch::app {
namespace {

namespace fs = std::filesystem;
using config::RunConfig;
using config::StageKind;

std::atomic<orchestrator::JobRunner*> g_runner{nullptr};

void OnStopSignal(int) {
  if (auto* r = g_runner.load()) r->RequestStop();
}

}  // namespace

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


StatusOr<proto::GradeReply> JobGrader::Grade(const proto::GradeRequest& request) {
  return reward::HandleGradeRequest(*api, request, reward::Protocol::kSrr);
}

StatusOr<std::unique_ptr<JobGrader>> CreateJobGrader(const RunConfig& config, const reward::RewardConfig& reward_config) {
  auto g = std::make_unique<JobGrader>();
  reward::GraderPoolOptions pool_options;
  pool_options.num_workers = config.cluster.reward_workers;
  SCORCH_ASSIGN_OR_RETURN(g->pool, reward::GraderPool::Create(pool_options));
  g->oracle = std::make_unique<reward::GraderPoolOracle>(g->pool.get());
  reward::RewardApiOptions api_options;
  api_options.reward = reward_config;
  api_options.default_protocol = reward::Protocol::kSrr;
  SCORCH_ASSIGN_OR_RETURN(g->api, reward::RewardApi::Create(api_options, g->oracle.get(), &g->metrics));
  return g;
}

StatusOr<std::unique_ptr<model::Tokenizer>> LoadJobTokenizer(const RunConfig& config) {
  if (config.model.tokenizer == "char") return model::CharTokenizer::CreateDefault();
  return model::LoadTokenizer(config.model.tokenizer);
}

StatusOr<StartingPolicy> LoadStartingPolicy(const RunConfig& config) {
  StartingPolicy out;
  SCORCH_ASSIGN_OR_RETURN(out.tokenizer, LoadJobTokenizer(config));
  if (!config.model.path.empty()) {
    SCORCH_ASSIGN_OR_RETURN(out.policy, model::LoadPolicy(config.model.path));
    out.model_config = out.policy->config();
  } else {
    if (config.model.init_config.empty()) {
      return Status::InvalidArgument("model: set either path (a model directory) or init_config (a config.json)");
    }
    SCORCH_ASSIGN_OR_RETURN(out.model_config, model::LoadModelConfig(config.model.init_config));
    out.policy = model::Policy(out.model_config);
    model::InitializeWeights(*out.policy, out.model_config.initializer_range, static_cast<uint64_t>(config.job.seed));
  }
  if (out.model_config.vocab_size < out.tokenizer->vocab_size()) {
    return Status::InvalidArgument("model vocab_size " + std::to_string(out.model_config.vocab_size) +
                                   " is smaller than the tokenizer's " + std::to_string(out.tokenizer->vocab_size()));
  }
  if (config.rollout.max_seq_len > out.model_config.max_position_embeddings) {
    return Status::InvalidArgument("rollout.max_seq_len " + std::to_string(config.rollout.max_seq_len) +
                                   " exceeds the model's max_position_embeddings " +
                                   std::to_string(out.model_config.max_position_embeddings));
  }
  return out;
}

StatusOr<ResumePoint> FindResumePoint(const fs::path& checkpoints_dir, const RunConfig& config) {
  ResumePoint point;
  auto latest = LatestCheckpoint(checkpoints_dir);
  if (!latest.ok()) {
    SCORCH_LOG(WARNING) << "no complete checkpoint in " << checkpoints_dir.string()
                        << ": the job starts from the beginning";
    return point;
  }
  point.checkpoint = *latest;
  SCORCH_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(*latest));
  const auto& learner_info = manifest.extra["learner"];
  if (!learner_info.is_object() || !learner_info.contains("extra") || !learner_info["extra"].contains("orchestrator")) {
    return Status::DataLoss("checkpoint " + latest->string() + " holds no job state");
  }
  SCORCH_ASSIGN_OR_RETURN(point.state, orchestrator::JobState::FromJson(learner_info["extra"]["orchestrator"]));
  point.version = learner_info.value("policy_version", int64_t{0});
  const int last = static_cast<int>(config.stages.size()) - 1;
  SCORCH_LOG(INFO) << "resuming from " << latest->string() << ": step " << point.state.step << ", stage "
                   << (last >= 0 ? config.stages[static_cast<size_t>(std::clamp(point.state.stage_index, 0, last))].name
                                 : std::string("-"))
                   << ", policy version " << point.version;
  return point;
}

StatusOr<std::string> JobToken(const RunConfig& config, std::string* source) {
  if (!config.cluster.token.empty()) {
    *source = "config";
    return config.cluster.token;
  }
  if (const char* env = std::getenv("SCORCH_TOKEN"); env != nullptr && *env != '\0') {
    *source = "env";
    return std::string(env);
  }
  std::ifstream urandom("/dev/urandom", std::ios::binary);
  unsigned char bytes[16];
  if (!urandom.read(reinterpret_cast<char*>(bytes), sizeof(bytes))) {
    return Status::IoError("cannot read /dev/urandom for a job token (set cluster.token or SCORCH_TOKEN)");
  }
  static const char* kHex = "0123456789abcdef";
  std::string token;
  for (unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 15];
  }
  *source = "new";
  return token;
}

void RemoveJoinInfo(const RunDirectory& run) {
  std::error_code ec;
  fs::remove(run.root() / "control.addr", ec);
  fs::remove(run.root() / "join.token", ec);
}

Status WriteJoinInfo(const RunDirectory& run, const std::string& endpoint, const std::string& token) {
  const fs::path token_path = run.root() / "join.token";
  SCORCH_RETURN_IF_ERROR(AtomicWriteFile(token_path, token + "\n"));
  if (::chmod(token_path.c_str(), 0600) != 0) {
    return Status::IoError("cannot make " + token_path.string() + " private (chmod 600)");
  }
  return AtomicWriteFile(run.root() / "control.addr", endpoint + "\n");
}

orchestrator::DispatcherOptions DispatcherOptionsOf(const RunConfig& config, const std::string& endpoint,
                                                    std::optional<std::string> token) {
  orchestrator::DispatcherOptions o;
  o.endpoint = endpoint;
  o.heartbeat_timeout = std::chrono::milliseconds(static_cast<int64_t>(config.cluster.heartbeat_timeout_s * 1000));
  o.lease_timeout = std::chrono::milliseconds(static_cast<int64_t>(config.cluster.lease_timeout_s * 1000));
  o.token = std::move(token);
  return o;
}

Status RunOrchestratorRole(const RunConfig& config, RunDirectory& run, orchestrator::Dispatcher& dispatcher,
                           orchestrator::GradeFn grade, const model::Tokenizer& tokenizer, orchestrator::JobState state,
                           const OrchestratorRoleOptions& options) {
  std::error_code ignored;
  fs::remove(run.root() / "outcome.json", ignored);  // a resumed run's earlier outcome
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
    live.emplace(live_options, dispatcher);
    Status st = live->Start();
    if (st.ok()) {
      SCORCH_LOG(INFO) << "live status: scorch status " << live->endpoint() << " (or GET http://" << live->endpoint()
                       << "/status, /metrics)";
    } else {
      SCORCH_LOG(WARNING) << "no live status server: " << st;
      live.reset();
    }
  }

  const auto peers_timeout = std::chrono::milliseconds(static_cast<int64_t>(config.cluster.peers_timeout_s * 1000.0));
  Status status = dispatcher.WaitForPeers(options.rollout_workers, 1, peers_timeout);
  if (status.IsDeadlineExceeded()) {
    char limit[32];
    std::snprintf(limit, sizeof limit, "%g", config.cluster.peers_timeout_s);
    status = Status::DeadlineExceeded(status.message() + " (cluster.peers_timeout_s is " + limit +
                                      " s: raise it if the ranks start slowly)");
  }
  std::optional<orchestrator::JobRunner> runner;
  if (status.ok()) {
    runner.emplace(config, run, dispatcher, std::move(grade), tokenizer);
    g_runner = &*runner;
    if (live) {
      live->AttachRunner(&*runner);
      live->SetState("running");
    }
    // SIGUSR1 too: mpirun forwards it to every rank (scorch submit turns Ctrl-C into it),
    // whereas its own SIGINT/SIGTERM handling kills the ranks before they can stop.
    auto previous_int = std::signal(SIGINT, OnStopSignal);
    auto previous_term = std::signal(SIGTERM, OnStopSignal);
    auto previous_usr1 = std::signal(SIGUSR1, OnStopSignal);
    try {
      status = runner->Run(state);
    } catch (const std::exception& e) {
      status = Status::Internal(std::string("orchestrator: ") + e.what());
    }
    std::signal(SIGINT, previous_int);
    std::signal(SIGTERM, previous_term);
    std::signal(SIGUSR1, previous_usr1);
    g_runner = nullptr;
  }
  const std::string reason = status.ok()                                ? "job finished"
                             : status.code() == StatusCode::kCancelled ? "job stopped"
                                                                       : "job failed";
  if (live) {
    live->DetachRunner();
    live->SetState(status.ok() ? "finished" : "failed");
  }
  dispatcher.Shutdown(reason, /*drain=*/false, std::chrono::seconds(1));
  if (options.after_shutdown) options.after_shutdown(status);
  if (options.workers_done) {
    // A worker the dispatcher had declared lost (hung, then released) only hears a Shutdown
    // sent after it speaks again: repeat it, bounded, until every worker has ended. Each round
    // gives the workers 200 ms (they return as soon as they read the message); 25 rounds bound
    // the wait to 5 s.
    for (int round = 0; round < 25 && !options.workers_done(); ++round) {
      for (int tick = 0; tick < 20 && !options.workers_done(); ++tick) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
      }
      if (!options.workers_done()) dispatcher.Shutdown(reason, /*drain=*/false, std::chrono::milliseconds(200));
    }
  }
  if (live) live.reset();
  // The outcome in a file: under mpirun with recovery enabled (so that a dead worker does not
  // end the job) mpirun's exit code is 0 whatever happened, and `scorch submit` reads this.
  const char* outcome_state = status.ok() ? "finished" : status.code() == StatusCode::kCancelled ? "stopped" : "failed";
  nlohmann::json outcome = {{"state", outcome_state},
                            {"error", status.ok() ? "" : status.ToString()},
                            {"pid", static_cast<int64_t>(::getpid())},
                            {"finished_unix", std::chrono::duration<double>(
                                                  std::chrono::system_clock::now().time_since_epoch())
                                                  .count()}};
  if (Status w = AtomicWriteFile(run.root() / "outcome.json", outcome.dump(2) + "\n"); !w.ok()) {
    SCORCH_LOG(WARNING) << "cannot write outcome.json: " << w;
  }
  return status;
}

}  // namespace scorch::app
