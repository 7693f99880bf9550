// LiveStatus: a running job's GET /status and GET /metrics (status_server.h), composed from the
// job loop (JobRunner::StatusJson: stage, step, last metrics) and the dispatcher
// (Dispatcher::StatusJson: workers with their leases and last heartbeat, learners, lease
// counters, queue depth), plus who the job is (name, run directory, pid, uptime, state).
//
//   /status   {"job", "run_dir", "pid", "state", "uptime_s", "stages", "stage", "stage_index",
//              "step", "stage_step", "stage_steps", "workers": [...], "learners": [...],
//              "leases": {...}, "queue", ..., "last_metrics": {...}}
//   /metrics  scorch_up, scorch_uptime_s, scorch_step, scorch_stage_index, scorch_stage_step,
//             scorch_workers, scorch_workers_busy, scorch_learners, scorch_queue,
//             scorch_leases_in_flight, and every numeric key of the last step's metrics
//             (e.g. scorch_reward_mean).
//
// The job's address ("host:port") is written to runs/NAME/status.addr when the server starts
// (so `scorch status runs/NAME` finds it) and removed when it stops.
//
// Ownership: borrows the dispatcher (which must outlive Stop) and, between AttachRunner and
// DetachRunner, the runner. Thread-safety: the HTTP thread reads both under a mutex that
// AttachRunner/DetachRunner/SetState also take; every method may be called from any thread.
// Errors: Start returns the server's Status (e.g. Unavailable when the port is taken).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <map>
#include <string>

#include "scorch/common/status.h"
#include "scorch/orchestrator/status_server.h"

namespace scorch::orchestrator {

class Dispatcher;
class JobRunner;

struct LiveStatusOptions {
  std::string job_name;
  std::filesystem::path run_dir;  // status.addr goes here ("" = not written)
  int num_stages = 0;
  StatusServerOptions server;
};

class LiveStatus {
 public:
  LiveStatus(LiveStatusOptions options, const Dispatcher& dispatcher);
  ~LiveStatus();  // Stop()
  LiveStatus(const LiveStatus&) = delete;
  LiveStatus& operator=(const LiveStatus&) = delete;

  Status Start();
  void Stop();
  // "host:port" while serving, else "".
  std::string endpoint() const;

  // The job loop whose stage and step /status reports (nullptr: none yet / any more).
  void AttachRunner(const JobRunner* runner);
  void DetachRunner() { AttachRunner(nullptr); }
  // "starting", "running", "finished", "failed", "stopping".
  void SetState(std::string state);

  // The documents the server answers with (also for tests).
  nlohmann::json StatusDocument() const;
  std::map<std::string, double> MetricsSnapshot() const;

  static std::filesystem::path AddressFile(const std::filesystem::path& run_dir) { return run_dir / "status.addr"; }

 private:
  const LiveStatusOptions options_;
  const Dispatcher& dispatcher_;
  const std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  mutable std::mutex mu_;
  const JobRunner* runner_ = nullptr;  // GUARDED_BY(mu_)
  std::string state_ = "starting";     // GUARDED_BY(mu_)
  std::unique_ptr<StatusServer> server_;
};

}  // namespace scorch::orchestrator
