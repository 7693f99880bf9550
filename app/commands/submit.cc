// `scorch submit JOB.yaml [--hosts FILE] [--dry-run] [--set k=v]... [--oversubscribe]
//                [--mpirun PATH] [--extra-mpi-args ARGS]... | --resume runs/NAME`
//   Loads and validates the job, works out its mpirun layout from cluster.roles (rank 0
//   orchestrator, then learners, reward services, rollout workers), prints which rank takes
//   which role (and, with a hostfile, on which host), prints the mpirun command, and then —
//   unless --dry-run — runs that mpirun as a child (signals are forwarded to it) and exits
//   with the job's outcome from RUN_DIR/outcome.json, not mpirun's exit code: with the
//   recovery flags a dead rank does not end the job, and mpirun then exits 0 whatever
//   happened. Exit status 0 finished; 130 stopped (resumable); 1 failed, or a bad job,
//   hostfile or slot count; 127 when mpirun cannot be started.
#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "mpirun_command.h"
#include "scorch/common/config/run_config.h"
#include "scorch/orchestrator/job_runner.h"

namespace scorch::app {
namespace {

namespace fs = std::filesystem;

// Forwarded to every rank with `-x` when set here (cluster.token "" reads it).
constexpr const char* kTokenEnv = "SCORCH_TOKEN";

struct SubmitArgs {
  std::string config_path;
  std::string resume_dir;
  std::string hostfile;
  std::vector<std::string> overrides;
  std::vector<std::string> extra_mpi_args;
  std::string mpirun = "mpirun";
  bool dry_run = false;
  bool oversubscribe = false;
};

[[noreturn]] void Fail(const std::string& message, int code = 1) {
  std::fprintf(stderr, "scorch submit: %s\n", message.c_str());
  throw CommandExit{code};
}

void Warn(const std::string& message) { std::fprintf(stderr, "scorch submit: warning: %s\n", message.c_str()); }

std::string Absolute(const std::string& path) { return fs::absolute(path).lexically_normal().string(); }

bool IsLoopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

// The pid of the running mpirun, for the signal handler (0 when none), and how many stop
// signals have arrived.
volatile sig_atomic_t g_mpirun_pid = 0;
volatile sig_atomic_t g_stop_signals = 0;

// mpirun answers SIGINT/SIGTERM by killing every rank at once, so the orchestrator could
// neither checkpoint nor write its outcome. The first SIGINT/SIGTERM/SIGHUP becomes SIGUSR1,
// which mpirun forwards to every rank and the orchestrator takes as "stop after this step";
// a second one is passed on as SIGTERM (stop now). mpirun runs in its own process group, so
// a terminal's Ctrl-C reaches only this process.
void ForwardSignal(int) {
  if (g_mpirun_pid <= 0) return;
  const bool first = g_stop_signals == 0;
  g_stop_signals = 1;
  static const char kFirst[] = "\nscorch submit: stopping the job after its current step (again to stop now)\n";
  static const char kAgain[] = "\nscorch submit: stopping now\n";
  (void)!::write(STDERR_FILENO, first ? kFirst : kAgain, first ? sizeof(kFirst) - 1 : sizeof(kAgain) - 1);
  ::kill(static_cast<pid_t>(g_mpirun_pid), first ? SIGUSR1 : SIGTERM);
}

// Runs mpirun as a child and returns its wait status. mpirun is not exec'd: with the recovery
// flags its exit code is 0 whatever the job did, so the job's own outcome.json decides ours.
int RunMpirun(const std::vector<std::string>& argv, const std::string& mpirun) {
  std::vector<std::string> copy = argv;
  std::vector<char*> cargv;
  for (auto& s : copy) cargv.push_back(s.data());
  cargv.push_back(nullptr);
  int exec_pipe[2];  // close-on-exec: EOF means exec worked, 4 bytes mean errno
  if (::pipe2(exec_pipe, O_CLOEXEC) != 0) Fail(std::string("pipe: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) Fail(std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    ::close(exec_pipe[0]);
    ::setpgid(0, 0);                      // the terminal's Ctrl-C is ours to translate
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);   // and mpirun does not outlive a killed submit
    if (const int null = ::open("/dev/null", O_RDONLY); null >= 0) ::dup2(null, STDIN_FILENO);  // no tty reads from a background group
    ::execvp(cargv[0], cargv.data());
    const int err = errno;
    (void)!::write(exec_pipe[1], &err, sizeof(err));
    ::_exit(127);
  }
  ::close(exec_pipe[1]);
  int exec_errno = 0;
  ssize_t got;
  do {
    got = ::read(exec_pipe[0], &exec_errno, sizeof(exec_errno));
  } while (got < 0 && errno == EINTR);
  ::close(exec_pipe[0]);
  if (got == static_cast<ssize_t>(sizeof(exec_errno))) {
    ::waitpid(pid, nullptr, 0);
    Fail("cannot run " + mpirun + ": " + std::strerror(exec_errno) +
             (exec_errno == ENOENT ? " (install OpenMPI, e.g. apt-get install openmpi-bin, or pass --mpirun PATH)" : ""),
         127);
  }
  g_mpirun_pid = pid;
  struct sigaction sa {};
  sa.sa_handler = ForwardSignal;
  sigemptyset(&sa.sa_mask);
  for (int signo : {SIGINT, SIGTERM, SIGHUP}) ::sigaction(signo, &sa, nullptr);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) Fail(std::string("waitpid(mpirun): ") + std::strerror(errno));
  }
  g_mpirun_pid = 0;
  return status;
}

