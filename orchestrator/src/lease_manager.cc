#include "scorch/orchestrator/lease_manager.h"

#include <algorithm>

namespace scorch::orchestrator {

LeaseManager::LeaseManager(const LeaseOptions& options, transport::NowFn now)
    : options_(options), now_(std::move(now)) {}

void LeaseManager::AddWork(const WorkItem& item) {
  if (!known_.insert(item).second) return;  // already queued, leased or done
  queue_.push_back(item);
  ++stats_.added;
}

void LeaseManager::RegisterWorker(const std::string& worker, int capacity) {
  capacity_[worker] = std::max(0, capacity);
  held_.try_emplace(worker, 0);
}

std::vector<Lease> LeaseManager::Assign(const std::string& worker, int max_leases) {
  std::vector<Lease> out;
  auto cap = capacity_.find(worker);
  if (cap == capacity_.end()) return out;
  int& held = held_[worker];
  const auto deadline = now_() + options_.lease_timeout;
  while (held < cap->second && static_cast<int>(out.size()) < max_leases && !queue_.empty()) {
    WorkItem item = queue_.front();
    queue_.pop_front();
    if (completed_.count(item)) continue;  // finished by a late result while queued
    Lease lease{next_lease_id_++, item, worker, deadline};
    leases_.emplace(lease.id, lease);
    ++held;
    ++stats_.assigned;
    out.push_back(std::move(lease));
  }
  return out;
}

LeaseManager::Outcome LeaseManager::Complete(uint64_t lease_id, const WorkItem& item) {
  auto it = leases_.find(lease_id);
  if (it != leases_.end()) {
    --held_[it->second.worker];
    leases_.erase(it);
  }
  if (completed_.count(item)) {
    ++stats_.duplicates;
    return Outcome::kDuplicate;
  }
  if (!known_.count(item)) return Outcome::kUnknownItem;
  completed_.insert(item);
  ++stats_.completed;
  // A re-queued copy may still wait in the queue; Assign() skips completed items.
  return Outcome::kAccepted;
}

void LeaseManager::Requeue(const Lease& lease, bool front) {
  auto held = held_.find(lease.worker);
  if (held != held_.end()) --held->second;
  if (completed_.count(lease.item)) return;
  if (front) {
    queue_.push_front(lease.item);
  } else {
    queue_.push_back(lease.item);
  }
}

std::vector<Lease> LeaseManager::ExpireLeases() {
  std::vector<Lease> expired;
  const auto now = now_();
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.deadline <= now) {
      expired.push_back(it->second);
      it = leases_.erase(it);
    } else {
      ++it;
    }
  }
  // Oldest lease first at the front of the queue: push in reverse.
  for (auto it = expired.rbegin(); it != expired.rend(); ++it) Requeue(*it, /*front=*/true);
  stats_.expired += static_cast<int64_t>(expired.size());
  return expired;
}

std::optional<Lease> LeaseManager::Release(uint64_t lease_id) {
  auto it = leases_.find(lease_id);
  if (it == leases_.end()) return std::nullopt;
  Lease lease = it->second;
  leases_.erase(it);
  Requeue(lease, /*front=*/true);
  ++stats_.released;
  return lease;
}

const Lease* LeaseManager::FindLease(uint64_t lease_id) const {
  auto it = leases_.find(lease_id);
  return it == leases_.end() ? nullptr : &it->second;
}

std::vector<Lease> LeaseManager::WorkerLost(const std::string& worker) {
  std::vector<Lease> lost;
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.worker == worker) {
      lost.push_back(it->second);
      it = leases_.erase(it);
    } else {
      ++it;
    }
  }
  for (auto it = lost.rbegin(); it != lost.rend(); ++it) Requeue(*it, /*front=*/true);
  capacity_.erase(worker);
  held_.erase(worker);
  stats_.lost += static_cast<int64_t>(lost.size());
  return lost;
}

size_t LeaseManager::in_flight(const std::string& worker) const {
  auto it = held_.find(worker);
  return it == held_.end() ? 0 : static_cast<size_t>(std::max(0, it->second));
}

int LeaseManager::free_credit(const std::string& worker) const {
  auto cap = capacity_.find(worker);
  if (cap == capacity_.end()) return 0;
  return std::max(0, cap->second - static_cast<int>(in_flight(worker)));
}

std::vector<std::string> LeaseManager::workers() const {
  std::vector<std::string> out;
  for (const auto& [w, c] : capacity_) out.push_back(w);
  std::sort(out.begin(), out.end());
  return out;
}

std::optional<transport::SteadyTime> LeaseManager::NextDeadline() const {
  std::optional<transport::SteadyTime> best;
  for (const auto& [id, lease] : leases_) {
    if (!best || lease.deadline < *best) best = lease.deadline;
  }
  return best;
}

void LeaseManager::ForgetStepsBefore(int64_t step) {
  auto drop = [step](std::set<WorkItem>& s) {
    for (auto it = s.begin(); it != s.end() && it->step < step;) it = s.erase(it);
  };
  drop(completed_);
  drop(known_);
}

}  // namespace scorch::orchestrator
