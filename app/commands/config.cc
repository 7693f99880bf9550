// `scorch config check FILE [--set a.b=v ...]`: validate a job config and print it resolved.
#include <cstdio>

#include "commands.h"

namespace scorch::app {

void RegisterConfigCommands(CLI::App& app) {
  auto* config = app.add_subcommand("config", "Work with job configs");
  config->require_subcommand(1);
  auto* check = config->add_subcommand("check", "Validate a job config and print it resolved [not built yet]");
  check->allow_extras();
  check->callback([] {
    std::fprintf(stderr, "scorch config check: not built yet (issue 2, in progress).\n");
    throw CommandExit{2};
  });
}

}  // namespace scorch::app
