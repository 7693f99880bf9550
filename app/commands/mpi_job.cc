// A job under mpirun, one role per rank; see mpi_job.h.
#include "mpi_job.h"

#ifdef SCORCH_HAVE_MPI
#define OMPI_SKIP_MPICXX 1  // the C API only (the C++ bindings need libmpi_cxx)
#include <mpi.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <cstdio>
#include <filesystem>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "job_parts.h"
#include "orchestrator_watch.h"
#include "scorch/common/bounded_call.h"
#include "scorch/common/checkpoint_dir.h"
#include "scorch/common/logging.h"
#include "scorch/learner/communicator.h"
#include "scorch/learner/learner_group.h"
#include "scorch/learner/learner_service.h"
#include "scorch/learner/mpi_world.h"
#include "scorch/model/torch_runtime.h"
#include "scorch/orchestrator/grade_client.h"
#include "scorch/reward/zmq_service.h"
#include "scorch/rollout/worker_process.h"
#endif

namespace scorch::app {

#ifndef SCORCH_HAVE_MPI

Status RunMpiJob(const MpiJobOptions&) {
  return Status::Unimplemented("this scorch was built without MPI (configure with -DSCORCH_WITH_MPI=ON)");
}

#else

namespace {

namespace fs = std::filesystem;
using config::RunConfig;
using nlohmann::json;

constexpr int kTagJobOver = 7101;  // orchestrator -> reward ranks: the job is over
constexpr std::chrono::milliseconds kFinalizeLimit{20000};
constexpr int kFinalizeHungExit = 4;

// MPI for the life of the call: initialised FUNNELED (only this thread calls MPI), finalised at
// the end unless someone else had initialised it.
class MpiSession {
 public:
  Status Init() {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return Status::Ok();
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      return Status::Unavailable("MPI_Init_thread failed");
    }
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    ours_ = true;
    return Status::Ok();
  }
  // MPI_Finalize can wait for ever on a rank that died under --enable-recovery (measured:
  // now and then the job had finished and written outcome.json, yet a rank never left
  // MPI_Finalize and mpirun waited on it). Bounded: past the limit the rank exits anyway.
  ~MpiSession() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!ours_ || finalized) return;
    RunBounded([] { MPI_Finalize(); }, kFinalizeLimit, [] {
      std::fprintf(stderr,
                   "scorch: MPI_Finalize has not returned after %lld s (a rank of the job died?); this rank "
                   "exits without it (exit %d); the job's outcome is in RUN_DIR/outcome.json\n",
                   static_cast<long long>(kFinalizeLimit.count() / 1000), kFinalizeHungExit);
      std::fflush(stderr);
      std::_Exit(kFinalizeHungExit);
    });
  }

 private:
  bool ours_ = false;
};

// One JSON document from every rank, in world-rank order.
StatusOr<std::vector<json>> AllGather(const json& mine) {
  const std::string bytes = mine.dump();
  int size = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  int length = static_cast<int>(bytes.size());
  std::vector<int> lengths(static_cast<size_t>(size));
  if (MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD) != MPI_SUCCESS) {
    return Status::Unavailable("MPI_Allgather of the start-up records failed");
  }
  std::vector<int> offsets(static_cast<size_t>(size));
  int total = 0;
  for (int r = 0; r < size; ++r) {
    offsets[static_cast<size_t>(r)] = total;
    total += lengths[static_cast<size_t>(r)];
  }
  std::string all(static_cast<size_t>(total), '\0');
  if (MPI_Allgatherv(bytes.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                     MPI_COMM_WORLD) != MPI_SUCCESS) {
    return Status::Unavailable("MPI_Allgatherv of the start-up records failed");
  }
  std::vector<json> out;
  for (int r = 0; r < size; ++r) {
    json j = json::parse(all.substr(static_cast<size_t>(offsets[static_cast<size_t>(r)]),
                                    static_cast<size_t>(lengths[static_cast<size_t>(r)])),
                         nullptr, false);
    if (j.is_discarded()) return Status::Internal("rank " + std::to_string(r) + " sent an unreadable start-up record");
    out.push_back(std::move(j));
  }
  return out;
}

