// A running job's /status and /metrics; see live_status.h.
#include "scorch/orchestrator/live_status.h"

#include <unistd.h>

#include <system_error>
#include <utility>

#include "scorch/common/atomic_file.h"
#include "scorch/common/logging.h"
#include "scorch/orchestrator/dispatcher.h"
#include "scorch/orchestrator/job_runner.h"

namespace scorch::orchestrator {

using nlohmann::json;

LiveStatus::LiveStatus(LiveStatusOptions options, const Dispatcher& dispatcher)
    : options_(std::move(options)), dispatcher_(dispatcher) {}

LiveStatus::~LiveStatus() { Stop(); }

Status LiveStatus::Start() {
  if (server_) return Status::FailedPrecondition("live status already started");
  server_ = std::make_unique<StatusServer>(
      options_.server, [this] { return StatusDocument(); }, [this] { return MetricsSnapshot(); });
  Status st = server_->Start();
  if (!st.ok()) {
    server_.reset();
    return st;
  }
  if (!options_.run_dir.empty()) {
    Status w = AtomicWriteFile(AddressFile(options_.run_dir), server_->endpoint() + "\n");
    if (!w.ok()) SCORCH_LOG(WARNING) << "could not write " << AddressFile(options_.run_dir).string() << ": " << w;
  }
  return Status::Ok();
}

void LiveStatus::Stop() {
  if (!server_) return;
  server_->Stop();
  server_.reset();
  if (!options_.run_dir.empty()) {
    std::error_code ec;
    std::filesystem::remove(AddressFile(options_.run_dir), ec);  // the address is no longer served
  }
}

std::string LiveStatus::endpoint() const { return server_ ? server_->endpoint() : std::string(); }

void LiveStatus::AttachRunner(const JobRunner* runner) {
  std::lock_guard lock(mu_);
  runner_ = runner;
}

void LiveStatus::SetState(std::string state) {
  std::lock_guard lock(mu_);
  state_ = std::move(state);
}

json LiveStatus::StatusDocument() const {
  json doc = {{"job", options_.job_name},
              {"run_dir", options_.run_dir.string()},
              {"pid", static_cast<int64_t>(::getpid())},
              {"uptime_s", std::chrono::duration<double>(std::chrono::steady_clock::now() - started_).count()},
              {"stages", options_.num_stages}};
  json job;
  {
    std::lock_guard lock(mu_);
    doc["state"] = state_;
    if (runner_ != nullptr) job = runner_->StatusJson();
  }
  // The dispatcher's document gives workers, learners, leases and queue depths.
  json dispatch = dispatcher_.StatusJson();
  if (dispatch.is_object()) {
    for (auto& [k, v] : dispatch.items()) doc[k] = v;
  }
  if (job.is_object()) {
    for (auto& [k, v] : job.items()) doc[k] = v;
  }
  if (!doc.contains("stage")) doc["stage"] = "";  // before the first step completes
  if (!doc.contains("step")) doc["step"] = 0;
  if (!doc.contains("last_metrics")) doc["last_metrics"] = json::object();
  return doc;
}

std::map<std::string, double> LiveStatus::MetricsSnapshot() const {
  const json doc = StatusDocument();
  std::map<std::string, double> m;
  m["up"] = 1.0;
  m["uptime_s"] = doc.value("uptime_s", 0.0);
  for (const char* key : {"step", "stage_index", "stage_step", "stage_steps", "stages", "queue"}) {
    if (doc.contains(key) && doc[key].is_number()) m[key] = doc[key].get<double>();
  }
  double workers = 0.0;
  double busy = 0.0;
  if (doc.contains("workers") && doc["workers"].is_array()) {
    for (const auto& w : doc["workers"]) {
      if (w.value("lost", false)) continue;
      workers += 1.0;
      if (w.value("in_flight", int64_t{0}) > 0) busy += 1.0;
    }
  }
  m["workers"] = workers;
  m["workers_busy"] = busy;
  m["learners"] = doc.contains("learners") && doc["learners"].is_array() ? static_cast<double>(doc["learners"].size()) : 0.0;
  if (doc.contains("leases") && doc["leases"].is_object()) {
    for (const auto& [k, v] : doc["leases"].items()) {
      if (v.is_number()) m["leases_" + k] = v.get<double>();
    }
  }
  // The last step's metrics, under their own names (the job-level keys above win).
  if (doc["last_metrics"].is_object()) {
    for (const auto& [k, v] : doc["last_metrics"].items()) {
      if (v.is_number() && !m.count(k)) m[k] = v.get<double>();
    }
  }
  return m;
}

}  // namespace scorch::orchestrator
