// Placeholder registration until the model issue (3) lands `model` and `tokenize`.
#include <cstdio>

#include "commands.h"

namespace scorch::app {

void RegisterModelCommands(CLI::App& app) {
  for (const char* name : {"model", "tokenize"}) {
    auto* cmd = app.add_subcommand(name, "Model and tokenizer tools [not built yet]");
    cmd->allow_extras();
    cmd->callback([name] {
      std::fprintf(stderr, "scorch %s: not built yet (tracked in issue 3). Nothing was run.\n", name);
      throw CommandExit{2};
    });
  }
}

}  // namespace scorch::app
