// Subcommands whose roles have not been built yet. Each says so plainly, names the issue
// that builds it, and exits with status 2; none prints made-up output.
#include <cstdio>

#include "commands.h"

namespace scorch::app {
namespace {

void AddPending(CLI::App& app, const char* name, const char* what, const char* issue) {
  auto* cmd = app.add_subcommand(name, std::string(what) + " [not built yet]");
  cmd->allow_extras();
  cmd->callback([name, issue] {
    std::fprintf(stderr,
                 "scorch %s: not built yet (tracked in %s). Nothing was run.\n", name, issue);
    throw CommandExit{2};
  });
}

}  // namespace

void RegisterPendingCommands(CLI::App& app) {
  AddPending(app, "submit", "Print and launch the mpirun command for a job", "issue 8");
}

}  // namespace scorch::app
