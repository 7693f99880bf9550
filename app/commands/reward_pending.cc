// Placeholder registration until the reward issue (4) lands `grade` and `reward serve`.
#include <cstdio>

#include "commands.h"

namespace scorch::app {

void RegisterRewardCommands(CLI::App& app) {
  for (const char* name : {"grade", "reward"}) {
    auto* cmd = app.add_subcommand(name, "Math grading and the reward service [not built yet]");
    cmd->allow_extras();
    cmd->callback([name] {
      std::fprintf(stderr, "scorch %s: not built yet (tracked in issue 4). Nothing was run.\n", name);
      throw CommandExit{2};
    });
  }
}

}  // namespace scorch::app
