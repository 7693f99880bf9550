// Application-level liveness for the control plane (ARCHITECTURE §2: leases are taken back
// when a worker's heartbeats stop).
//
// HeartbeatTracker (receiver side) keeps one liveness deadline per peer: every message from
// a peer counts as a beat (Beat), and a peer silent for longer than `timeout` is expired.
// TakeExpired() hands each expired peer out exactly once, so the caller can re-queue its
// leases. HeartbeatSchedule (sender side) says when the next proto::Heartbeat is due.
//
// Both take an injectable clock (a function returning steady_clock time), so tests drive
// time by hand instead of sleeping.
//
// Thread-safety: NOT thread-safe; used by the thread that owns the socket. Never blocks.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace scorch::transport {

using SteadyTime = std::chrono::steady_clock::time_point;
using NowFn = std::function<SteadyTime()>;

// The real clock: std::chrono::steady_clock::now().
SteadyTime SteadyNow();

class HeartbeatTracker {
 public:
  explicit HeartbeatTracker(std::chrono::milliseconds timeout, NowFn now = SteadyNow);

  // Records that `peer` is alive now (starts tracking an unknown peer).
  void Beat(const std::string& peer);
  // Stops tracking `peer` (it left cleanly). Returns whether it was tracked.
  bool Forget(const std::string& peer);
  // Tracked and not past its deadline.
  bool IsAlive(const std::string& peer) const;
  // Peers past their deadline, sorted; they are no longer tracked afterwards.
  std::vector<std::string> TakeExpired();
  // The earliest deadline among tracked peers (to size a poll timeout); nullopt if none.
  std::optional<SteadyTime> NextDeadline() const;
  size_t size() const { return deadlines_.size(); }

 private:
  std::chrono::milliseconds timeout_;
  NowFn now_;
  std::unordered_map<std::string, SteadyTime> deadlines_;
};

class HeartbeatSchedule {
 public:
  explicit HeartbeatSchedule(std::chrono::milliseconds interval, NowFn now = SteadyNow);

  // True when a heartbeat should be sent now (the first call always is); re-arms itself.
  bool Due();
  // The next sequence number to put in proto::Heartbeat::seq (0, 1, 2, ...).
  uint64_t NextSeq() { return seq_++; }

 private:
  std::chrono::milliseconds interval_;
  NowFn now_;
  std::optional<SteadyTime> last_;
  uint64_t seq_ = 0;
};

}  // namespace scorch::transport