// Exits with the job's outcome: 0 finished, 130 stopped by a signal (resumable with
// --resume), 1 failed or no outcome at all (a rank died before the orchestrator could write one).
void ReportOutcome(const fs::path& outcome_path, int mpirun_status) {
  const std::string how = WIFEXITED(mpirun_status) ? "exited with status " + std::to_string(WEXITSTATUS(mpirun_status))
                          : WIFSIGNALED(mpirun_status) ? std::string("was killed by signal ") + strsignal(WTERMSIG(mpirun_status))
                                                       : "ended";
  std::ifstream in(outcome_path);
  if (!in) {
    Fail("mpirun " + how + " and the job wrote no " + outcome_path.string() +
         ": it did not finish (see the ranks' logs in " + outcome_path.parent_path().string() + "/logs/)");
  }
  nlohmann::json outcome = nlohmann::json::parse(in, nullptr, /*allow_exceptions=*/false);
  const std::string state = outcome.is_object() ? outcome.value("state", "") : "";
  if (state == "finished") {
    std::printf("scorch submit: the job finished (%s)\n", outcome_path.parent_path().c_str());
    return;
  }
  if (state == "stopped") {
    Fail("the job was stopped; continue it with scorch submit --resume " + outcome_path.parent_path().string(), 130);
  }
  const std::string error = outcome.is_object() ? outcome.value("error", "") : "";
  Fail(state == "failed" ? "the job failed: " + error
                         : outcome_path.string() + " is not a job outcome (mpirun " + how + ")");
}

