#include "scorch/common/metrics_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sstream>

#include "scorch/common/atomic_file.h"
#include "scorch/common/logging.h"

namespace scorch {
namespace {

Status Errno(const std::string& what, const std::filesystem::path& path) {
  return Status::IoError(what + " " + path.string() + ": " + std::strerror(errno));
}

// Splits file contents into complete lines; returns the byte length of the complete part.
size_t CompleteLength(const std::string& text) {
  auto pos = text.rfind('\n');
  return pos == std::string::npos ? 0 : pos + 1;
}

StatusOr<int64_t> StepOf(const nlohmann::json& record) {
  if (!record.is_object()) return Status::InvalidArgument("a metrics record must be a JSON object");
  auto it = record.find("step");
  if (it == record.end() || !it->is_number_integer()) {
    return Status::InvalidArgument("a metrics record needs an integer \"step\"");
  }
  return it->get<int64_t>();
}

}  // namespace

MetricsWriter::MetricsWriter(std::filesystem::path path, int fd, int64_t last_step,
                             size_t dropped, bool fsync_each)
    : path_(std::move(path)),
      fsync_each_(fsync_each),
      dropped_tail_bytes_(dropped),
      fd_(fd),
      last_step_(last_step) {}

MetricsWriter::~MetricsWriter() {
  if (fd_ >= 0) {
    ::fsync(fd_);
    ::close(fd_);
  }
}

StatusOr<std::vector<nlohmann::json>> MetricsWriter::ReadAll(const std::filesystem::path& path) {
  SCORCH_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  text.resize(CompleteLength(text));
  std::vector<nlohmann::json> records;
  std::istringstream in(text);
  std::string line;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded()) {
      return Status::DataLoss(path.string() + ":" + std::to_string(line_no) +
                              ": not a JSON object");
    }
    records.push_back(std::move(j));
  }
  return records;
}

StatusOr<std::unique_ptr<MetricsWriter>> MetricsWriter::Open(const std::filesystem::path& path,
                                                             bool fsync_each_record) {
  int64_t last_step = -1;
  size_t dropped = 0;
  if (std::filesystem::exists(path)) {
    SCORCH_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
    size_t complete = CompleteLength(text);
    if (complete != text.size()) {
      dropped = text.size() - complete;
      SCORCH_LOG(WARNING) << "metrics file " << path.string() << " ended in a torn record ("
                          << dropped << " bytes); dropping it";
      if (::truncate(path.c_str(), static_cast<off_t>(complete)) != 0) {
        return Errno("truncate", path);
      }
    }
    SCORCH_ASSIGN_OR_RETURN(auto records, ReadAll(path));
    for (const auto& r : records) {
      auto step = StepOf(r);
      if (step.ok() && *step > last_step) last_step = *step;
    }
  }
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return Errno("open", path);
  return std::unique_ptr<MetricsWriter>(
      new MetricsWriter(path, fd, last_step, dropped, fsync_each_record));
}

Status MetricsWriter::Append(nlohmann::json record) {
  SCORCH_ASSIGN_OR_RETURN(int64_t step, StepOf(record));
  if (!record.contains("time")) {
    record["time"] = std::chrono::duration<double>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
  }
  std::string line = record.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  line += '\n';
  std::lock_guard<std::mutex> lock(mu_);
  if (step <= last_step_) {
    return Status::FailedPrecondition("metrics step " + std::to_string(step) +
                                      " is not after the last recorded step " +
                                      std::to_string(last_step_));
  }
  // One write(2) per record: with O_APPEND the line lands whole or (on a crash) torn at the
  // end, where Open() will find it.
  size_t off = 0;
  while (off < line.size()) {
    ssize_t n = ::write(fd_, line.data() + off, line.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno("append to", path_);
    }
    off += static_cast<size_t>(n);
  }
  if (fsync_each_ && ::fdatasync(fd_) != 0) return Errno("fdatasync", path_);
  last_step_ = step;
  return Status::Ok();
}

Status MetricsWriter::TruncateAfterStep(int64_t step) {
  std::lock_guard<std::mutex> lock(mu_);
  SCORCH_ASSIGN_OR_RETURN(auto records, ReadAll(path_));
  std::string kept;
  int64_t last = -1;
  for (const auto& r : records) {
    auto s = StepOf(r);
    if (s.ok() && *s > step) continue;
    if (s.ok() && *s > last) last = *s;
    kept += r.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  SCORCH_RETURN_IF_ERROR(AtomicWriteFile(path_, kept));
  // The rename replaced the inode; reopen for appending.
  int fd = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CLOEXEC);
  if (fd < 0) return Errno("reopen", path_);
  ::close(fd_);
  fd_ = fd;
  last_step_ = last;
  return Status::Ok();
}

int64_t MetricsWriter::last_step() const {
  std::lock_guard<std::mutex> lock(mu_);
  return last_step_;
}

}  // namespace scorch