// The first failure among the gathered records, as this rank's error.
Status FirstFailure(const std::vector<json>& records) {
  for (size_t r = 0; r < records.size(); ++r) {
    if (!records[r].value("ok", false)) {
      return Status::FailedPrecondition("rank " + std::to_string(r) + " (" + records[r].value("role", "?") +
                                        ") could not start: " + records[r].value("error", "unknown error"));
    }
  }
  return Status::Ok();
}

// Grades through the reward ranks, spreading requests over them; a rank that fails is skipped
// for that request (the GradeClient already retried it).
class RewardRanksGrader {
 public:
  static StatusOr<std::unique_ptr<RewardRanksGrader>> Connect(const std::vector<std::string>& endpoints) {
    auto g = std::unique_ptr<RewardRanksGrader>(new RewardRanksGrader());
    for (const auto& e : endpoints) {
      orchestrator::GradeClientOptions o;
      o.endpoint = e;
      SCORCH_ASSIGN_OR_RETURN(auto client, orchestrator::GradeClient::Connect(o));
      g->clients_.push_back(std::move(client));
    }
    return g;
  }
  StatusOr<proto::GradeReply> Grade(const proto::GradeRequest& request) {
    std::lock_guard<std::mutex> lock(mu_);
    Status last = Status::Unavailable("no reward rank");
    for (size_t i = 0; i < clients_.size(); ++i) {
      auto& client = clients_[(next_ + i) % clients_.size()];
      auto reply = client->Grade(request);
      if (reply.ok()) {
        next_ = (next_ + i + 1) % clients_.size();
        return reply;
      }
      last = reply.status();
      SCORCH_LOG(WARNING) << "reward rank " << (next_ + i) % clients_.size() << ": " << last << "; trying the next";
    }
    return last;
  }

 private:
  RewardRanksGrader() = default;
  std::mutex mu_;
  std::vector<std::unique_ptr<orchestrator::GradeClient>> clients_;
  size_t next_ = 0;
};

// What start-up leaves each role.
struct Layout {
  int world_rank = 0;
  int world_size = 1;
  int local_rank = 0;
  RankPlace place;
  std::vector<RankRole> roles;  // by world rank
  int orchestrator_rank = 0;
  std::string control_endpoint;
  std::string token;
  std::vector<int> reward_ranks;
  std::vector<std::string> reward_endpoints;
  int count(RankRole r) const {
    int n = 0;
    for (RankRole x : roles) n += x == r ? 1 : 0;
    return n;
  }
};

std::string ConfigPathOf(const MpiJobOptions& options) {
  if (options.job.config_path.empty() && !options.job.resume_dir.empty()) {
    return (fs::path(options.job.resume_dir) / "config.yaml").string();
  }
  return options.job.config_path;
}

fs::path RunRootOf(const MpiJobOptions& options, const RunConfig& config) {
  return fs::absolute(options.job.resume_dir.empty() ? fs::path(config.job.runs_dir) / config.job.name
                                                     : fs::path(options.job.resume_dir));
}

void InitRankLogging(const RunConfig& config, const fs::path& logs_dir, const Layout& layout) {
  log::LogOptions o;
  log::ParseLevel(config.logging.level, &o.min_level);
  o.verbosity = config.logging.verbosity;
  o.log_dir = logs_dir;
  o.color = config.logging.color;
  log::InitLogging(o);
  log::SetProcessIdentity(RankRoleName(layout.place.role), layout.place.role_rank);
}

