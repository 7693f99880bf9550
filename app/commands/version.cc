// `scorch version`: version, git hash, build type and the optional backends compiled in.
#include <cstdio>

#include "commands.h"
#include "scorch/common/version.h"

namespace scorch::app {

void RegisterVersionCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("version", "Print scorch's version, git hash and build");
  cmd->callback([] {
#ifdef SCORCH_HAVE_MPI
    const char* mpi = "yes";
#else
    const char* mpi = "no";
#endif
#ifdef SCORCH_HAVE_NCCL
    const char* nccl = "yes";
#else
    const char* nccl = "no";
#endif
    std::printf("scorch %s (git %s, %s build; MPI %s, NCCL %s)\n", kVersion, kGitHash,
                kBuildType, mpi, nccl);
  });
}

}  // namespace scorch::app
