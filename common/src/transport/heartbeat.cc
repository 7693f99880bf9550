// Liveness bookkeeping (heartbeat.h).
#include "scorch/common/transport/heartbeat.h"

#include <algorithm>

namespace scorch::transport {

SteadyTime SteadyNow() { return std::chrono::steady_clock::now(); }

HeartbeatTracker::HeartbeatTracker(std::chrono::milliseconds timeout, NowFn now)
    : timeout_(timeout), now_(std::move(now)) {}

void HeartbeatTracker::Beat(const std::string& peer) { deadlines_[peer] = now_() + timeout_; }

bool HeartbeatTracker::Forget(const std::string& peer) { return deadlines_.erase(peer) > 0; }

bool HeartbeatTracker::IsAlive(const std::string& peer) const {
  auto it = deadlines_.find(peer);
  return it != deadlines_.end() && now_() <= it->second;
}

std::vector<std::string> HeartbeatTracker::TakeExpired() {
  const SteadyTime now = now_();
  std::vector<std::string> expired;
  for (auto it = deadlines_.begin(); it != deadlines_.end();) {
    if (now > it->second) {
      expired.push_back(it->first);
      it = deadlines_.erase(it);
    } else {
      ++it;
    }
  }
  std::sort(expired.begin(), expired.end());
  return expired;
}

std::optional<SteadyTime> HeartbeatTracker::NextDeadline() const {
  std::optional<SteadyTime> next;
  for (const auto& [peer, deadline] : deadlines_) {
    if (!next || deadline < *next) next = deadline;
  }
  return next;
}

HeartbeatSchedule::HeartbeatSchedule(std::chrono::milliseconds interval, NowFn now)
    : interval_(interval), now_(std::move(now)) {}

bool HeartbeatSchedule::Due() {
  const SteadyTime now = now_();
  if (last_ && now - *last_ < interval_) return false;
  last_ = now;
  return true;
}

}  // namespace scorch::transport
