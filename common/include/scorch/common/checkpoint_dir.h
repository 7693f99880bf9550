// Checkpoint directories that are never half-written.
//
// Layout under a checkpoints folder:
//   step-000100/            one complete checkpoint (any files; a MANIFEST.json lists them)
//   step-000100.tmp-<pid>/  a checkpoint being written (ignored and cleaned up)
//   latest                  text file naming the newest complete checkpoint folder
//
// A writer fills the folder returned by BeginCheckpoint, then calls CommitCheckpoint, which:
// checksums every file into MANIFEST.json, fsyncs all files and the folder, renames it to its
// final name, fsyncs the parent, and only then rewrites `latest` (atomically). A crash at any
// point leaves `latest` naming the previous complete checkpoint. VerifyCheckpoint re-hashes
// the files against the manifest.
//
// Not thread-safe for the same checkpoints folder: one writer (learner rank 0) at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scorch/common/status.h"

namespace scorch {

struct ManifestEntry {
  std::string path;   // relative to the checkpoint folder, '/'-separated
  uint64_t size = 0;  // bytes
  std::string sha256; // lower-case hex
};

struct Manifest {
  int64_t step = 0;
  std::vector<ManifestEntry> files;
  nlohmann::json extra;  // free-form facts (versions, layout) written beside the file list
};

inline constexpr const char* kManifestFile = "MANIFEST.json";
inline constexpr const char* kLatestFile = "latest";

// Folder name for a step: "step-000123".
std::string CheckpointName(int64_t step);

// Creates and returns a fresh temporary folder for step `step` under `checkpoints_dir`.
StatusOr<std::filesystem::path> BeginCheckpoint(const std::filesystem::path& checkpoints_dir,
                                                int64_t step);

// Seals a folder from BeginCheckpoint (see above). Returns the final folder path.
// `keep_last` > 0 then deletes all but the newest `keep_last` complete checkpoints.
StatusOr<std::filesystem::path> CommitCheckpoint(const std::filesystem::path& temp_dir,
                                                 int64_t step, nlohmann::json extra = {},
                                                 int keep_last = 0);

// The folder `latest` names, checked to exist and to hold a manifest. NotFound if none.
StatusOr<std::filesystem::path> LatestCheckpoint(const std::filesystem::path& checkpoints_dir);

StatusOr<Manifest> ReadManifest(const std::filesystem::path& checkpoint_dir);
// Re-hashes every file listed; DataLoss naming the first missing, resized or altered file.
Status VerifyCheckpoint(const std::filesystem::path& checkpoint_dir);

// Complete checkpoints (those with a manifest), oldest first.
std::vector<std::filesystem::path> ListCheckpoints(const std::filesystem::path& checkpoints_dir);

}  // namespace scorch
