// Work leases: how the orchestrator hands generation work to rollout workers so that a dead
// or slow worker costs no data and every sample enters a batch exactly once.
//
// A work item is one sample of one prompt at one step, keyed by (step, prompt_id,
// sample_idx). Items wait in a FIFO queue. A registered worker advertises a capacity
// (credit); Assign() leases it up to capacity minus what it already holds, each lease with a
// deadline. A lease ends in one of three ways:
//   * its result arrives (Complete): the FIRST result for an item is accepted; any later
//     result for the same item — a re-delivery, or the original worker finishing after its
//     lease was re-queued and redone elsewhere — is reported kDuplicate and must be dropped;
//   * its deadline passes (ExpireLeases): the item goes back to the FRONT of the queue unless
//     it was completed meanwhile;
//   * its worker dies (WorkerLost, e.g. heartbeats stopped): all of its leases are re-queued;
//   * its worker gives it back (Release, e.g. it answered with an error): re-queued at the front.
// A result from a lease that already expired is still accepted if its item is not complete:
// the work is valid, and taking it is cheaper than redoing it.
//
// Time comes from an injectable clock (transport::NowFn), so tests never sleep.
// Thread-safety: not thread-safe; owned by the orchestrator's dispatch loop. Never blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "scorch/common/transport/heartbeat.h"

namespace scorch::orchestrator {

struct WorkItem {
  int64_t step = 0;
  int64_t prompt_id = 0;
  int32_t sample_idx = 0;
  auto Key() const { return std::make_tuple(step, prompt_id, sample_idx); }
  friend bool operator<(const WorkItem& a, const WorkItem& b) { return a.Key() < b.Key(); }
  friend bool operator==(const WorkItem& a, const WorkItem& b) { return a.Key() == b.Key(); }
};

struct Lease {
  uint64_t id = 0;
  WorkItem item;
  std::string worker;
  transport::SteadyTime deadline;
};

struct LeaseOptions {
  std::chrono::milliseconds lease_timeout{60000};  // a lease not answered by then is re-queued
};

struct LeaseStats {
  int64_t added = 0;       // items ever queued
  int64_t assigned = 0;    // leases handed out
  int64_t completed = 0;   // results accepted
  int64_t duplicates = 0;  // results dropped because their item was already complete
  int64_t expired = 0;     // leases re-queued on deadline
  int64_t lost = 0;        // leases re-queued because their worker died
  int64_t released = 0;    // leases given back by their worker (Release) and re-queued
};

class LeaseManager {
 public:
  enum class Outcome { kAccepted, kDuplicate, kUnknownItem };

  explicit LeaseManager(const LeaseOptions& options, transport::NowFn now = transport::SteadyNow);

  void AddWork(const WorkItem& item);
  // Registers (or updates the capacity of) a worker.
  void RegisterWorker(const std::string& worker, int capacity);
  // Leases up to the worker's free credit (and at most `max_leases`) from the queue. Unknown
  // workers get nothing.
  std::vector<Lease> Assign(const std::string& worker,
                            int max_leases = std::numeric_limits<int>::max());
  // A result for `item` arrived (under `lease_id`, which may have expired).
  Outcome Complete(uint64_t lease_id, const WorkItem& item);
  // Re-queues leases past their deadline; returns them.
  std::vector<Lease> ExpireLeases();
  // The lease's worker gave it back: the item goes to the front of the queue unless it is
  // complete. Returns the lease; std::nullopt when `lease_id` is not in flight.
  std::optional<Lease> Release(uint64_t lease_id);
  // The lease in flight under `lease_id`, or nullptr (valid until the next mutating call).
  const Lease* FindLease(uint64_t lease_id) const;
  // The worker is gone: unregisters it and re-queues its leases; returns them.
  std::vector<Lease> WorkerLost(const std::string& worker);

  bool IsComplete(const WorkItem& item) const { return completed_.count(item) > 0; }
  // Items neither complete nor leased.
  size_t pending() const { return queue_.size(); }
  size_t in_flight() const { return leases_.size(); }
  size_t in_flight(const std::string& worker) const;
  int free_credit(const std::string& worker) const;
  std::vector<std::string> workers() const;
  // Earliest lease deadline (to size a poll timeout).
  std::optional<transport::SteadyTime> NextDeadline() const;
  const LeaseStats& stats() const { return stats_; }

  // Forgets completed items of steps < `step` (bounded memory across a long job).
  void ForgetStepsBefore(int64_t step);

 private:
  void Requeue(const Lease& lease, bool front);

  LeaseOptions options_;
  transport::NowFn now_;
  uint64_t next_lease_id_ = 1;
  std::deque<WorkItem> queue_;
  std::map<uint64_t, Lease> leases_;                 // by lease id
  std::unordered_map<std::string, int> capacity_;    // registered workers
  std::unordered_map<std::string, int> held_;        // leases per worker
  std::set<WorkItem> known_;                         // every item added and not forgotten
  std::set<WorkItem> completed_;
  LeaseStats stats_;
};

}  // namespace scorch::orchestrator
