// Placeholder registration until the model issue (3) lands `scorch tokenize`.
#include <cstdio>

#include "commands.h"

namespace scorch::app {

void RegisterTokenizeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Tokenize text with a tokenizer.json [not built yet]");
  cmd->allow_extras();
  cmd->callback([] {
    std::fprintf(stderr, "scorch tokenize: not built yet (tracked in issue 3). Nothing was run.\n");
    throw CommandExit{2};
  });
}

}  // namespace scorch::app
