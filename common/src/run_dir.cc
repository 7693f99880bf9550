#include "scorch/common/run_dir.h"

#include <unistd.h>

#include <chrono>
#include <nlohmann/json.hpp>

#include "scorch/common/atomic_file.h"
#include "scorch/common/version.h"

namespace scorch {
namespace fs = std::filesystem;

StatusOr<RunDirectory> RunDirectory::Open(const fs::path& root, Mode mode) {
  std::error_code ec;
  RunDirectory dir(root);
  if (mode == Mode::kResume) {
    if (!fs::is_directory(root, ec) || !fs::exists(dir.config_path(), ec)) {
      return Status::NotFound("no run to resume at " + root.string() + " (no config.yaml)");
    }
  } else {
    bool has_results = fs::exists(dir.metrics_path(), ec) && fs::file_size(dir.metrics_path(), ec) > 0;
    has_results = has_results || (fs::is_directory(dir.checkpoints_dir(), ec) &&
                                  !fs::is_empty(dir.checkpoints_dir(), ec));
    if (has_results) {
      return Status::AlreadyExists("run directory " + root.string() +
                                   " already holds results; resume it with --resume " +
                                   root.string() + " or choose another job.name");
    }
  }
  for (const fs::path& p : {root, dir.logs_dir(), dir.events_dir(), dir.rollouts_dir(),
                            dir.eval_dir(), dir.checkpoints_dir()}) {
    fs::create_directories(p, ec);
    if (ec) return Status::IoError("cannot create " + p.string() + ": " + ec.message());
  }
  RemoveStaleTempFiles(root);
  return dir;
}

Status RunDirectory::WriteResolvedConfig(const std::string& yaml,
                                         const std::vector<std::string>& argv) const {
  SCORCH_RETURN_IF_ERROR(AtomicWriteFile(config_path(), yaml));
  char host[256] = {0};
  gethostname(host, sizeof(host) - 1);
  nlohmann::json info = {
      {"scorch_version", kVersion},
      {"git_hash", kGitHash},
      {"host", host},
      {"pid", getpid()},
      {"started_unix", std::chrono::duration<double>(
                           std::chrono::system_clock::now().time_since_epoch()).count()},
      {"argv", argv},
  };
  return AtomicWriteFile(root_ / "RUN_INFO.json", info.dump(2) + "\n");
}

}  // namespace scorch