Status RunOrchestratorRank(const MpiJobOptions& options, const RunConfig& config, RunDirectory& run,
                           orchestrator::Dispatcher& dispatcher, JobGrader& local_grader, const Layout& layout) {
  SCORCH_ASSIGN_OR_RETURN(auto tokenizer, LoadJobTokenizer(config));
  ResumePoint resume_point;
  if (!options.job.resume_dir.empty()) {
    SCORCH_ASSIGN_OR_RETURN(resume_point, FindResumePoint(run.checkpoints_dir(), config));
  }
  std::unique_ptr<RewardRanksGrader> remote;
  orchestrator::GradeFn grade;
  if (!layout.reward_endpoints.empty()) {
    SCORCH_ASSIGN_OR_RETURN(remote, RewardRanksGrader::Connect(layout.reward_endpoints));
    grade = [&remote](const proto::GradeRequest& r) { return remote->Grade(r); };
  } else {
    grade = [&local_grader](const proto::GradeRequest& r) { return local_grader.Grade(r); };
  }
  SCORCH_LOG(INFO) << "mpirun layout: " << layout.world_size << " ranks: orchestrator, "
                   << layout.count(RankRole::kLearner) << " learner(s), " << layout.count(RankRole::kReward)
                   << " reward service(s)" << (layout.reward_endpoints.empty() ? " (grading in process)" : "") << ", "
                   << layout.count(RankRole::kRollout) << " rollout worker(s); control plane "
                   << layout.control_endpoint << "; elastic workers join with scorch rollout --connect "
                   << layout.control_endpoint << " --token-file " << (run.root() / "join.token").string();
  OrchestratorRoleOptions role_options;
  role_options.rollout_workers = layout.count(RankRole::kRollout);
  Status status =
      RunOrchestratorRole(config, run, dispatcher, grade, *tokenizer, resume_point.state, role_options);
  // The reward ranks end when told; an eager send of one int does not wait for them.
  for (int r : layout.reward_ranks) {
    int code = status.ok() ? 0 : 1;
    MPI_Send(&code, 1, MPI_INT, r, kTagJobOver, MPI_COMM_WORLD);
  }
  RemoveJoinInfo(run);
  if (status.ok()) SCORCH_LOG(INFO) << "job " << config.job.name << " finished: " << run.root().string();
  return status;
}

// The model files every rank reads, checked before the ranks agree to start: a path that is
// missing on one host fails every rank at once, naming the host, instead of leaving the
// orchestrator waiting for a learner or worker that already gave up.
Status CheckModelFilesReadable(const config::ModelSection& model) {
  const bool from_dir = !model.path.empty();
  const fs::path file = from_dir ? fs::path(model.path) / "config.json" : fs::path(model.init_config);
  std::ifstream in(file);
  if (in) return Status::Ok();
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  std::error_code ec;
  return Status::NotFound(std::string(from_dir ? "model.path" : "model.init_config") + ": cannot read " +
                          file.string() + " on host " + host + " (relative paths are read from the directory the "
                          "rank started in, " + fs::current_path(ec).string() + "; mpirun starts ranks where it was "
                          "run, or in --wdir DIR)");
}

