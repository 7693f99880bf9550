// Registration of the `scorch` subcommands. Each Register* function lives in its own file
// under commands/ and adds one group of subcommands to the root CLI11 app.
//
// A subcommand's callback reports failure by throwing CommandExit{code}; main() turns it
// into the process exit code. Errors are printed by the command itself, naming the problem.
#pragma once

#include <CLI/CLI.hpp>

namespace scorch::app {

// Thrown from a subcommand callback to end the program with `code`.
struct CommandExit {
  int code;
};

void RegisterVersionCommand(CLI::App& app);   // version
void RegisterDoctorCommand(CLI::App& app);    // doctor
void RegisterConfigCommands(CLI::App& app);   // config check
void RegisterModelCommands(CLI::App& app);    // model init|info
void RegisterTokenizeCommand(CLI::App& app);  // tokenize
void RegisterGradeCommand(CLI::App& app);     // grade
void RegisterRewardCommands(CLI::App& app);   // reward serve
void RegisterGenerateCommand(CLI::App& app);  // generate
void RegisterRolloutCommand(CLI::App& app);   // rollout
void RegisterRunCommand(CLI::App& app);       // run
void RegisterRoleCommands(CLI::App& app);     // orchestrator, learner (mpirun MPMD ranks)
void RegisterInspectCommand(CLI::App& app);   // inspect
void RegisterStatusCommand(CLI::App& app);    // status
void RegisterSubmitCommand(CLI::App& app);    // submit: print and launch the mpirun command

}  // namespace scorch::app
