// Append-only metrics.jsonl: one JSON object per step, for programs to read.
//
// Each record must carry an integer "step" strictly greater than every step already in the
// file, so the file never holds a duplicated or out-of-order step. Each record is written
// with a single write(2) of one complete line, so a crash leaves at worst a partial last
// line; Open() finds and drops such a tail (nothing complete is ever lost). On resume,
// TruncateAfterStep(s) removes records past the checkpoint's step so they are written again
// exactly once.
//
// Thread-safe (one mutex). Errors: IoError for the file system, InvalidArgument for a
// record without an integer step, FailedPrecondition for a step that is not new.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>

#include "scorch/common/status.h"

namespace scorch {

class MetricsWriter {
 public:
  // Opens (creating if needed) `path` for appending and recovers from a torn last line.
  static StatusOr<std::unique_ptr<MetricsWriter>> Open(const std::filesystem::path& path,
                                                       bool fsync_each_record = false);
  ~MetricsWriter();
  MetricsWriter(const MetricsWriter&) = delete;
  MetricsWriter& operator=(const MetricsWriter&) = delete;

  // Appends one record (a JSON object with an integer "step"). "time" (Unix seconds) is
  // added when absent.
  Status Append(nlohmann::json record);
  // Drops every record whose step is > `step` (atomically rewrites the file).
  Status TruncateAfterStep(int64_t step);
  // The largest step written so far, or -1.
  int64_t last_step() const;
  // Bytes of a torn tail dropped by Open (0 if the file was clean).
  size_t dropped_tail_bytes() const { return dropped_tail_bytes_; }

  // Reads every complete record of a metrics file (a torn last line is ignored).
  static StatusOr<std::vector<nlohmann::json>> ReadAll(const std::filesystem::path& path);

 private:
  MetricsWriter(std::filesystem::path path, int fd, int64_t last_step, size_t dropped,
                bool fsync_each);
  std::filesystem::path path_;
  bool fsync_each_;
  size_t dropped_tail_bytes_;
  mutable std::mutex mu_;
  int fd_;             // GUARDED_BY(mu_)
  int64_t last_step_;  // GUARDED_BY(mu_)
};

}  // namespace scorch
