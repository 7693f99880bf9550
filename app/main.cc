// scorch: one binary, one subcommand per role or tool. `scorch --help` lists them.
#include <cstdio>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{
      "scorch — train language models to solve, check and correct their own answers\n"
      "(self-rewarding correction) with RL: SFT, GRPO, PPO and multi-turn DPO.\n\n"
      "Start with `scorch doctor` to see what this machine gives scorch, then\n"
      "`scorch config check configs/quickstart.yaml`."};
  app.require_subcommand(1);
  app.set_help_all_flag("--help-all", "Show help for every subcommand");
  scorch::app::RegisterVersionCommand(app);
  scorch::app::RegisterDoctorCommand(app);
  scorch::app::RegisterConfigCommands(app);
  scorch::app::RegisterModelCommands(app);
  scorch::app::RegisterTokenizeCommand(app);
  scorch::app::RegisterGradeCommand(app);
  scorch::app::RegisterRewardCommands(app);
  scorch::app::RegisterGenerateCommand(app);
  scorch::app::RegisterRolloutCommand(app);
  scorch::app::RegisterRunCommand(app);
  scorch::app::RegisterRoleCommands(app);
  scorch::app::RegisterInspectCommand(app);
  scorch::app::RegisterStatusCommand(app);
  scorch::app::RegisterSubmitCommand(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const scorch::app::CommandExit& e) {
    return e.code;
  }
  return 0;
}
