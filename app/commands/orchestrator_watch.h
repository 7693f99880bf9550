// OrchestratorWatch: ends a process whose orchestrator is gone. A rank or an elastic worker
// connected over tcp learns nothing when its orchestrator dies without a Shutdown (SIGKILL,
// a crashed host): ZeroMQ reconnects silently and the process would wait forever. The watch
// probes the orchestrator's control port with a plain TCP connect every `interval`; after
// `misses` failed probes in a row it logs why and ends the process with exit status 3.
//
// Ownership: owns one thread, joined by the destructor. Thread-safety: construct and destroy
// from one thread. Errors: none returned; the process ends instead (it holds nothing that is
// not re-queued or checkpointed elsewhere). Only tcp:// endpoints are watched (an inproc or
// ipc orchestrator lives on this host and shuts its peers down itself).
#pragma once

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace scorch::app {

// Whether a TCP connection to HOST:PORT of a tcp:// endpoint opens within `timeout`.
bool PortOpens(const std::string& endpoint, std::chrono::milliseconds timeout);

class OrchestratorWatch {
 public:
  // `who` names this process in the log line ("this rank", "this worker").
  explicit OrchestratorWatch(std::string endpoint, std::string who = "this rank",
                             std::chrono::milliseconds interval = std::chrono::seconds(2), int misses = 5);
  ~OrchestratorWatch();
  OrchestratorWatch(const OrchestratorWatch&) = delete;
  OrchestratorWatch& operator=(const OrchestratorWatch&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace scorch::app
