// The dispatcher's message pump (see dispatcher_impl.h): one handler per message type,
// housekeeping (silent workers, expired leases) and the lease hand-out. Every handler treats
// what a peer sends as untrusted: a wrong key, an unknown lease, an unexpected type or an
// unknown peer is logged (throttled), counted and dropped — never a crash.
#include <algorithm>
#include <charconv>
#include <utility>
#include <variant>

#include "dispatcher_impl.h"
#include "scorch/common/logging.h"

namespace scorch::orchestrator {
namespace {

constexpr size_t kMaxMessagesPerPump = 4096;  // then housekeeping runs even under load
constexpr size_t kDispatchEvery = 64;         // hand out freed credit this often while draining
constexpr auto kSnapshotPeriod = std::chrono::milliseconds(250);
constexpr auto kHousekeepingPeriod = std::chrono::milliseconds(10);

int64_t UnixNowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// Logs the first 20 occurrences of a kind of peer misbehaviour, then every 1000th.
bool ShouldLog(uint64_t count) { return count <= 20 || count % 1000 == 0; }

// The lease id in a rollout worker's Error.in_reply_to, e.g. "GenerateRequest lease 42".
uint64_t ParseLeaseId(const std::string& in_reply_to) {
  const auto pos = in_reply_to.find("lease ");
  if (pos == std::string::npos) return 0;
  const char* begin = in_reply_to.data() + pos + 6;
  const char* end = in_reply_to.data() + in_reply_to.size();
  uint64_t id = 0;
  auto [ptr, ec] = std::from_chars(begin, end, id);
  if (ec != std::errc() || ptr == begin) return 0;
  return id;
}

double SecondsSince(transport::SteadyTime then, transport::SteadyTime now) {
  return std::chrono::duration<double>(now - then).count();
}

}  // namespace

std::string ItemName(const WorkItem& item) {
  return "(step " + std::to_string(item.step) + ", prompt " + std::to_string(item.prompt_id) +
         ", sample " + std::to_string(item.sample_idx) + ")";
}
WorkItem ItemOf(const proto::GenerateRequest& r) { return {r.step, r.prompt_id, r.sample_idx}; }
WorkItem ItemOf(const proto::Trajectory& t) { return {t.step, t.prompt_id, t.sample_idx}; }

Dispatcher::Impl::Impl(const DispatcherOptions& opts, std::unique_ptr<transport::Router> r)
    : options(opts),
      now(opts.now ? opts.now : transport::NowFn(transport::SteadyNow)),
      router(std::move(r)),
      leases(LeaseOptions{opts.lease_timeout}, now),
      heartbeats(opts.heartbeat_timeout, now) {
  UpdateSnapshot(/*force=*/true);
}

PeerState* Dispatcher::Impl::FindPeer(const std::string& id) {
  if (auto it = workers.find(id); it != workers.end()) return &it->second;
  if (auto it = learners.find(id); it != learners.end()) return &it->second;
  return nullptr;
}

int Dispatcher::Impl::CountLive(proto::Role role) const {
  const auto& peers = role == proto::Role::kLearner ? learners : workers;
  int n = 0;
  for (const auto& [id, p] : peers) n += p.lost ? 0 : 1;
  return n;
}

Status Dispatcher::Impl::Pump(std::chrono::milliseconds wait) {
  DispatchWork();
  SCORCH_ASSIGN_OR_RETURN(auto in, router->Receive(std::max(wait, std::chrono::milliseconds(0))));
  size_t handled = 0;
  while (in) {
    Handle(*in);
    if (++handled >= kMaxMessagesPerPump) break;
    if (handled % kDispatchEvery == 0) DispatchWork();
    SCORCH_ASSIGN_OR_RETURN(in, router->Receive(std::chrono::milliseconds(0)));
  }
  // Silence is judged only once every queued message has been read: a worker whose
  // heartbeats sat in the queue while the job loop was busy elsewhere is not silent.
  Housekeeping(/*queue_drained=*/!in.has_value());
  DispatchWork();
  return Status::Ok();
}

void Dispatcher::Impl::Handle(transport::Incoming& in) {
  if (const auto* hello = std::get_if<proto::Hello>(&in.message)) {
    HandleHello(in.peer, *hello);
    return;
  }
  PeerState* peer = FindPeer(in.peer);
  if (peer == nullptr) {
    ++counters.unexpected;
    if (ShouldLog(++unexpected_logged)) {
      SCORCH_LOG(WARNING) << "dispatcher: " << proto::MessageTypeName(in.message) << " from "
                          << transport::PeerName(in.peer) << ", which never said Hello: dropped";
    }
    if (!std::holds_alternative<proto::Error>(in.message)) {
      ReplyError(in.peer, StatusCode::kFailedPrecondition, "unknown peer: send Hello first",
                 std::string(proto::MessageTypeName(in.message)));
    }
    return;
  }
  peer->last_seen = now();
  heartbeats.Beat(in.peer);
  if (peer->hello.role == proto::Role::kLearner) {
    peer->silent_logged = false;
    peer->lost = false;  // (marked lost when a send to it failed; it evidently is back)
    HandleLearnerMessage(*peer, std::move(in.message));
    return;
  }
  if (peer->lost) Readmit(*peer);
  if (auto* hb = std::get_if<proto::Heartbeat>(&in.message)) {
    HandleHeartbeat(*peer, *hb);
  } else if (auto* t = std::get_if<proto::Trajectory>(&in.message)) {
    HandleTrajectory(*peer, std::move(*t));
  } else if (auto* e = std::get_if<proto::Error>(&in.message)) {
    HandleWorkerError(*peer, *e);
  } else {
    ++counters.unexpected;
    const std::string type(proto::MessageTypeName(in.message));
    if (ShouldLog(++unexpected_logged)) {
      SCORCH_LOG(WARNING) << "dispatcher: unexpected " << type << " from rollout worker "
                          << peer->name << ": dropped";
    }
    ReplyError(in.peer, StatusCode::kInvalidArgument,
               "the orchestrator does not take " + type + " from a rollout worker", type);
  }
}

void Dispatcher::Impl::HandleHello(const std::string& id, const proto::Hello& hello) {
  const std::string name = transport::PeerName(id);
  const std::string who = std::string(proto::RoleName(hello.role)) + " rank " +
                          std::to_string(hello.rank) + " (" + name + ", host '" + hello.host +
                          "', pid " + std::to_string(hello.pid) + ")";
  if (options.token && (!hello.token || *hello.token != *options.token)) {
    ++counters.refused_hellos;
    SCORCH_LOG(WARNING) << "dispatcher: refused Hello from " << who << ": "
                        << (hello.token ? "wrong token" : "no token");
    ReplyError(id, StatusCode::kInvalidArgument, "Hello refused: missing or wrong token", "Hello");
    return;
  }
  if (shutting_down) {
    Status s = router->Send(id, proto::Shutdown{"the orchestrator is shutting down", false});
    if (!s.ok()) SCORCH_VLOG(1) << "dispatcher: shutdown reply to " << name << ": " << s;
    return;
  }
  if (hello.role != proto::Role::kRollout && hello.role != proto::Role::kLearner) {
    ++counters.unexpected;
    SCORCH_LOG(WARNING) << "dispatcher: refused Hello from " << who
                        << ": that role does not join the control plane";
    ReplyError(id, StatusCode::kInvalidArgument,
               "role '" + std::string(proto::RoleName(hello.role)) +
                   "' does not join the orchestrator's control plane",
               "Hello");
    return;
  }
  // A peer that changes role (or restarts with the same identity) starts from scratch.
  if (auto it = workers.find(id); it != workers.end()) {
    if (!it->second.lost) {
      const auto requeued = leases.WorkerLost(id);
      if (!requeued.empty()) full_scan = true;
      SCORCH_LOG(WARNING) << "dispatcher: " << who << " said Hello again (restarted?); "
                          << requeued.size() << " of its leases re-queued";
    }
    if (hello.role != proto::Role::kRollout) workers.erase(it);
  }
  if (hello.role == proto::Role::kLearner) {
    for (auto it = learners.begin(); it != learners.end();) {
      if (it->first != id && it->second.hello.rank == hello.rank) {
        SCORCH_LOG(WARNING) << "dispatcher: learner rank " << hello.rank << " (" << it->second.name
                            << ") replaced by " << name;
        heartbeats.Forget(it->first);
        it = learners.erase(it);
      } else {
        ++it;
      }
    }
  } else {
    learners.erase(id);
  }
  auto& peers = hello.role == proto::Role::kLearner ? learners : workers;
  PeerState& p = peers[id];
  p = PeerState{};
  p.id = id;
  p.name = name;
  p.hello = hello;
  p.policy_version = hello.policy_version;
  p.last_seen = now();
  heartbeats.Beat(id);
  membership_changed = true;
  SCORCH_LOG(INFO) << "dispatcher: " << who << " joined (capacity " << hello.capacity
                   << ", policy version " << hello.policy_version << ")";
  if (hello.role == proto::Role::kRollout) {
    leases.RegisterWorker(id, hello.capacity);
    dirty.insert(id);
    if (latest && latest->version != hello.policy_version) {
      Status s = router->Send(id, *latest);
      if (!s.ok()) LoseWorker(p, "weights announcement not delivered: " + s.message());
    }
  }
}

void Dispatcher::Impl::HandleHeartbeat(PeerState& peer, const proto::Heartbeat& hb) {
  peer.policy_version = hb.policy_version;
  peer.reported_in_flight = hb.in_flight;
}

void Dispatcher::Impl::HandleTrajectory(PeerState& peer, proto::Trajectory&& t) {
  const WorkItem key = ItemOf(t);
  std::optional<transport::SteadyTime> leased;
  if (const Lease* lease = leases.FindLease(t.lease_id)) {
    if (!(lease->item == key)) {
      ++counters.mismatched;
      if (ShouldLog(counters.mismatched)) {
        SCORCH_LOG(WARNING) << "dispatcher: trajectory from " << peer.name << " names "
                            << ItemName(key) << " but its lease " << t.lease_id << " is for "
                            << ItemName(lease->item) << ": dropped";
      }
      return;
    }
    leased = lease->deadline - options.lease_timeout;
  }
  dirty.insert(peer.id);
  if (leases.Complete(t.lease_id, key) != LeaseManager::Outcome::kAccepted) {
    ++counters.duplicates;
    SCORCH_VLOG(1) << "dispatcher: late or duplicate result " << ItemName(key) << " (lease "
                   << t.lease_id << ") from " << peer.name << ": dropped";
    return;
  }
  const auto accepted = now();
  if (leased && options.on_result) options.on_result(t.lease_id, *leased, accepted);
  work.erase(key);
  item_errors.erase(key);
  if (gen) {
    if (auto it = gen->index.find(key); it != gen->index.end()) {
      auto& slot = gen->results[it->second];
      if (!slot) {
        slot = std::move(t);
        --gen->remaining;
        gen->last_progress = accepted;
      }
      return;
    }
  }
  parked[key] = std::move(t);  // for a later call asking for this item (e.g. a retried step)
}

void Dispatcher::Impl::HandleWorkerError(PeerState& peer, const proto::Error& e) {
  ++counters.errors;
  const Status status = proto::StatusFromError(e);
  const uint64_t lease_id = ParseLeaseId(e.in_reply_to);
  const Lease* lease = lease_id != 0 ? leases.FindLease(lease_id) : nullptr;
  if (lease == nullptr || lease->worker != peer.id) {
    if (ShouldLog(counters.errors)) {
      SCORCH_LOG(WARNING) << "dispatcher: error from rollout worker " << peer.name << " ("
                          << (e.in_reply_to.empty() ? "no context" : e.in_reply_to)
                          << "): " << status;
    }
    return;
  }
  const WorkItem item = lease->item;
  (void)leases.Release(lease_id);
  full_scan = true;
  if (status.code() == StatusCode::kUnavailable) {
    // The worker is shutting down (or otherwise refuses work): not the item's fault.
    leases.RegisterWorker(peer.id, 0);
    SCORCH_LOG(WARNING) << "dispatcher: rollout worker " << peer.name << " refuses work ("
                        << status.message() << "): no more leases for it; " << ItemName(item)
                        << " re-queued";
    return;
  }
  dirty.insert(peer.id);
  const int n = ++item_errors[item];
  SCORCH_LOG(WARNING) << "dispatcher: rollout worker " << peer.name << " failed " << ItemName(item)
                      << " [" << n << "/" << options.max_item_errors << "]: " << status
                      << "; re-queued";
  if (n >= options.max_item_errors && gen && gen->index.count(item) && gen->fatal.ok()) {
    gen->fatal = Status(status.code() == StatusCode::kOk ? StatusCode::kInternal : status.code(),
                        "Generate: " + ItemName(item) + " failed " + std::to_string(n) +
                            " times; last error from rollout worker " + peer.name + ": " +
                            status.message());
  }
}

void Dispatcher::Impl::HandleLearnerMessage(PeerState& peer, proto::Message&& m) {
  const bool waiting = train && train->learner == peer.id;
  if (auto* hb = std::get_if<proto::Heartbeat>(&m)) {
    peer.policy_version = hb->policy_version;
    peer.reported_in_flight = hb->in_flight;
  } else if (auto* stats = std::get_if<proto::StepStats>(&m)) {
    if (waiting && stats->step == train->step) {
      train->stats = std::move(*stats);
    } else {
      SCORCH_LOG(WARNING) << "dispatcher: StepStats for step " << stats->step << " from learner "
                          << peer.name << " while no TrainBatch for it is pending: dropped";
    }
  } else if (auto* w = std::get_if<proto::WeightsAnnounce>(&m)) {
    RememberWeights(*w);
    peer.policy_version = w->version;
    if (waiting) train->weights = std::move(*w);
  } else if (auto* e = std::get_if<proto::Error>(&m)) {
    const Status status = proto::StatusFromError(*e);
    if (waiting && train->error.ok()) {
      const std::string what = "learner rank " + std::to_string(peer.hello.rank) + " (" +
                               peer.name + ") failed TrainBatch step " +
                               std::to_string(train->step) + ": ";
      train->error = status.code() == StatusCode::kInvalidArgument
                         ? Status::InvalidArgument(what + status.message())
                         : Status::Internal(what + status.ToString());
    } else {
      SCORCH_LOG(WARNING) << "dispatcher: error from learner " << peer.name << ": " << status;
    }
  } else {
    ++counters.unexpected;
    const std::string type(proto::MessageTypeName(m));
    SCORCH_LOG(WARNING) << "dispatcher: unexpected " << type << " from learner " << peer.name
                        << ": dropped";
    ReplyError(peer.id, StatusCode::kInvalidArgument,
               "the orchestrator does not take " + type + " from a learner", type);
  }
}

void Dispatcher::Impl::Housekeeping(bool queue_drained) {
  const auto t = now();
  if (queue_drained && t >= next_housekeeping) {
    next_housekeeping = t + kHousekeepingPeriod;
    for (const std::string& id : heartbeats.TakeExpired()) {
      if (auto it = workers.find(id); it != workers.end()) {
        LoseWorker(it->second, "no message for " +
                                   std::to_string(options.heartbeat_timeout.count()) + " ms");
      } else if (auto lit = learners.find(id); lit != learners.end() && !lit->second.silent_logged) {
        lit->second.silent_logged = true;
        SCORCH_LOG(WARNING) << "dispatcher: learner " << lit->second.name << " silent for "
                            << SecondsSince(lit->second.last_seen, t) << " s";
      }
    }
  }
  if (t >= next_expiry_check) {
    next_expiry_check = t + kHousekeepingPeriod;
    const auto expired = leases.ExpireLeases();
    if (!expired.empty()) {
      full_scan = true;
      SCORCH_LOG(INFO) << "dispatcher: " << expired.size()
                       << " lease(s) passed their deadline; re-queued (first: "
                       << ItemName(expired.front().item) << " on "
                       << transport::PeerName(expired.front().worker) << ")";
    }
  }
  UpdateSnapshot(/*force=*/false);
}

void Dispatcher::Impl::DispatchWork() {
  if (shutting_down || leases.pending() == 0) {
    dirty.clear();
    full_scan = false;
    return;
  }
  std::vector<std::string> candidates;
  if (full_scan) {
    for (const auto& [id, p] : workers) {
      if (!p.lost && leases.free_credit(id) > 0) candidates.push_back(id);
    }
  } else {
    for (const auto& id : dirty) {
      auto it = workers.find(id);
      if (it != workers.end() && !it->second.lost && leases.free_credit(id) > 0) {
        candidates.push_back(id);
      }
    }
  }
  dirty.clear();
  full_scan = false;  // set again by anything below that re-queues work
  if (candidates.empty()) return;
  // Spread the queue over the workers with credit (a fair share each, round-robin start), so
  // a small batch does not all land on the first worker while others idle.
  std::rotate(candidates.begin(),
              candidates.begin() + static_cast<std::ptrdiff_t>(rotation++ % candidates.size()),
              candidates.end());
  while (!candidates.empty() && leases.pending() > 0) {
    const size_t share = (leases.pending() + candidates.size() - 1) / candidates.size();
    size_t assigned = 0;
    std::vector<std::string> next;
    for (const auto& id : candidates) {
      if (leases.pending() == 0) break;
      bool delivered = true;
      for (const Lease& lease : leases.Assign(id, static_cast<int>(share))) {
        ++assigned;
        if (!SendLease(lease)) {
          delivered = false;  // the worker is lost; its leases, this one included, re-queued
          break;
        }
      }
      if (delivered && leases.free_credit(id) > 0) next.push_back(id);
    }
    if (assigned == 0) break;
    candidates.swap(next);
  }
}

bool Dispatcher::Impl::SendLease(const Lease& lease) {
  auto it = work.find(lease.item);
  if (it == work.end()) {
    // Its step was forgotten (ForgetStepsBefore) while it waited: nobody wants it any more.
    (void)leases.Complete(lease.id, lease.item);
    return true;
  }
  proto::GenerateRequest& request = it->second;
  request.lease_id = lease.id;
  request.deadline_unix_ms = UnixNowMs() + options.lease_timeout.count();
  auto bytes = proto::EncodeMessage(request, options.socket.codec);
  if (!bytes.ok()) {
    // Only possible for a request over the size limit: no worker could ever take it.
    (void)leases.Complete(lease.id, lease.item);
    if (gen && gen->index.count(lease.item) && gen->fatal.ok()) {
      gen->fatal = bytes.status().WithContext("Generate: " + ItemName(lease.item));
    }
    work.erase(it);
    return true;
  }
  Status sent = router->SendEncoded(lease.worker, *bytes);
  if (!sent.ok()) {
    LoseWorker(workers[lease.worker], "send failed: " + sent.message());
    return false;
  }
  return true;
}

void Dispatcher::Impl::LoseWorker(PeerState& peer, const std::string& why) {
  if (peer.lost) return;
  const auto requeued = leases.WorkerLost(peer.id);
  peer.lost = true;
  membership_changed = true;
  heartbeats.Forget(peer.id);
  ++counters.workers_lost;
  if (!requeued.empty()) full_scan = true;
  SCORCH_LOG(WARNING) << "dispatcher: rollout worker " << peer.name << " (rank "
                      << peer.hello.rank << ") lost: " << why << "; " << requeued.size()
                      << " lease(s) re-queued";
}

void Dispatcher::Impl::Readmit(PeerState& peer) {
  peer.lost = false;
  membership_changed = true;
  leases.RegisterWorker(peer.id, peer.hello.capacity);
  dirty.insert(peer.id);
  SCORCH_LOG(INFO) << "dispatcher: rollout worker " << peer.name
                   << " speaks again after being declared lost; it gets work again";
  if (latest && latest->version != peer.policy_version) {
    Status s = router->Send(peer.id, *latest);
    if (!s.ok()) LoseWorker(peer, "weights announcement not delivered: " + s.message());
  }
}

void Dispatcher::Impl::ReplyError(const std::string& peer, StatusCode code,
                                  const std::string& message, const std::string& in_reply_to) {
  proto::Error e;
  e.code = static_cast<int32_t>(code);
  e.message = message;
  e.in_reply_to = in_reply_to;
  Status s = router->Send(peer, e);
  if (!s.ok()) SCORCH_VLOG(1) << "dispatcher: error reply to " << transport::PeerName(peer) << ": " << s;
}

void Dispatcher::Impl::RememberWeights(const proto::WeightsAnnounce& a) {
  if (!latest || a.version >= latest->version) latest = a;
}

void Dispatcher::Impl::UpdateSnapshot(bool force) {
  const auto t = now();
  if (!force && !membership_changed && t < next_snapshot) return;
  next_snapshot = t + kSnapshotPeriod;
  membership_changed = false;
  nlohmann::json status = BuildStatus();
  std::lock_guard<std::mutex> lock(snapshot_mu);
  snapshot = std::move(status);
}

nlohmann::json Dispatcher::Impl::BuildStatus() const {
  const auto t = now();
  auto peer_json = [&](const PeerState& p) {
    return nlohmann::json{{"id", p.name},
                          {"rank", p.hello.rank},
                          {"capacity", p.hello.capacity},
                          {"in_flight", p.hello.role == proto::Role::kRollout
                                            ? static_cast<int64_t>(leases.in_flight(p.id))
                                            : p.reported_in_flight},
                          {"policy_version", p.policy_version},
                          {"last_heartbeat_age_s", SecondsSince(p.last_seen, t)},
                          {"lost", p.lost},
                          {"host", p.hello.host},
                          {"pid", p.hello.pid}};
  };
  nlohmann::json out;
  out["workers"] = nlohmann::json::array();
  for (const auto& [id, p] : workers) out["workers"].push_back(peer_json(p));
  out["learners"] = nlohmann::json::array();
  for (const auto& [id, p] : learners) out["learners"].push_back(peer_json(p));
  const LeaseStats& s = leases.stats();
  out["leases"] = {{"added", s.added},         {"assigned", s.assigned},
                   {"completed", s.completed}, {"duplicates", s.duplicates},
                   {"expired", s.expired},     {"lost", s.lost},
                   {"released", s.released},   {"in_flight", leases.in_flight()}};
  out["queue"] = leases.pending();
  out["parked_results"] = parked.size();
  out["latest_weights_version"] =
      latest ? nlohmann::json(latest->version) : nlohmann::json(nullptr);
  out["peer_faults"] = {{"refused_hellos", counters.refused_hellos},
                        {"unexpected_messages", counters.unexpected},
                        {"mismatched_results", counters.mismatched},
                        {"worker_errors", counters.errors},
                        {"workers_lost", counters.workers_lost},
                        {"malformed_frames", router ? router->malformed_count() : 0}};
  out["shutting_down"] = shutting_down;
  return out;
}

}  // namespace scorch::orchestrator
