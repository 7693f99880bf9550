// Dispatcher: the orchestrator's end of the control plane. It owns the ROUTER socket every
// other role connects to (rollout workers and learners as DEALERs that say Hello first) and
// turns the job loop's blocking calls into leased, fault-tolerant message traffic:
//
//   * Generate(requests): every request becomes a work item (step, prompt_id, sample_idx) in a
//     LeaseManager. Rollout workers receive GenerateRequests up to their advertised credit, each
//     with a lease id and a deadline. Trajectories are matched back to their item; the first
//     result for an item is kept, a late duplicate (re-delivery, or the original worker finishing
//     after its lease was re-queued) is counted and dropped. A worker whose heartbeats stop for
//     `heartbeat_timeout`, or whose send fails, is declared lost (logged) and its leases are
//     re-queued; an expired lease is re-queued too. Returns when every item has exactly one
//     trajectory, in the order of `requests`. Work goes to the workers with free credit, a fair
//     share each (round-robin), never beyond a worker's advertised capacity.
//     A worker's Error reply naming a lease ("GenerateRequest lease N") re-queues the item; after
//     `max_item_errors` errors for one item Generate fails with that error. An Unavailable error
//     (the worker is shutting down) is not the item's fault: the worker just gets no more work.
//     A worker declared lost that speaks again is taken back (its capacity restored).
//     When Generate fails (stall, item errors), unfinished items stay queued or leased, and
//     results that arrive later — like those the call already had — are kept for a later call
//     asking for the same keys (a retried step), which then redoes nothing.
//   * Train(batch): sends the TrainBatch to the learner (rank 0 of the learner role) and waits
//     for its reply: a StepStats for batch.step, then a WeightsAnnounce for the new version (or
//     an Error). A batch without samples (checkpoint only), or train_expects_weights = false,
//     needs only the StepStats. The learner is waited for (up to train_timeout) if not there.
//   * AnnounceWeights(a): forwards the announcement to every rollout worker and remembers it,
//     so a worker that says Hello later gets the newest version at once.
//   * Peers that misbehave (unknown message, Error replies) are logged; nothing they send can
//     crash the orchestrator.
// Messages that arrive while the loop waits for something else are handled in the same pump
// (heartbeats, Hellos, trajectories, learner replies), so nothing is lost between calls.
//
// Every wait is bounded: Generate fails with DeadlineExceeded when no trajectory arrives for
// `stall_timeout` (e.g. every worker is dead), Train when the learner does not answer within
// `train_timeout`, WaitForPeers after its timeout.
//
// Ownership: owns the Router; the context (default transport::SharedContext()) must outlive it.
// Thread-safety: NOT thread-safe: one thread (the job loop) makes every call; StatusJson() is
// the exception: it may be called from any thread. On the job-loop thread it reads the live
// state; elsewhere it returns a snapshot (under a mutex) that the pump refreshes at most every
// 250 ms, since building it is O(peers) and must not tax every call with 1000 workers.
// Hellos: with `token` set, a Hello without the right token is answered with an Error and
// logged; the peer gets nothing else. Only rollout and learner roles may join. A peer that
// sends anything before its Hello is told "send Hello first". A rollout worker that says Hello
// again (restarted with the same identity) has its old leases re-queued.
//
// Errors: Bind errors from the Router (and InvalidArgument for bad options); DeadlineExceeded as
// above; InvalidArgument for invalid requests, two requests with the same key, or a key an
// earlier call already returned; Internal/InvalidArgument when the learner answers with an Error
// (its message is kept); Unavailable when the learner cannot be reached; FailedPrecondition
// after Shutdown.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scorch/common/proto/message.h"
#include "scorch/common/status.h"
#include "scorch/common/transport/heartbeat.h"
#include "scorch/common/transport/router.h"

namespace zmq {
class context_t;
}