// One learner rank. A single learner talks to the orchestrator on its own; with
// cluster.roles.learner = m > 1 the m ranks form a LearnerGroup over their own communicator
// (the MPI_Comm_split part): rank 0 of it leads (the LearnerService the orchestrator sees),
// the others follow its commands, and every step is one data-parallel step of the global batch.
Status RunLearnerRank(const MpiJobOptions& options, const RunConfig& config, const fs::path& root,
                      const Layout& layout, MPI_Comm learners) {
  int group_size = 1, group_rank = 0;
  MPI_Comm_size(learners, &group_size);
  MPI_Comm_rank(learners, &group_rank);
  OrchestratorWatch watch(layout.control_endpoint);
  SCORCH_ASSIGN_OR_RETURN(StartingPolicy start, LoadStartingPolicy(config));
  const int threads = model::ConfigureTorchThreads(config.job.threads);
  const fs::path checkpoints = root / "checkpoints";
  std::optional<fs::path> resume_from;
  if (!options.job.resume_dir.empty()) {
    if (auto latest = LatestCheckpoint(checkpoints); latest.ok()) resume_from = *latest;
  }
  auto stage_lookup = [&config, &root](const std::string& stage) { return StageTrainingOf(config, root, stage); };

  std::unique_ptr<learner::Communicator> comm;
  std::optional<learner::LearnerGroup> group;
  std::optional<learner::Trainer> trainer;
  if (group_size > 1) {
    learner::SetCommunicatorWorld(learners);
    learner::CommunicatorConfig cc;
    cc.backend = config.learner.backend;
    // GPU placement: the nccl backend binds GPU (index among the learners on this host) %
    // (visible GPUs), so the learners of a host take its GPUs in order, whatever other roles
    // share the host.
    MPI_Comm host_learners = MPI_COMM_NULL;
    if (MPI_Comm_split_type(learners, MPI_COMM_TYPE_SHARED, group_rank, MPI_INFO_NULL, &host_learners) ==
        MPI_SUCCESS) {
      MPI_Comm_rank(host_learners, &cc.local_rank);
      MPI_Comm_free(&host_learners);
    }
    auto made = learner::CreateCommunicator(cc);
    learner::SetCommunicatorWorld(MPI_COMM_NULL);
    if (!made.ok()) {
      return Status::FailedPrecondition("learner rank " + std::to_string(group_rank) + ": learner.backend " +
                                        cc.backend + ": " + made.status().ToString());
    }
    comm = std::move(*made);
    trainer.emplace(start.policy, comm.get());
    group.emplace(*trainer, *comm, stage_lookup, learner::LearnerGroupConfig{});
  } else {
    trainer.emplace(start.policy);
  }
  if (group && !group->is_leader()) {
    SCORCH_LOG(INFO) << "learner rank " << group_rank << " (pid " << ::getpid() << ", local rank " << layout.local_rank
                     << ", LibTorch threads " << threads << ") follows learner 0 over " << comm->backend() << " ("
                     << group_size << " data-parallel ranks)";
    try {
      return group->RunFollower(resume_from);
    } catch (const std::exception& e) {
      return Status::Internal(std::string("learner follower: ") + e.what());
    }
  }
  learner::LearnerServiceConfig c;
  c.endpoint = layout.control_endpoint;
  c.rank = layout.place.role_rank;
  c.token = layout.token;
  c.checkpoints_dir = checkpoints;
  c.resume_from = resume_from;
  c.checkpoint.keep_last = config.learner.keep_checkpoints;
  c.group = group ? &*group : nullptr;
  // Rollout ranks are other processes (often other hosts): weights travel as files.
  c.publish.transport = proto::WeightsTransport::kFile;
  c.publish.dir = (root / "weights").string();
  if (config.learner.weights_transport != "file") {
    SCORCH_LOG(INFO) << "learner.weights_transport " << config.learner.weights_transport
                     << " only works inside one process: under mpirun weights travel as files in " << c.publish.dir;
  }
  SCORCH_LOG(INFO) << "learner rank " << c.rank << " (pid " << ::getpid() << ", local rank " << layout.local_rank
                   << ", LibTorch threads " << threads << ") connecting to " << c.endpoint
                   << (group ? " as the leader of " + std::to_string(group_size) + " data-parallel learners over " +
                                   comm->backend()
                             : std::string());
  learner::LearnerService service(c, *trainer, start.model_config, stage_lookup);
  try {
    return service.Run();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("learner: ") + e.what());
  }
}

