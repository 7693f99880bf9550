// TfEventsWriter and the metrics.jsonl → events mirror. See tfevents.h.
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <system_error>

#include "scorch/common/tfevents.h"

namespace scorch {
namespace {

Status ErrnoStatus(const std::string& what, const std::filesystem::path& path, int err) {
  return Status::IoError(what + " " + path.string() + ": " + std::strerror(err));
}

std::string HostName() {
  char buf[256] = {0};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

double NowSeconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

StatusOr<std::unique_ptr<TfEventsWriter>> TfEventsWriter::Open(const std::filesystem::path& dir,
                                                               std::string_view suffix) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status::IoError("create event folder " + dir.string() + ": " + ec.message());
  const double now = NowSeconds();
  const std::string base = "events.out.tfevents." +
                           std::to_string(static_cast<int64_t>(now)) + "." + HostName();
  // A second writer opened in the same second gets ".1", ".2", ...: never reuse a file.
  for (int attempt = 0; attempt < 1000; ++attempt) {
    std::string name = base;
    if (attempt > 0) name += "." + std::to_string(attempt);
    if (!suffix.empty()) name += "." + std::string(suffix);
    std::filesystem::path path = dir / name;
    std::FILE* f = std::fopen(path.c_str(), "wbx");
    if (f == nullptr) {
      if (errno == EEXIST) continue;
      return ErrnoStatus("open event file", path, errno);
    }
    std::unique_ptr<TfEventsWriter> w(new TfEventsWriter(path, f));
    {
      std::lock_guard<std::mutex> lock(w->mu_);
      SCORCH_RETURN_IF_ERROR(w->WriteRecord(EncodeFileVersionEvent(now, "brain.Event:2")));
    }
    SCORCH_RETURN_IF_ERROR(w->Flush());
    return w;
  }
  return Status::AlreadyExists("could not find a free event file name in " + dir.string());
}

TfEventsWriter::~TfEventsWriter() {
  std::lock_guard<std::mutex> lock(mu_);
  if (file_ != nullptr) std::fclose(file_);
}

Status TfEventsWriter::WriteRecord(std::string_view data) {
  std::string rec = FrameTfRecord(data);
  if (std::fwrite(rec.data(), 1, rec.size(), file_) != rec.size()) {
    return ErrnoStatus("write", path_, errno);
  }
  return Status::Ok();
}

Status TfEventsWriter::AddScalars(int64_t step, double wall_time,
                                  const std::map<std::string, double>& scalars) {
  if (scalars.empty()) return Status::Ok();
  for (const auto& [tag, v] : scalars) {
    if (tag.empty()) return Status::InvalidArgument("tfevents: empty scalar tag");
  }
  std::string ev = EncodeScalarsEvent(step, wall_time, scalars);
  std::lock_guard<std::mutex> lock(mu_);
  return WriteRecord(ev);
}

Status TfEventsWriter::Flush(bool sync) {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::fflush(file_) != 0) return ErrnoStatus("flush", path_, errno);
  if (sync && ::fsync(::fileno(file_)) != 0) return ErrnoStatus("fsync", path_, errno);
  return Status::Ok();
}

std::map<std::string, double> ScalarsFromMetricsRecord(const nlohmann::json& record) {
  std::map<std::string, double> out;
  if (!record.is_object()) return out;
  for (const auto& [key, value] : record.items()) {
    if (key == "step" || key == "time" || key == "stage_step") continue;
    if (value.is_number()) out[key] = value.get<double>();  // bools are not numbers here
  }
  return out;
}

Status MirrorMetricsToEvents(TfEventsWriter& writer, const nlohmann::json& record) {
  if (!record.is_object()) {
    return Status::InvalidArgument("metrics record is not a JSON object");
  }
  auto it = record.find("step");
  if (it == record.end() || !it->is_number_integer()) {
    return Status::InvalidArgument("metrics record has no integer \"step\"");
  }
  double wall_time = NowSeconds();
  auto t = record.find("time");
  if (t != record.end() && t->is_number()) wall_time = t->get<double>();
  return writer.AddScalars(it->get<int64_t>(), wall_time, ScalarsFromMetricsRecord(record));
}

}  // namespace scorch
