// `scorch run JOB.yaml`: runs a whole job, every role in this process (embedded_job.h).
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "commands.h"
#include "embedded_job.h"
#include "mpi_job.h"

namespace scorch::app {

void RegisterRunCommand(CLI::App& app) {
  auto options = std::make_shared<EmbeddedJobOptions>();
  auto* cmd = app.add_subcommand("run", "Run a job: its stages in order, every role in this process");
  cmd->footer(
      "\nA job is a YAML file (see configs/quickstart.yaml): a model, a task, and stages run in order\n"
      "(sft, collect, grpo, eval). Everything lands in runs/<job.name>/: config.yaml, metrics.jsonl\n"
      "(one line per step), logs/, rollouts/, eval/NN-<stage>.json, data/ and checkpoints/.\n\n"
      "Examples:\n"
      "  scorch run configs/quickstart.yaml\n"
      "  scorch run configs/quickstart.yaml --set job.name=try2 --set stages.4.steps=20\n"
      "  scorch run --resume runs/quickstart          # continue from the latest checkpoint\n\n"
      "Ctrl-C stops after the current step; --resume continues from the last checkpoint.\n\n"
      "Under mpirun (mpirun -np N scorch run job.yaml) each rank takes one role from cluster.roles:\n"
      "rank 0 the orchestrator, then the learners, the reward services and the rollout workers;\n"
      "N must equal their sum. scorch submit job.yaml prints the right mpirun line.\n");
  cmd->add_option("config", options->config_path, "job YAML file (optional with --resume)");
  cmd->add_option("--set", options->overrides, "override a config value, e.g. --set stages.0.steps=10")
      ->type_name("KEY=VALUE");
  cmd->add_option("--resume", options->resume_dir, "continue the run in this folder from its latest checkpoint")
      ->type_name("RUN_DIR");
  cmd->callback([options] {
    if (options->config_path.empty() && options->resume_dir.empty()) {
      std::fprintf(stderr, "scorch run: give a job file (scorch run configs/quickstart.yaml) or --resume RUN_DIR\n");
      throw CommandExit{2};
    }
    options->argv = {"scorch", "run"};
    if (!options->config_path.empty()) options->argv.push_back(options->config_path);
    for (const auto& o : options->overrides) options->argv.push_back("--set=" + o);
    if (!options->resume_dir.empty()) options->argv.push_back("--resume=" + options->resume_dir);
    // Under mpirun with several ranks each rank takes its role from cluster.roles.
    const auto launcher = LauncherEnvironment();
    Status status = launcher && launcher->world_size > 1 ? RunMpiJob(MpiJobOptions{*options, std::nullopt})
                                                         : RunEmbeddedJob(*options);
    if (!status.ok()) {
      std::fprintf(stderr, "scorch run: %s\n", status.ToString().c_str());
      throw CommandExit{1};
    }
  });
}

}  // namespace scorch::app
