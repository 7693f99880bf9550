// RolloutWorker: the rollout role's process loop. Connects to the orchestrator as a DEALER,
// says Hello (role rollout, its capacity = work items it accepts in flight, the policy
// version it holds), then loops:
//   * takes GenerateRequests and starts them in the RolloutEngine (continuous batching);
//   * runs one engine step whenever work is in flight and sends each finished Trajectory,
//     stamped with the policy version that generated every one of its tokens;
//   * sends a Heartbeat every heartbeat_interval (in-flight count, policy version);
//   * messages are handled in arrival order: a request that arrives before an announcement
//     starts under the old weights, one that arrives after it under the new ones;
//   * on WeightsAnnounce: DRAIN, not abort — requests that arrive afterwards are held back,
//     the trajectories in flight finish under the old version, and the new weights are
//     applied (ApplyWeightsFn) only once the engine is idle; then the held requests start
//     under the new version. So no trajectory ever mixes two versions and no work is lost;
//     the cost is a pipeline bubble as long as the longest in-flight trajectory. A newer
//     announcement that arrives while draining replaces the older one.
//   * on Shutdown{drain=true}: accepts no new requests (answers them with an Error), finishes
//     everything already accepted, sends it, returns OK. Shutdown{drain=false}: returns at
//     once; in-flight leases are simply not answered and the orchestrator reassigns them
//     when they expire.
//   * a request naming a SWIFT head (GenerateRequest::score_head) other than the one the
//     step model scores with waits, like a weight swap, until the engine is idle; then the
//     ApplyScoreHeadFn installs it (or removes it, for a request without one) and the request
//     starts. A head that cannot be loaded fails that request only (an Error naming the head).
// A request the engine rejects (unknown protocol, bad sampling) is answered with a
// proto::Error naming its lease.
//
// Ownership: borrows the engine; owns its Dealer. Thread-safety: Run() is called from one
// thread, which then owns the engine. Blocking: Run() blocks until Shutdown or a socket
// failure. Errors: Run returns the Dealer's error when the socket fails, the
// ApplyWeightsFn's error (the worker cannot continue on weights it failed to load), or
// FailedPrecondition when the orchestrator refuses its Hello (wrong or missing token).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>

#include "scorch/common/proto/message.h"
#include "scorch/common/status.h"
#include "scorch/rollout/rollout_engine.h"

namespace scorch::rollout {

struct RolloutWorkerConfig {
  std::string endpoint;                                  // orchestrator ROUTER endpoint
  std::string identity;                                  // DEALER routing id (empty = assigned)
  int32_t rank = 0;                                      // rank within the rollout role
  int32_t capacity = 8;                                  // work items accepted in flight
  int64_t initial_policy_version = 0;                    // version of the weights loaded at start
  std::chrono::milliseconds heartbeat_interval{1000};    // between heartbeats
  std::chrono::milliseconds idle_poll{50};               // receive wait when no work is in flight
  std::optional<std::string> token;                      // shared secret sent in Hello, if any
};

// Loads and installs the announced weights. Called only while no sequence is in flight.
using ApplyWeightsFn = std::function<Status(const proto::WeightsAnnounce&)>;

// Installs the SWIFT head in `dir` (nullopt: scoring off). Called only while no sequence is in
// flight. Without one, a request naming a head is refused with FailedPrecondition.
using ApplyScoreHeadFn = std::function<Status(const std::optional<std::string>& dir)>;

struct RolloutWorkerStats {
  int64_t requests = 0;
  int64_t trajectories = 0;
  int64_t rejected = 0;
  int64_t weight_swaps = 0;
  int64_t heartbeats = 0;
  int64_t malformed_verdicts = 0;
  int64_t head_swaps = 0;
};

class RolloutWorker {
 public:
  RolloutWorker(const RolloutWorkerConfig& config, RolloutEngine& engine, ApplyWeightsFn apply_weights);

  // Runs the loop above until Shutdown. See the file comment for errors.
  [[nodiscard]] Status Run();

  // Lets requests name a SWIFT head (see above). Call before Run().
  void set_score_head_loader(ApplyScoreHeadFn fn) { apply_score_head_ = std::move(fn); }

  int64_t policy_version() const { return version_; }
  const RolloutWorkerStats& stats() const { return stats_; }

 private:
  RolloutWorkerConfig config_;
  RolloutEngine& engine_;
  ApplyWeightsFn apply_weights_;
  ApplyScoreHeadFn apply_score_head_;
  std::optional<std::string> score_head_;  // the head the step model scores with now
  int64_t version_ = 0;
  RolloutWorkerStats stats_;
};

}  // namespace scorch::rollout
