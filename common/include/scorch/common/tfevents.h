// TensorBoard event files written by scorch itself (no protobuf, no TensorFlow).
//
// An event file is a sequence of TFRecords:
//   uint64 length (little-endian) | uint32 masked_crc32c(length bytes) |
//   data[length]                  | uint32 masked_crc32c(data)
// with masked_crc(c) = ((c >> 15) | (c << 17)) + 0xa282ead8 over CRC-32C (Castagnoli). Each
// record's data is a serialized `tensorflow.Event` protobuf, encoded here by hand:
//   Event   { double wall_time = 1; int64 step = 2; string file_version = 3; Summary summary = 5; }
//   Summary { repeated Value value = 1; }   Value { string tag = 1; float simple_value = 2; }
// The first record is the "brain.Event:2" file-version event, so `tensorboard --logdir runs`
// reads the files as scalar summaries.
//
// TfEventsWriter owns one file `events.out.tfevents.<unix-seconds>.<host>[.<suffix>]` in the
// given folder (a new file per Open, as TensorFlow does; TensorBoard merges all the files of a
// folder). Records are buffered; Flush() pushes them to the OS. Thread-safe (one mutex).
// Errors: IoError for the file system, InvalidArgument for an empty tag.
//
// MirrorMetricsToEvents turns one metrics.jsonl record (see /work/notes/RUN_DIR.md) into
// scalars: every numeric key except step, time and stage_step, under the same name.
#pragma once

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "scorch/common/status.h"

namespace scorch {

// CRC-32C (Castagnoli) of `data`, and TFRecord's masked form of a CRC.
uint32_t Crc32c(std::string_view data);
uint32_t MaskCrc32c(uint32_t crc);

// One framed TFRecord around `data` (length, masked CRCs).
std::string FrameTfRecord(std::string_view data);

// Serialized Event messages (exposed for tests).
std::string EncodeFileVersionEvent(double wall_time, std::string_view version);
std::string EncodeScalarsEvent(int64_t step, double wall_time,
                               const std::map<std::string, double>& scalars);

class TfEventsWriter {
 public:
  // Creates `dir` if needed and a fresh event file in it, starting with the file-version
  // record. `suffix` (optional) is appended to the file name to keep writers apart.
  static StatusOr<std::unique_ptr<TfEventsWriter>> Open(const std::filesystem::path& dir,
                                                        std::string_view suffix = "");
  ~TfEventsWriter();  // flushes and closes
  TfEventsWriter(const TfEventsWriter&) = delete;
  TfEventsWriter& operator=(const TfEventsWriter&) = delete;

  // Appends one Event holding one simple_value per entry (tag = key). An empty map writes
  // nothing. Values are stored as float, as TensorBoard's simple_value is.
  Status AddScalars(int64_t step, double wall_time, const std::map<std::string, double>& scalars);
  // Writes buffered records to the OS (fflush); `sync` also fsyncs.
  Status Flush(bool sync = false);

  const std::filesystem::path& path() const { return path_; }

 private:
  TfEventsWriter(std::filesystem::path path, std::FILE* file)
      : path_(std::move(path)), file_(file) {}
  Status WriteRecord(std::string_view data);  // REQUIRES: mu_ held

  const std::filesystem::path path_;
  std::mutex mu_;
  std::FILE* file_;  // GUARDED_BY(mu_)
};

// The scalars of one metrics.jsonl record: every numeric (non-bool) key except "step",
// "time" and "stage_step".
std::map<std::string, double> ScalarsFromMetricsRecord(const nlohmann::json& record);

// Writes ScalarsFromMetricsRecord(record) at the record's "step" and "time" (now when absent).
// InvalidArgument when the record is not an object or has no integer step.
Status MirrorMetricsToEvents(TfEventsWriter& writer, const nlohmann::json& record);

}  // namespace scorch
