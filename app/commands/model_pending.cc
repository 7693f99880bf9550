// Placeholder registration until the model issue (3) lands `scorch model init|info`.
#include <cstdio>

#include "commands.h"

namespace scorch::app {

void RegisterModelCommands(CLI::App& app) {
  auto* cmd = app.add_subcommand("model", "Create and describe model directories [not built yet]");
  cmd->allow_extras();
  cmd->callback([] {
    std::fprintf(stderr, "scorch model: not built yet (tracked in issue 3). Nothing was run.\n");
    throw CommandExit{2};
  });
}

}  // namespace scorch::app