void RunSubmit(const SubmitArgs& a) {
  if (a.config_path.empty() && a.resume_dir.empty()) {
    Fail("give a job file (scorch submit configs/quickstart.yaml --dry-run) or --resume RUN_DIR", 2);
  }
  if (!a.config_path.empty() && !a.resume_dir.empty()) {
    Fail("give a job file or --resume RUN_DIR, not both (a resumed run uses RUN_DIR/config.yaml)", 2);
  }
  const std::string config_path =
      a.resume_dir.empty() ? a.config_path : (fs::path(a.resume_dir) / "config.yaml").string();
  auto loaded = config::LoadRunConfig(config_path, a.overrides);
  if (!loaded.ok()) Fail(loaded.status().ToString());
  const config::RunConfig& cfg = *loaded;
  if (Status s = orchestrator::ValidateJob(cfg); !s.ok()) Fail(s.ToString());
  const config::RolesConfig& roles = cfg.cluster.roles;
  const int np = roles.total();

  MpirunOptions o;
  o.mpirun = a.mpirun;
  std::error_code ec;
  o.scorch_binary = fs::read_symlink("/proc/self/exe", ec).string();
  if (ec) Fail("cannot find this scorch binary's path (/proc/self/exe): " + ec.message());
  if (a.resume_dir.empty()) {
    o.job_path = Absolute(a.config_path);
  } else {
    o.resume_dir = Absolute(a.resume_dir);
  }
  o.overrides = a.overrides;
  o.oversubscribe = a.oversubscribe;
  o.as_root = geteuid() == 0;
  const char* token = std::getenv(kTokenEnv);
  o.forward_token = token != nullptr && token[0] != '\0';
  for (const auto& text : a.extra_mpi_args) {
    auto words = SplitShellWords(text);
    if (!words.ok()) Fail("--extra-mpi-args: " + words.status().ToString(), 2);
    o.extra_args.insert(o.extra_args.end(), words->begin(), words->end());
  }
  if (Status s = CheckExtraMpiArgs(o.extra_args, np); !s.ok()) Fail("--extra-mpi-args: " + s.ToString(), 2);

  // Where the ranks land, and whether they fit.
  std::vector<std::string> placement;
  std::set<std::string> distinct_hosts;
  std::string slot_problem;
  if (!a.hostfile.empty()) {
    o.hostfile = Absolute(a.hostfile);
    auto hosts = LoadHostfile(a.hostfile);
    if (!hosts.ok()) Fail(hosts.status().ToString());
    for (const auto& h : *hosts) distinct_hosts.insert(h.host);
    const int slots = TotalSlots(*hosts);
    if (slots >= 0 && slots < np) {
      slot_problem = a.hostfile + " has " + std::to_string(slots) + " slots for " + std::to_string(np) + " ranks";
    }
    placement = MapRanksBySlot(*hosts, np);
    if (slots < 0) Warn(a.hostfile + ": a host has no slots=N (mpirun then counts its cores); the host column is left out");
  } else if (std::getenv("SLURM_JOB_ID") == nullptr) {
    const int cpus = static_cast<int>(std::thread::hardware_concurrency());
    if (cpus > 0 && cpus < np) {
      slot_problem = "this host has " + std::to_string(cpus) + " CPUs (mpirun's slots) for " + std::to_string(np) + " ranks";
    }
  }
  if (!slot_problem.empty() && !a.oversubscribe) {
    const std::string msg = slot_problem + ": mpirun refuses to start more ranks than slots. Add --oversubscribe "
                            "(ranks share cores), more slots, or fewer ranks (--set cluster.roles.rollout=N)";
    if (!a.dry_run) Fail(msg);
    Warn(msg);
  }
  if (IsLoopback(cfg.cluster.bind_host) && distinct_hosts.size() > 1) {
    Warn("cluster.bind_host is " + cfg.cluster.bind_host + " but the hostfile names " +
         std::to_string(distinct_hosts.size()) + " hosts: ranks on other hosts cannot dial it. Add "
         "--set cluster.bind_host=0.0.0.0 (see cluster/MULTINODE.md)");
  }
  if (roles.rollout == 0) Warn("cluster.roles.rollout is 0: no rollout ranks; the job waits for `scorch rollout --connect` workers");

  const std::vector<std::string> argv = BuildMpirunArgv(roles, o);
  std::printf("job %s: %d ranks = orchestrator %d + learner %d + reward %d + rollout %d\n", cfg.job.name.c_str(), np,
              roles.orchestrator, roles.learner, roles.reward, roles.rollout);
  std::printf("%s", FormatLayout(roles, placement).c_str());
  const std::string run_dir = Absolute((fs::path(cfg.job.runs_dir) / cfg.job.name).string());
  std::printf("run directory: %s%s\n", o.resume_dir.empty() ? run_dir.c_str() : o.resume_dir.c_str(),
              distinct_hosts.size() > 1 ? " (must be on a file system every host sees)" : "");
  std::printf("join token: %s\n", !cfg.cluster.token.empty() ? "cluster.token (from the job config)"
                                  : o.forward_token       ? "$SCORCH_TOKEN (forwarded to every rank with -x)"
                                                          : "generated by the orchestrator into <run directory>/join.token");
  std::printf("command:\n  %s\n", ShellJoin(argv).c_str());
  if (a.dry_run) {
    std::printf("dry run: nothing was started\n");
    return;
  }
  const fs::path outcome_path = fs::path(o.resume_dir.empty() ? run_dir : o.resume_dir) / "outcome.json";
  fs::remove(outcome_path, ec);  // a previous run's outcome must not stand in for this one's
  std::fflush(stdout);
  std::fflush(stderr);
  const int mpirun_status = RunMpirun(argv, a.mpirun);
  ReportOutcome(outcome_path, mpirun_status);
}

