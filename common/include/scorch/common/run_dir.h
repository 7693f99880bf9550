// The run directory: where a job leaves everything a person or program inspects.
//
//   runs/<job>/
//     config.yaml            the fully resolved config, as run (written atomically)
//     RUN_INFO.json          scorch version, git hash, host, start time, command line
//     metrics.jsonl          one JSON object per step (MetricsWriter)
//     events/                TensorBoard event files
//     logs/<role>-<rank>.log human-readable logs
//     rollouts/step-N.jsonl  sampled trajectories with rewards
//     eval/NN-<stage>.json   eval tables
//     checkpoints/step-N/    see checkpoint_dir.h
//
// Creating a run over an existing one that has results is refused (nothing already written is
// lost): resume it or pick another job name. Thread-compatible: paths are immutable.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "scorch/common/status.h"

namespace scorch {

class RunDirectory {
 public:
  enum class Mode { kCreate, kResume };
  // kCreate: makes the folders; fails with AlreadyExists if `root` holds metrics or
  // checkpoints. kResume: requires an existing run (NotFound otherwise).
  static StatusOr<RunDirectory> Open(const std::filesystem::path& root, Mode mode);

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path config_path() const { return root_ / "config.yaml"; }
  std::filesystem::path metrics_path() const { return root_ / "metrics.jsonl"; }
  std::filesystem::path logs_dir() const { return root_ / "logs"; }
  std::filesystem::path events_dir() const { return root_ / "events"; }
  std::filesystem::path rollouts_dir() const { return root_ / "rollouts"; }
  std::filesystem::path eval_dir() const { return root_ / "eval"; }
  std::filesystem::path checkpoints_dir() const { return root_ / "checkpoints"; }
  std::filesystem::path swift_dir() const { return root_ / "swift"; }  // SWIFT heads, one folder per swift_train stage

  // Writes config.yaml (atomically) and RUN_INFO.json with version, git hash, host, time and
  // the command line.
  Status WriteResolvedConfig(const std::string& yaml, const std::vector<std::string>& argv) const;

 private:
  explicit RunDirectory(std::filesystem::path root) : root_(std::move(root)) {}
  std::filesystem::path root_;
};

}  // namespace scorch
