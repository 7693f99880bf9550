// `scorch rollout --connect ENDPOINT --config JOB.yaml [--model DIR] [--capacity N] [--rank R]
//                 [--token T] [--policy-version V] [--identity ID] [--threads N] [--set k=v]...`
//   Runs one rollout worker process against an orchestrator's ROUTER (rollout/worker_process.h):
//   builds the policy and tokenizer from the job yaml's model section (--model overrides
//   model.path), connects as a DEALER, says Hello, serves GenerateRequests with continuous
//   batching, applies announced weights between sequences, and exits when the orchestrator
//   sends Shutdown. Exit status 0 after Shutdown; 1 with a message naming the problem (config,
//   model, socket, weights) otherwise.
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "commands.h"
#include "mpi_job.h"
#include "orchestrator_watch.h"
#include "scorch/rollout/worker_process.h"

namespace scorch::app {
namespace {

struct RolloutArgs {
  rollout::WorkerProcessOptions options;
  std::string token;
  std::string token_file;
  int threads = -1;
  bool rank_given = false;  // --rank on the command line
};

// --token, else the first line of --token-file, else $SCORCH_TOKEN, else none.
std::optional<std::string> TokenOf(const RolloutArgs& a) {
  if (!a.token.empty()) return a.token;
  if (!a.token_file.empty()) {
    std::ifstream in(a.token_file);
    std::string line;
    if (!in || !std::getline(in, line) || line.empty()) {
      std::fprintf(stderr, "scorch rollout: --token-file %s: cannot read a token from it\n", a.token_file.c_str());
      throw CommandExit{1};
    }
    return line;
  }
  if (const char* env = std::getenv("SCORCH_TOKEN"); env != nullptr && *env != '\0') return std::string(env);
  return std::nullopt;
}

void RunRollout(RolloutArgs& a) {
  if (a.options.endpoint.empty()) {
    // No --connect: the rollout rank of an mpirun job (MPMD form); MPI says where to connect.
    if (!LauncherEnvironment()) {
      std::fprintf(stderr, "scorch rollout: give --connect tcp://HOST:PORT (or run it as a rank under mpirun)\n");
      throw CommandExit{2};
    }
    MpiJobOptions mpi;
    mpi.role = RankRole::kRollout;
    mpi.job.config_path = a.options.config_path;
    mpi.job.overrides = a.options.overrides;
    Status s = RunMpiJob(mpi);
    if (!s.ok()) {
      std::fprintf(stderr, "scorch rollout: %s\n", s.ToString().c_str());
      throw CommandExit{1};
    }
    return;
  }
  a.options.token = TokenOf(a);
  if (a.threads >= 0) a.options.threads = a.threads;
  if (!a.rank_given && a.options.identity.empty()) {
    // An elastic worker without --rank must not take a rank of the job's own (rollout-0 is
    // mpirun's first rollout rank, and the orchestrator hands a routing id over to whoever
    // says Hello with it last): a rank above any layout's, and a routing id unique per process.
    char host[256] = {0};
    ::gethostname(host, sizeof(host) - 1);
    a.options.rank = 100000 + static_cast<int>(::getpid() % 900000);
    a.options.identity = "rollout-" + std::string(host) + "-" + std::to_string(::getpid());
  }
  // An elastic worker's orchestrator may die without a word (SIGKILL, a lost host): without
  // the watch this process would wait for it forever.
  OrchestratorWatch watch(a.options.endpoint, "this worker");
  Status s = rollout::RunWorkerProcess(a.options);
  if (!s.ok()) {
    std::fprintf(stderr, "scorch rollout: %s\n", s.ToString().c_str());
    throw CommandExit{1};
  }
}

constexpr const char* kFooter = R"TXT(What it does:
  Starts ONE rollout worker. It loads the policy named by the job yaml's model section
  (model.path, or model.init_config initialised with job.seed, exactly like the learner's
  starting point; --model DIR replaces model.path), the tokenizer (model.tokenizer), and the
  rollout section (slots, max_seq_len, max_turns) and prompts section. Then it connects to the
  orchestrator's ROUTER at --connect as a DEALER with routing id rollout-<rank>, says Hello
  (role, rank, capacity, policy version, token), and serves GenerateRequests with continuous
  batching until the orchestrator sends Shutdown (drain: finishes accepted work first).

Weights:
  A WeightsAnnounce is applied only when no trajectory is in
  flight: requests that arrive after it wait, the in-flight ones finish on the old version,
  then the new weights are loaded and checked (size, sha256). Across processes the learner
  must publish with the `file` transport (learner.weights_transport: file) on a file system
  this host sees; `shared` only works inside one process. Every trajectory is stamped
  with the version that generated all of its tokens. Weights that fail to load end the
  process with status 1: a worker never serves on weights it could not load.

Joining a running job (elastic):
  A job whose control plane is tcp:// demands its token in every Hello; a worker without it,
  or with a wrong one, is refused (and the orchestrator logs who). The job writes its address
  to runs/NAME/control.addr and its token to runs/NAME/join.token (mode 0600). A worker may
  join at any time, and leave or die at any time: its unfinished work is handed to others.

Examples:
  scorch rollout --connect "$(cat runs/quickstart/control.addr)" --config configs/quickstart.yaml \
      --token-file runs/quickstart/join.token
  scorch rollout --connect tcp://10.0.0.5:5555 --config job.yaml --model /models/qwen-0.5b \
      --rank 3 --capacity 16 --token "$SCORCH_TOKEN" --set rollout.slots=16
)TXT";

}  // namespace

void RegisterRolloutCommand(CLI::App& app) {
  auto args = std::make_shared<RolloutArgs>();
  auto* cmd = app.add_subcommand("rollout", "Run a rollout worker connected to an orchestrator");
  auto& o = args->options;
  cmd->add_option("--connect", o.endpoint,
                  "Orchestrator ROUTER endpoint, e.g. tcp://HOST:PORT (leave out for a rank of an mpirun job)");
  cmd->add_option("--config", o.config_path, "Job yaml (model, rollout and prompts sections are used)")
      ->required()
      ->check(CLI::ExistingFile);
  cmd->add_option("--model", o.model_dir, "Model directory; overrides model.path of the job yaml");
  cmd->add_option("--capacity", o.capacity, "Work items accepted in flight (default: rollout.slots)")
      ->check(CLI::NonNegativeNumber);
  auto* rank = cmd->add_option("--rank", o.rank,
                               "Rank within the rollout role; routing id rollout-<rank> (default: a rank and an id "
                               "of this process's own, rollout-HOST-PID, that no rank of the job uses)")
                   ->check(CLI::NonNegativeNumber);
  cmd->add_option("--token", args->token, "The job's token, sent in Hello (default: --token-file, else $SCORCH_TOKEN)");
  cmd->add_option("--token-file", args->token_file, "Read the token from this file (runs/NAME/join.token)")
      ->check(CLI::ExistingFile);
  cmd->add_option("--policy-version", o.policy_version, "Version of the weights loaded at start (default 0)");
  cmd->add_option("--identity", o.identity, "DEALER routing id (default rollout-<rank>)");
  cmd->add_option("--threads", args->threads, "LibTorch threads (default: job.threads; 0 = all CPUs)");
  cmd->add_option("--set", o.overrides, "Override a job yaml key, e.g. --set rollout.slots=16 (repeatable)");
  cmd->footer(kFooter);
  cmd->callback([args, rank] {
    args->rank_given = rank->count() > 0;
    RunRollout(*args);
  });
}

}  // namespace scorch::app