constexpr const char* kFooter = R"(What it does:
  Loads JOB.yaml (with the --set overrides) and checks it, then lays the job out over
  `mpirun -np N` ranks from cluster.roles, in this order: rank 0 the orchestrator, then
  cluster.roles.learner learners, cluster.roles.reward reward services, cluster.roles.rollout
  rollout workers; N is their sum. It prints which rank takes which role (with --hosts, on
  which host, under mpirun's default by-slot mapping), the run directory, where the join token
  comes from, and the mpirun command, then runs it and waits. Its exit status is the job's
  (RUN_DIR/outcome.json, written by the orchestrator): 0 finished, 130 stopped by a signal
  (continue with --resume), 1 failed or never finished. mpirun's own code says little: the
  recovery flags that keep a job alive when a rollout rank dies also make it exit 0 always.
  --dry-run stops after printing; the command can be copied as it is.

The command:
  mpirun -np N --enable-recovery --mca orte_abort_on_non_zero_status 0   a dead rollout rank
                                       does not end the job (the orchestrator re-queues its work)
         [--hostfile FILE] [--oversubscribe] [--allow-run-as-root (when run as root)]
         --bind-to none                each rank's threads may use every core
         [-x SCORCH_TOKEN]             when set here: every rank and joining worker shares it
         [--extra-mpi-args ...]        e.g. "--mca btl_tcp_if_include eth0"
         /path/to/scorch run /abs/JOB.yaml [--set K=V ...]

Hostfiles are OpenMPI's: `node1 slots=8 [max_slots=8]` per line, # comments. With more ranks
than slots scorch submit refuses unless --oversubscribe is given. Several hosts need
cluster.bind_host=0.0.0.0 and runs_dir on shared storage: see cluster/MULTINODE.md.

Examples:
  scorch submit configs/quickstart.yaml --dry-run --set cluster.roles.rollout=2
  scorch submit configs/quickstart.yaml --oversubscribe           # one machine, more ranks than cores
  scorch submit job.yaml --hosts cluster/hostfile --set cluster.bind_host=0.0.0.0 \
      --set job.runs_dir=/shared/runs --extra-mpi-args="--mca btl_tcp_if_include eth0"
  scorch submit --resume /shared/runs/myjob --hosts cluster/hostfile   # continue after a crash
)";

}  // namespace

void RegisterSubmitCommand(CLI::App& app) {
  auto args = std::make_shared<SubmitArgs>();
  auto* cmd = app.add_subcommand("submit", "Print and launch the mpirun command for a job (one rank per role)");
  cmd->add_option("config", args->config_path, "Job yaml (cluster.roles sets the ranks)")->check(CLI::ExistingFile);
  cmd->add_option("--hosts,--hostfile", args->hostfile, "OpenMPI hostfile: `host slots=N` per line")
      ->check(CLI::ExistingFile);
  cmd->add_flag("--dry-run", args->dry_run, "Print the layout and the command; start nothing");
  cmd->add_option("--set", args->overrides, "Override a job yaml key, e.g. --set cluster.roles.rollout=4 (repeatable)")
      ->type_name("KEY=VALUE")
      ->allow_extra_args(false);  // one KEY=VALUE per --set: the job file may follow
  cmd->add_flag("--oversubscribe", args->oversubscribe, "Allow more ranks than slots (ranks share cores)");
  cmd->add_option("--mpirun", args->mpirun, "mpirun to run (default: mpirun on PATH)")->type_name("PATH");
  cmd->add_option("--extra-mpi-args", args->extra_mpi_args,
                  "More mpirun options, split like a shell would, e.g. --extra-mpi-args=\"--mca btl_tcp_if_include eth0\"")
      ->type_name("ARGS")
      ->allow_extra_args(false);
  cmd->add_option("--resume", args->resume_dir, "Continue this run folder from its latest checkpoint (scorch run --resume)")
      ->type_name("RUN_DIR")
      ->check(CLI::ExistingDirectory);
  cmd->footer(kFooter);
  cmd->callback([args] { RunSubmit(*args); });
}

}  // namespace scorch::app
