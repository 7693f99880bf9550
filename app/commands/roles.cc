// `scorch orchestrator JOB.yaml` and `scorch learner JOB.yaml`: one role of a job per mpirun
// rank, for the MPMD form (mpi_job.h):
//   mpirun -np 1 scorch orchestrator job.yaml : -np 2 scorch learner job.yaml
//          : -np 4 scorch rollout --config job.yaml   (one command line)
// (`scorch rollout` without --connect takes the rollout role the same way.) The SPMD form,
// `mpirun -np N scorch run job.yaml`, takes the roles from cluster.roles instead.
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "mpi_job.h"

namespace scorch::app {
namespace {

constexpr const char* kFooter = R"TXT(
Only under mpirun: this process is one rank of a job whose other ranks run the other roles.
The ranks find each other through MPI (the orchestrator's endpoint and the job token are
handed out at start-up); nothing is typed by hand. The run lands in runs/<job.name>/, with one
log per rank in logs/<role>-<rank>.log.

Example (one host, 6 ranks):
  mpirun -np 1 scorch orchestrator configs/quickstart.yaml \
       : -np 1 scorch learner configs/quickstart.yaml \
       : -np 4 scorch rollout --config configs/quickstart.yaml
A rank that dies ends the whole job unless mpirun is told otherwise; to keep going when a
rollout worker dies add: --enable-recovery --mca orte_abort_on_non_zero_status 0
(scorch submit prints a complete command line).
)TXT";

void RegisterRole(CLI::App& app, const char* name, const char* what, RankRole role) {
  auto options = std::make_shared<MpiJobOptions>();
  options->role = role;
  auto* cmd = app.add_subcommand(name, what);
  cmd->add_option("config", options->job.config_path, "job YAML file (optional with --resume)");
  cmd->add_option("--set", options->job.overrides, "override a config value (same on every rank)")
      ->type_name("KEY=VALUE");
  cmd->add_option("--resume", options->job.resume_dir, "continue the run in this folder from its latest checkpoint")
      ->type_name("RUN_DIR");
  cmd->footer(kFooter);
  cmd->callback([options, name] {
    if (options->job.config_path.empty() && options->job.resume_dir.empty()) {
      std::fprintf(stderr, "scorch %s: give a job file or --resume RUN_DIR\n", name);
      throw CommandExit{2};
    }
    if (!LauncherEnvironment()) {
      std::fprintf(stderr,
                   "scorch %s: this is one rank of an mpirun job (see --help); to run a whole job on this "
                   "machine use scorch run JOB.yaml\n",
                   name);
      throw CommandExit{2};
    }
    options->job.argv = {"scorch", name};
    if (!options->job.config_path.empty()) options->job.argv.push_back(options->job.config_path);
    for (const auto& o : options->job.overrides) options->job.argv.push_back("--set=" + o);
    Status status = RunMpiJob(*options);
    if (!status.ok()) {
      std::fprintf(stderr, "scorch %s: %s\n", name, status.ToString().c_str());
      throw CommandExit{1};
    }
  });
}

}  // namespace

void RegisterRoleCommands(CLI::App& app) {
  RegisterRole(app, "orchestrator", "Run the orchestrator rank of an mpirun job (MPMD form)", RankRole::kOrchestrator);
  RegisterRole(app, "learner", "Run a learner rank of an mpirun job (MPMD form)", RankRole::kLearner);
}

}  // namespace scorch::app