namespace scorch::orchestrator {

struct DispatcherOptions {
  std::string endpoint = "inproc://scorch-control";      // ROUTER bind endpoint
  std::chrono::milliseconds lease_timeout{120000};      // a work item's deadline
  std::chrono::milliseconds heartbeat_timeout{10000};   // silent this long = lost
  std::chrono::milliseconds stall_timeout{300000};      // Generate: no result for this long = fail
  std::chrono::milliseconds train_timeout{600000};      // Train: learner reply bound
  std::chrono::milliseconds poll_interval{20};          // socket wait per pump iteration
  std::optional<std::string> token;                     // required Hello.token when set
  int max_item_errors = 3;              // Error replies for one item before Generate fails
  bool train_expects_weights = true;    // Train waits for a WeightsAnnounce after StepStats
                                        // (never for a batch without samples: checkpoint only)
  transport::SocketOptions socket;      // ROUTER send timeout, high-water marks, codec limits
  transport::NowFn now = transport::SteadyNow;  // clock for leases, heartbeats and stalls
  // Bench/metrics hook, called once per accepted result: its lease id, when that lease was
  // handed out and when the result was accepted (both from `now`). May be empty.
  std::function<void(uint64_t lease_id, transport::SteadyTime leased,
                     transport::SteadyTime accepted)>
      on_result;
};

// What one Generate call saw (for metrics and logs).
struct GenerateStats {
  int64_t requests = 0;
  int64_t leases = 0;          // leases handed out (> requests when work was redone)
  int64_t duplicates = 0;      // late/duplicate results dropped
  int64_t expired = 0;         // leases re-queued on deadline
  int64_t lost_leases = 0;     // leases re-queued because their worker was lost
  int64_t workers_lost = 0;    // workers declared lost during the call
  int64_t errors = 0;          // proto::Error replies from workers (the item is re-queued)
  double seconds = 0.0;
};

// The learner's answer to one TrainBatch.
struct LearnerReply {
  proto::StepStats stats;
  std::optional<proto::WeightsAnnounce> weights;  // the version published after the step
};

// A connected peer, as seen by the dispatcher.
struct PeerInfo {
  std::string id;  // routing id
  proto::Hello hello;
  int64_t in_flight = 0;
  int64_t policy_version = -1;
  double last_heartbeat_age_s = 0.0;
};

class Dispatcher {
 public:
  static StatusOr<std::unique_ptr<Dispatcher>> Bind(const DispatcherOptions& options,
                                                    zmq::context_t* context = nullptr);
  ~Dispatcher();

  // The bound endpoint (tcp "*" resolved).
  const std::string& endpoint() const;

  // Pumps messages until at least `rollout_workers` rollout peers and `learners` learner peers
  // have said Hello, or `timeout` passes (DeadlineExceeded naming who is missing).
  Status WaitForPeers(int rollout_workers, int learners, std::chrono::milliseconds timeout);

  // See the file comment. REQUIRES: distinct (step, prompt_id, sample_idx) keys.
  StatusOr<std::vector<proto::Trajectory>> Generate(std::vector<proto::GenerateRequest> requests,
                                                    GenerateStats* stats = nullptr);

  // Queues `requests` as work items without waiting: workers are leased them while later calls
  // pump (a Train, another Generate), and their results are kept until a Generate asks for the
  // same keys — how the job loop overlaps generating the next batch with training (max_staleness
  // > 0). Checks like Generate (InvalidArgument, nothing queued); an item already queued or
  // leased is left as it is.
  Status Submit(std::vector<proto::GenerateRequest> requests);

  // See the file comment.
  StatusOr<LearnerReply> Train(const proto::TrainBatch& batch);

  // See the file comment.
  void AnnounceWeights(const proto::WeightsAnnounce& announce);
  // The newest announcement seen (from AnnounceWeights or a learner's reply), if any.
  std::optional<proto::WeightsAnnounce> latest_weights() const;

  // Sends Shutdown to every peer (drain: let them finish and report what they hold; the
  // dispatcher keeps pumping for up to `wait` to collect goodbyes).
  void Shutdown(const std::string& reason, bool drain, std::chrono::milliseconds wait);

  // Drops the bookkeeping of steps < `step` (completed keys, results no call claimed), so a
  // long job keeps bounded memory. Results for those steps that still arrive are dropped.
  void ForgetStepsBefore(int64_t step);

  // Peers known now and not lost (rollout workers and learners).
  std::vector<PeerInfo> Peers() const;
  // {"workers": [...], "learners": [...], "leases": {...}, "queue": n} for /status.
  nlohmann::json StatusJson() const;

 private:
  struct Impl;
  explicit Dispatcher(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace scorch::orchestrator
