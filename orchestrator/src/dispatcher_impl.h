// Private to the dispatcher: the state behind Dispatcher (dispatcher.h) and the message pump
// shared by its blocking calls. dispatcher.cc holds the public calls (Generate, Train, ...);
// dispatcher_pump.cc holds the pump: receiving, one handler per message type, housekeeping
// (lost workers, expired leases) and handing out leases.
//
// Thread-safety: everything here belongs to the job-loop thread (`owner`: the thread of the
// latest call), except `snapshot`, which is guarded by `snapshot_mu` so StatusJson() can read
// it from any other thread.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "scorch/common/proto/message.h"
#include "scorch/common/status.h"
#include "scorch/common/transport/heartbeat.h"
#include "scorch/common/transport/router.h"
#include "scorch/orchestrator/dispatcher.h"
#include "scorch/orchestrator/lease_manager.h"

namespace scorch::orchestrator {

// One DEALER peer that said Hello.
struct PeerState {
  std::string id;    // routing id (may be binary)
  std::string name;  // printable form, for logs
  proto::Hello hello;
  bool lost = false;                 // declared lost (silent or unreachable); may come back
  bool silent_logged = false;        // learner: "silent" already logged for this silence
  int64_t policy_version = -1;       // from Hello, then from heartbeats
  int64_t reported_in_flight = 0;    // from heartbeats
  transport::SteadyTime last_seen{};
};

// The Generate call in progress.
struct GenerateCall {
  std::map<WorkItem, size_t> index;  // item -> position in the request vector
  std::vector<std::optional<proto::Trajectory>> results;
  size_t remaining = 0;
  transport::SteadyTime last_progress{};
  Status fatal;  // set by a handler when the call cannot succeed (an item failed too often)
};

// The Train call in progress.
struct TrainWait {
  std::string learner;  // routing id the batch went to
  int64_t step = 0;
  std::optional<proto::StepStats> stats;
  std::optional<proto::WeightsAnnounce> weights;
  Status error;
};

// All-time counters (a Generate call reports the difference over its duration).
struct DispatchCounters {
  int64_t duplicates = 0;
  int64_t errors = 0;
  int64_t workers_lost = 0;
  int64_t refused_hellos = 0;
  int64_t unexpected = 0;   // messages of a type or from a peer the dispatcher does not expect
  int64_t mismatched = 0;   // trajectories whose key does not match their lease
};

struct Dispatcher::Impl {
  Impl(const DispatcherOptions& opts, std::unique_ptr<transport::Router> r);

  // --- the pump (dispatcher_pump.cc) ---
  // Hands out leases, waits up to `wait` for messages, handles every queued message, runs
  // housekeeping and hands out leases again. Errors only when the socket fails.
  Status Pump(std::chrono::milliseconds wait);
  void Handle(transport::Incoming& in);
  void HandleHello(const std::string& peer, const proto::Hello& hello);
  void HandleHeartbeat(PeerState& peer, const proto::Heartbeat& hb);
  void HandleTrajectory(PeerState& peer, proto::Trajectory&& t);
  void HandleWorkerError(PeerState& peer, const proto::Error& e);
  void HandleLearnerMessage(PeerState& peer, proto::Message&& m);
  void Housekeeping(bool queue_drained);
  void DispatchWork();
  // Sends the lease's request; on a failed send the worker is declared lost.
  bool SendLease(const Lease& lease);
  // Declares a rollout worker lost and re-queues its leases.
  void LoseWorker(PeerState& peer, const std::string& why);
  // Registers a worker that speaks again after it was declared lost.
  void Readmit(PeerState& peer);
  // Best-effort Error reply (never to a peer that sent an Error: no ping-pong).
  void ReplyError(const std::string& peer, StatusCode code, const std::string& message,
                  const std::string& in_reply_to);
  void RememberWeights(const proto::WeightsAnnounce& a);
  void UpdateSnapshot(bool force);
  nlohmann::json BuildStatus() const;
  PeerState* FindPeer(const std::string& id);
  int CountLive(proto::Role role) const;

  DispatcherOptions options;
  transport::NowFn now;
  std::unique_ptr<transport::Router> router;
  LeaseManager leases;
  transport::HeartbeatTracker heartbeats;

  std::map<std::string, PeerState> workers;   // rollout peers, by routing id
  std::map<std::string, PeerState> learners;  // learner peers, by routing id

  std::map<WorkItem, proto::GenerateRequest> work;  // known, not complete: what to send
  std::map<WorkItem, int> item_errors;              // Error replies per item
  std::map<WorkItem, proto::Trajectory> parked;     // accepted results no call has claimed

  std::optional<GenerateCall> gen;
  std::optional<TrainWait> train;
  std::optional<proto::WeightsAnnounce> latest;
  bool shutting_down = false;

  // Lease hand-out hints: workers that may have free credit, or all of them.
  std::set<std::string> dirty;
  bool full_scan = false;
  size_t rotation = 0;  // start of the next round-robin pass

  DispatchCounters counters;
  uint64_t unexpected_logged = 0;

  std::atomic<std::thread::id> owner{std::this_thread::get_id()};  // the job-loop thread
  mutable std::mutex snapshot_mu;
  nlohmann::json snapshot;  // guarded by snapshot_mu
  transport::SteadyTime next_snapshot{};
  // Set when a peer joins or is lost, so the next pump refreshes the snapshot at once: a
  // status reader must not see a worker count that predates the membership change.
  bool membership_changed = false;
  int last_announced_to = -1;  // rollout workers the last weights announcement reached
  transport::SteadyTime next_housekeeping{};  // silent-worker check (rate-limited: O(peers))
  transport::SteadyTime next_expiry_check{};  // lease expiry scan (rate-limited: O(leases))
};

// "(step 3, prompt 17, sample 2)".
std::string ItemName(const WorkItem& item);
WorkItem ItemOf(const proto::GenerateRequest& r);
WorkItem ItemOf(const proto::Trajectory& t);

}  // namespace scorch::orchestrator
