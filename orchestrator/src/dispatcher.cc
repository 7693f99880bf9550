// Dispatcher: the job loop's blocking calls (dispatcher.h). Each call states what it waits
// for and pumps messages (dispatcher_pump.cc) until that holds or its bound passes.
#include "scorch/orchestrator/dispatcher.h"

#include <algorithm>
#include <map>
#include <thread>
#include <utility>

#include "dispatcher_impl.h"
#include "scorch/common/logging.h"

namespace scorch::orchestrator {
namespace {

using Ms = std::chrono::milliseconds;

double Seconds(transport::SteadyTime::duration d) {
  return std::chrono::duration<double>(d).count();
}

// How long to wait in one pump: the poll interval, but not past `deadline`.
Ms WaitUntil(transport::SteadyTime now, transport::SteadyTime deadline, Ms poll) {
  if (now >= deadline) return Ms(0);
  const auto left = std::chrono::ceil<Ms>(deadline - now);
  return std::min(left, poll);
}

std::string Names(const std::map<std::string, PeerState>& peers) {
  std::string out;
  int shown = 0;
  for (const auto& [id, p] : peers) {
    if (p.lost) continue;
    if (shown == 5) return out + ", ...";
    out += (shown++ ? ", " : "") + p.name;
  }
  return out;
}

Status ValidateOptions(const DispatcherOptions& o) {
  auto positive = [](Ms v, const char* name) -> Status {
    if (v.count() <= 0) {
      return Status::InvalidArgument(std::string("DispatcherOptions.") + name + ": " +
                                     std::to_string(v.count()) + " ms is not > 0");
    }
    return Status::Ok();
  };
  SCORCH_RETURN_IF_ERROR(positive(o.lease_timeout, "lease_timeout"));
  SCORCH_RETURN_IF_ERROR(positive(o.heartbeat_timeout, "heartbeat_timeout"));
  SCORCH_RETURN_IF_ERROR(positive(o.stall_timeout, "stall_timeout"));
  SCORCH_RETURN_IF_ERROR(positive(o.train_timeout, "train_timeout"));
  SCORCH_RETURN_IF_ERROR(positive(o.poll_interval, "poll_interval"));
  if (o.max_item_errors < 1) {
    return Status::InvalidArgument("DispatcherOptions.max_item_errors: " +
                                   std::to_string(o.max_item_errors) + " is not >= 1");
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<Dispatcher>> Dispatcher::Bind(const DispatcherOptions& options,
                                                       zmq::context_t* context) {
  SCORCH_RETURN_IF_ERROR(ValidateOptions(options));
  auto router = transport::Router::Bind(options.endpoint, options.socket, context);
  if (!router.ok()) return router.status().WithContext("dispatcher");
  SCORCH_LOG(INFO) << "dispatcher: listening on " << (*router)->endpoint();
  return std::unique_ptr<Dispatcher>(
      new Dispatcher(std::make_unique<Impl>(options, std::move(router).value())));
}

Dispatcher::Dispatcher(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Dispatcher::~Dispatcher() = default;

const std::string& Dispatcher::endpoint() const { return impl_->router->endpoint(); }

Status Dispatcher::WaitForPeers(int rollout_workers, int learners, Ms timeout) {
  Impl& d = *impl_;
  d.owner = std::this_thread::get_id();
  const auto deadline = d.now() + timeout;
  while (true) {
    const int have_workers = d.CountLive(proto::Role::kRollout);
    const int have_learners = d.CountLive(proto::Role::kLearner);
    if (have_workers >= rollout_workers && have_learners >= learners) {
      d.UpdateSnapshot(/*force=*/false);
      return Status::Ok();
    }
    const auto t = d.now();
    if (t >= deadline) {
      d.UpdateSnapshot(/*force=*/false);
      return Status::DeadlineExceeded(
          "dispatcher: waited " + std::to_string(Seconds(timeout)) + " s for " +
          std::to_string(rollout_workers) + " rollout worker(s) and " + std::to_string(learners) +
          " learner(s) on " + d.router->endpoint() + "; have " + std::to_string(have_workers) +
          " rollout worker(s) [" + Names(d.workers) + "] and " + std::to_string(have_learners) +
          " learner(s) [" + Names(d.learners) + "]");
    }
    SCORCH_RETURN_IF_ERROR(d.Pump(WaitUntil(t, deadline, d.options.poll_interval)));
  }
}

StatusOr<std::vector<proto::Trajectory>> Dispatcher::Generate(
    std::vector<proto::GenerateRequest> requests, GenerateStats* stats) {
  Impl& d = *impl_;
  d.owner = std::this_thread::get_id();
  if (d.shutting_down) return Status::FailedPrecondition("Generate after Shutdown");
  const auto start = d.now();
  const LeaseStats lease_base = d.leases.stats();
  const DispatchCounters base = d.counters;

  // Check everything before changing any state, so a refused call leaves none behind.
  GenerateCall call;
  call.results.resize(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    Status valid = proto::Validate(requests[i]);
    if (!valid.ok()) return valid.WithContext("Generate: request " + std::to_string(i));
    const WorkItem key = ItemOf(requests[i]);
    auto [it, inserted] = call.index.emplace(key, i);
    if (!inserted) {
      return Status::InvalidArgument("Generate: requests " + std::to_string(it->second) + " and " +
                                     std::to_string(i) + " are the same item " + ItemName(key));
    }
    if (d.leases.IsComplete(key) && !d.parked.count(key)) {
      return Status::InvalidArgument("Generate: " + ItemName(key) +
                                     " was already generated and returned by an earlier call");
    }
  }
  for (size_t i = 0; i < requests.size(); ++i) {
    const WorkItem key = ItemOf(requests[i]);
    if (auto parked = d.parked.find(key); parked != d.parked.end()) {
      call.results[i] = std::move(parked->second);  // finished after an earlier call gave up
      d.parked.erase(parked);
      continue;
    }
    ++call.remaining;
    d.leases.AddWork(key);  // no-op for an item still queued or leased from an earlier call
    d.work[key] = std::move(requests[i]);
  }
  d.full_scan = true;
  call.last_progress = start;
  d.gen = std::move(call);

  Status result;
  while (d.gen->remaining > 0) {
    if (!d.gen->fatal.ok()) {
      result = d.gen->fatal;
      break;
    }
    const auto t = d.now();
    const auto stall_deadline = d.gen->last_progress + d.options.stall_timeout;
    if (t >= stall_deadline) {
      result = Status::DeadlineExceeded(
          "Generate: no trajectory for " + std::to_string(Seconds(d.options.stall_timeout)) +
          " s (stall_timeout); " + std::to_string(d.gen->remaining) + " of " +
          std::to_string(d.gen->results.size()) + " items missing; " +
          std::to_string(d.CountLive(proto::Role::kRollout)) + " rollout worker(s) connected [" +
          Names(d.workers) + "] on " + d.router->endpoint());
      break;
    }
    result = d.Pump(WaitUntil(t, stall_deadline, d.options.poll_interval));
    if (!result.ok()) break;
  }

  if (stats != nullptr) {
    const LeaseStats& s = d.leases.stats();
    stats->requests = static_cast<int64_t>(d.gen->results.size());
    stats->leases = s.assigned - lease_base.assigned;
    stats->duplicates = d.counters.duplicates - base.duplicates;
    stats->expired = s.expired - lease_base.expired;
    stats->lost_leases = s.lost - lease_base.lost;
    stats->workers_lost = d.counters.workers_lost - base.workers_lost;
    stats->errors = d.counters.errors - base.errors;
    stats->seconds = Seconds(d.now() - start);
  }
  GenerateCall done = std::move(*d.gen);
  d.gen.reset();
  d.UpdateSnapshot(/*force=*/false);
  if (!result.ok()) {
    // Items not yet done stay queued or leased; results that arrive later are kept for a
    // call that asks for the same items (e.g. the job loop retrying the step).
    SCORCH_LOG(WARNING) << "dispatcher: " << result;
    for (size_t i = 0; i < done.results.size(); ++i) {
      // Results this call did get are kept too, so a retry does not redo them.
      if (done.results[i]) d.parked[ItemOf(*done.results[i])] = std::move(*done.results[i]);
    }
    return result;
  }
  std::vector<proto::Trajectory> out;
  out.reserve(done.results.size());
  for (auto& r : done.results) out.push_back(std::move(*r));
  return out;
}

Status Dispatcher::Submit(std::vector<proto::GenerateRequest> requests) {
  Impl& d = *impl_;
  d.owner = std::this_thread::get_id();
  if (d.shutting_down) return Status::FailedPrecondition("Submit after Shutdown");
  std::map<WorkItem, size_t> index;
  for (size_t i = 0; i < requests.size(); ++i) {
    Status valid = proto::Validate(requests[i]);
    if (!valid.ok()) return valid.WithContext("Submit: request " + std::to_string(i));
    const WorkItem key = ItemOf(requests[i]);
    auto [it, inserted] = index.emplace(key, i);
    if (!inserted) {
      return Status::InvalidArgument("Submit: requests " + std::to_string(it->second) + " and " + std::to_string(i) +
                                     " are the same item " + ItemName(key));
    }
    if (d.leases.IsComplete(key) && !d.parked.count(key)) {
      return Status::InvalidArgument("Submit: " + ItemName(key) + " was already generated and returned by an earlier call");
    }
  }
  for (auto& r : requests) {
    const WorkItem key = ItemOf(r);
    if (d.parked.count(key) || d.leases.IsComplete(key)) continue;  // done already, waiting to be claimed
    d.leases.AddWork(key);
    d.work[key] = std::move(r);
  }
  d.full_scan = true;
  return Status::Ok();
}

StatusOr<LearnerReply> Dispatcher::Train(const proto::TrainBatch& batch) {
  Impl& d = *impl_;
  d.owner = std::this_thread::get_id();
  if (d.shutting_down) return Status::FailedPrecondition("Train after Shutdown");
  const std::string what = "Train: TrainBatch step " + std::to_string(batch.step);
  auto bytes = proto::EncodeMessage(batch, d.options.socket.codec);
  if (!bytes.ok()) return bytes.status().WithContext(what);
  const auto deadline = d.now() + d.options.train_timeout;

  auto find_learner = [&d]() -> PeerState* {
    for (auto& [id, p] : d.learners) {
      if (!p.lost && p.hello.rank == 0) return &p;
    }
    return nullptr;
  };
  PeerState* learner = find_learner();
  while (learner == nullptr) {
    const auto t = d.now();
    if (t >= deadline) {
      return Status::DeadlineExceeded(what + ": no learner rank 0 connected within " +
                                      std::to_string(Seconds(d.options.train_timeout)) + " s");
    }
    SCORCH_RETURN_IF_ERROR(d.Pump(WaitUntil(t, deadline, d.options.poll_interval)));
    learner = find_learner();
  }
  const std::string learner_id = learner->id;
  const std::string learner_name = learner->name;
  Status sent = d.router->SendEncoded(learner_id, *bytes);
  if (!sent.ok()) {
    learner->lost = true;
    SCORCH_LOG(WARNING) << "dispatcher: learner " << learner_name << " unreachable: " << sent;
    return Status::Unavailable(what + ": learner rank 0 (" + learner_name +
                               ") unreachable: " + sent.message());
  }
  d.train = TrainWait{learner_id, batch.step, std::nullopt, std::nullopt, Status::Ok()};
  const bool need_weights = d.options.train_expects_weights && !batch.samples.empty();

  Status result;
  while (true) {
    if (!d.train->error.ok()) {
      result = d.train->error;
      break;
    }
    if (d.train->stats && (!need_weights || d.train->weights)) break;
    const auto t = d.now();
    if (t >= deadline) {
      result = Status::DeadlineExceeded(
          what + ": learner rank 0 (" + learner_name + ") did not answer within " +
          std::to_string(Seconds(d.options.train_timeout)) + " s (step stats " +
          (d.train->stats ? "received" : "not received") + ", weights " +
          (d.train->weights ? "received" : "not received") + ")");
      break;
    }
    result = d.Pump(WaitUntil(t, deadline, d.options.poll_interval));
    if (!result.ok()) break;
  }
  TrainWait done = std::move(*d.train);
  d.train.reset();
  d.UpdateSnapshot(/*force=*/false);
  if (!result.ok()) return result;
  LearnerReply reply;
  reply.stats = std::move(*done.stats);
  reply.weights = std::move(done.weights);
  return reply;
}

void Dispatcher::AnnounceWeights(const proto::WeightsAnnounce& announce) {
  Impl& d = *impl_;
  d.owner = std::this_thread::get_id();
  auto bytes = proto::EncodeMessage(announce, d.options.socket.codec);
  if (!bytes.ok()) {
    SCORCH_LOG(ERROR) << "dispatcher: weights announcement not sent: " << bytes.status();
    return;
  }
  d.RememberWeights(announce);
  int delivered = 0;
  for (auto& [id, peer] : d.workers) {
    if (peer.lost) continue;
    Status s = d.router->SendEncoded(id, *bytes);
    if (s.ok()) {
      ++delivered;
    } else {
      d.LoseWorker(peer, "weights announcement not delivered: " + s.message());
    }
  }
  // Every training step announces weights: say so at INFO only when the audience changes
  // (the per-step line is SCORCH_VLOG(1), logging.verbosity >= 1).
  if (delivered != d.last_announced_to) {
    SCORCH_LOG(INFO) << "dispatcher: announced weights version " << announce.version << " to " << delivered
                     << " rollout worker(s) (further announcements at verbosity 1)";
    d.last_announced_to = delivered;
  } else {
    SCORCH_VLOG(1) << "dispatcher: announced weights version " << announce.version << " to " << delivered
                   << " rollout worker(s)";
  }
  d.UpdateSnapshot(/*force=*/false);
}

std::optional<proto::WeightsAnnounce> Dispatcher::latest_weights() const { return impl_->latest; }

void Dispatcher::Shutdown(const std::string& reason, bool drain, Ms wait) {
  Impl& d = *impl_;
  d.owner = std::this_thread::get_id();
  d.shutting_down = true;
  auto bytes = proto::EncodeMessage(proto::Shutdown{reason, drain}, d.options.socket.codec);
  if (bytes.ok()) {
    for (auto* peers : {&d.workers, &d.learners}) {
      for (const auto& [id, peer] : *peers) {
        if (peer.lost) continue;
        Status s = d.router->SendEncoded(id, *bytes);
        if (!s.ok()) SCORCH_VLOG(1) << "dispatcher: shutdown to " << peer.name << ": " << s;
      }
    }
  }
  SCORCH_LOG(INFO) << "dispatcher: shutdown (" << reason << ", drain=" << drain << ") sent to "
                   << d.CountLive(proto::Role::kRollout) << " rollout worker(s) and "
                   << d.CountLive(proto::Role::kLearner) << " learner(s)";
  if (drain) {
    const auto deadline = d.now() + wait;
    while (d.leases.in_flight() > 0) {
      const auto t = d.now();
      if (t >= deadline) {
        SCORCH_LOG(WARNING) << "dispatcher: " << d.leases.in_flight()
                            << " lease(s) still in flight after the shutdown wait";
        break;
      }
      Status s = d.Pump(WaitUntil(t, deadline, d.options.poll_interval));
      if (!s.ok()) {
        SCORCH_LOG(WARNING) << "dispatcher: shutdown drain stopped: " << s;
        break;
      }
    }
  }
  d.UpdateSnapshot(/*force=*/true);
}

void Dispatcher::ForgetStepsBefore(int64_t step) {
  Impl& d = *impl_;
  d.owner = std::this_thread::get_id();
  d.leases.ForgetStepsBefore(step);
  auto drop = [step](auto& m) {
    for (auto it = m.begin(); it != m.end() && it->first.step < step;) it = m.erase(it);
  };
  drop(d.work);
  drop(d.item_errors);
  drop(d.parked);
}

std::vector<PeerInfo> Dispatcher::Peers() const {
  const Impl& d = *impl_;
  const auto t = d.now();
  std::vector<PeerInfo> out;
  for (const auto* peers : {&d.workers, &d.learners}) {
    for (const auto& [id, p] : *peers) {
      if (p.lost) continue;
      PeerInfo info;
      info.id = id;
      info.hello = p.hello;
      info.in_flight = p.hello.role == proto::Role::kRollout
                           ? static_cast<int64_t>(d.leases.in_flight(id))
                           : p.reported_in_flight;
      info.policy_version = p.policy_version;
      info.last_heartbeat_age_s = Seconds(t - p.last_seen);
      out.push_back(std::move(info));
    }
  }
  return out;
}

nlohmann::json Dispatcher::StatusJson() const {
  // The job-loop thread may read the live state; any other thread gets the latest snapshot
  // (refreshed by the pump at most every 250 ms: building it is O(peers)).
  if (impl_->owner.load() == std::this_thread::get_id()) return impl_->BuildStatus();
  std::lock_guard<std::mutex> lock(impl_->snapshot_mu);
  return impl_->snapshot;
}

}  // namespace scorch::orchestrator