Status RunRewardRank(reward::ZmqGradeService& service, const Layout& layout) {
  OrchestratorWatch watch(layout.control_endpoint);
  SCORCH_LOG(INFO) << "reward service rank " << layout.place.role_rank << " (pid " << ::getpid() << ") serving at "
                   << service.endpoint();
  while (true) {
    int arrived = 0;
    MPI_Status st;
    if (MPI_Iprobe(layout.orchestrator_rank, kTagJobOver, MPI_COMM_WORLD, &arrived, &st) != MPI_SUCCESS) {
      return Status::Unavailable("MPI_Iprobe for the end of the job failed");
    }
    if (arrived) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  int code = 0;
  MPI_Recv(&code, 1, MPI_INT, layout.orchestrator_rank, kTagJobOver, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  SCORCH_LOG(INFO) << "reward service: the job is over; served " << service.requests_served() << " request(s)";
  service.Stop();
  return Status::Ok();
}

Status RunRolloutRank(const MpiJobOptions& options, const Layout& layout) {
  OrchestratorWatch watch(layout.control_endpoint);
  rollout::WorkerProcessOptions o;
  o.endpoint = layout.control_endpoint;
  o.config_path = ConfigPathOf(options);
  o.overrides = options.job.resume_dir.empty() ? options.job.overrides : std::vector<std::string>{};
  o.rank = layout.place.role_rank;
  o.token = layout.token;
  SCORCH_LOG(INFO) << "rollout rank " << o.rank << " (pid " << ::getpid() << ") connecting to " << o.endpoint;
  return rollout::RunWorkerProcess(o);
}

}  // namespace

Status RunMpiJob(const MpiJobOptions& options) {
  const auto env = LauncherEnvironment();
  if (!env) return Status::FailedPrecondition("not started by mpirun (no OMPI_COMM_WORLD_RANK / PMI_RANK)");
  Layout layout;
  layout.world_rank = env->world_rank;
  layout.world_size = env->world_size;
  layout.local_rank = env->local_rank;

  // SIGUSR1 is the graceful stop mpirun forwards to every rank (scorch submit sends it on
  // Ctrl-C): the orchestrator takes it once its job loop runs; every other rank, whose default
  // action would be to die, ignores it and ends when the orchestrator shuts the job down.
  std::signal(SIGUSR1, SIG_IGN);
  // 1. Config and role; graders fork now, before MPI's threads exist.
  Status ready = Status::Ok();
  RunConfig config;
  std::unique_ptr<JobGrader> grader;
  {
    auto loaded = config::LoadRunConfig(ConfigPathOf(options), options.job.overrides);
    if (!loaded.ok()) {
      ready = loaded.status();
    } else {
      config = std::move(*loaded);
      ready = orchestrator::ValidateJob(config);
    }
    if (ready.ok()) ready = CheckModelFilesReadable(config.model);
    StatusOr<reward::RewardConfig> reward_config = Status::Internal("not read");
    if (ready.ok()) {
      reward_config = RewardOf(config.reward);
      ready = reward_config.status();
    }
    if (ready.ok()) {
      if (options.role) {
        layout.place.role = *options.role;
      } else {
        auto place = PlaceOfRank(config.cluster.roles, layout.world_rank, layout.world_size);
        if (place.ok()) layout.place = *place;
        ready = place.status();
      }
    }
    if (ready.ok() && (layout.place.role == RankRole::kOrchestrator || layout.place.role == RankRole::kReward)) {
      auto g = CreateJobGrader(config, *reward_config);
      if (g.ok()) grader = std::move(*g);
      ready = g.status();
    }
  }

  // 2. MPI, and every rank's role and readiness.
  MpiSession mpi;
  SCORCH_RETURN_IF_ERROR(mpi.Init());
  json mine = {{"role", RankRoleName(layout.place.role)}, {"role_id", static_cast<int>(layout.place.role)},
               {"ok", ready.ok()}, {"error", ready.ok() ? "" : ready.ToString()}};
  SCORCH_ASSIGN_OR_RETURN(std::vector<json> first, AllGather(mine));
  if (!ready.ok()) return ready;
  SCORCH_RETURN_IF_ERROR(FirstFailure(first));
  std::vector<int> seen(kNumRankRoles, 0);
  for (int r = 0; r < layout.world_size; ++r) {
    const auto role = static_cast<RankRole>(first[static_cast<size_t>(r)].value("role_id", 0));
    layout.roles.push_back(role);
    if (role == RankRole::kOrchestrator) layout.orchestrator_rank = r;
    if (r == layout.world_rank) layout.place.role_rank = seen[static_cast<int>(role)];
    ++seen[static_cast<int>(role)];
  }
  if (layout.count(RankRole::kOrchestrator) != 1 || layout.count(RankRole::kLearner) < 1) {
    return Status::InvalidArgument("an mpirun job needs exactly one orchestrator rank and at least one learner rank; "
                                   "this one has " + std::to_string(layout.count(RankRole::kOrchestrator)) +
                                   " and " + std::to_string(layout.count(RankRole::kLearner)));
  }

  // 3. The orchestrator binds the control plane, reward ranks their services; everyone learns
  // the endpoints and the token.
  const fs::path root = RunRootOf(options, config);
  std::optional<RunDirectory> run;
  std::unique_ptr<orchestrator::Dispatcher> dispatcher;
  std::unique_ptr<reward::ZmqGradeService> reward_service;
  json record = {{"role", RankRoleName(layout.place.role)}, {"ok", true}};
  auto bind = [&]() -> Status {
    const std::string host = config.cluster.bind_host;
    if (layout.place.role == RankRole::kOrchestrator) {
      const bool resume = !options.job.resume_dir.empty();
      SCORCH_ASSIGN_OR_RETURN(run, RunDirectory::Open(root, resume ? RunDirectory::Mode::kResume
                                                                     : RunDirectory::Mode::kCreate));
      if (!resume) SCORCH_RETURN_IF_ERROR(run->WriteResolvedConfig(config::ResolvedConfigYaml(config), options.job.argv));
      std::string source;
      SCORCH_ASSIGN_OR_RETURN(std::string token, JobToken(config, &source));
      const std::string port = config.cluster.control_port > 0 ? std::to_string(config.cluster.control_port) : "*";
      SCORCH_ASSIGN_OR_RETURN(dispatcher, orchestrator::Dispatcher::Bind(
                                              DispatcherOptionsOf(config, "tcp://" + host + ":" + port, token)));
      SCORCH_ASSIGN_OR_RETURN(std::string endpoint,
                              AdvertisedEndpoint(dispatcher->endpoint(), config.cluster.advertise_host));
      SCORCH_RETURN_IF_ERROR(WriteJoinInfo(*run, endpoint, token));
      record["endpoint"] = endpoint;
      record["token"] = token;
    } else if (layout.place.role == RankRole::kReward) {
      reward::ZmqGradeServiceOptions o;
      o.endpoint = "tcp://" + host + ":*";
      reward_service = std::make_unique<reward::ZmqGradeService>(o, grader->api.get());
      SCORCH_RETURN_IF_ERROR(reward_service->Start());
      SCORCH_ASSIGN_OR_RETURN(std::string endpoint,
                              AdvertisedEndpoint(reward_service->endpoint(), config.cluster.advertise_host));
      record["endpoint"] = endpoint;
    }
    return Status::Ok();
  };
  Status bound = bind();
  if (!bound.ok()) record = {{"role", RankRoleName(layout.place.role)}, {"ok", false}, {"error", bound.ToString()}};
  SCORCH_ASSIGN_OR_RETURN(std::vector<json> second, AllGather(record));
  if (!bound.ok()) return bound;
  SCORCH_RETURN_IF_ERROR(FirstFailure(second));
  layout.control_endpoint = second[static_cast<size_t>(layout.orchestrator_rank)].value("endpoint", "");
  layout.token = second[static_cast<size_t>(layout.orchestrator_rank)].value("token", "");
  for (int r = 0; r < layout.world_size; ++r) {
    if (layout.roles[static_cast<size_t>(r)] != RankRole::kReward) continue;
    layout.reward_ranks.push_back(r);
    layout.reward_endpoints.push_back(second[static_cast<size_t>(r)].value("endpoint", ""));
  }

  // 4. The learners' own communicator (every rank takes part in the split).
  MPI_Comm learners = MPI_COMM_NULL;
  if (MPI_Comm_split(MPI_COMM_WORLD, layout.place.role == RankRole::kLearner ? 0 : MPI_UNDEFINED,
                     layout.world_rank, &learners) != MPI_SUCCESS) {
    return Status::Unavailable("MPI_Comm_split for the learners failed");
  }

  InitRankLogging(config, root / "logs", layout);
  Status status;
  switch (layout.place.role) {
    case RankRole::kOrchestrator:
      status = RunOrchestratorRank(options, config, *run, *dispatcher, *grader, layout);
      break;
    case RankRole::kLearner:
      status = RunLearnerRank(options, config, root, layout, learners);
      break;
    case RankRole::kReward:
      status = RunRewardRank(*reward_service, layout);
      break;
    case RankRole::kRollout:
      status = RunRolloutRank(options, layout);
      break;
  }
  if (!status.ok()) SCORCH_LOG(ERROR) << RankRoleName(layout.place.role) << " rank " << layout.place.role_rank
                                      << " stopped: " << status;
  if (learners != MPI_COMM_NULL) MPI_Comm_free(&learners);
  return status;
}

#endif  // SCORCH_HAVE_MPI

}  // namespace scorch::app
