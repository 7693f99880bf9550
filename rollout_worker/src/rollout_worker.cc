// RolloutWorker: the DEALER loop of the rollout role (see the header for the protocol).
#include "scorch/rollout/rollout_worker.h"

#include <unistd.h>

#include <utility>
#include <variant>

#include "scorch/common/logging.h"
#include "scorch/common/transport/dealer.h"

namespace scorch::rollout {
namespace {

int64_t NowUnixMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string HostName() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "";
  return buf;
}

}  // namespace

RolloutWorker::RolloutWorker(const RolloutWorkerConfig& config, RolloutEngine& engine, ApplyWeightsFn apply_weights)
    : config_(config), engine_(engine), apply_weights_(std::move(apply_weights)),
      version_(config.initial_policy_version) {}

Status RolloutWorker::Run() {
  transport::DealerOptions dopts;
  dopts.identity = config_.identity;
  SCORCH_ASSIGN_OR_RETURN(auto dealer, transport::Dealer::Connect(config_.endpoint, dopts));
  proto::Hello hello;
  hello.role = proto::Role::kRollout;
  hello.rank = config_.rank;
  hello.capacity = config_.capacity;
  hello.policy_version = version_;
  hello.pid = static_cast<int64_t>(getpid());
  hello.host = HostName();
  hello.token = config_.token;
  SCORCH_RETURN_IF_ERROR(dealer->Send(hello));

  std::deque<proto::GenerateRequest> held;         // accepted, not yet started
  std::optional<proto::WeightsAnnounce> pending;   // a swap waiting for the engine to drain
  std::optional<proto::Shutdown> shutdown;
  uint64_t heartbeat_seq = 0;
  auto next_heartbeat = std::chrono::steady_clock::now();

  auto send_error = [&](const proto::GenerateRequest& r, const Status& s) -> Status {
    ++stats_.rejected;
    proto::Error e;
    e.code = static_cast<int32_t>(s.code());
    e.message = s.message();
    e.in_reply_to = "GenerateRequest lease " + std::to_string(r.lease_id);
    return dealer->Send(e);
  };

  while (true) {
    // 1. Messages: wait only when there is nothing to compute.
    const bool busy = !engine_.Idle() || (!held.empty() && !pending);
    auto wait = busy ? std::chrono::milliseconds(0) : config_.idle_poll;
    while (true) {
      SCORCH_ASSIGN_OR_RETURN(auto in, dealer->Receive(wait));
      if (!in) break;
      wait = std::chrono::milliseconds(0);
      if (auto* req = std::get_if<proto::GenerateRequest>(&*in)) {
        ++stats_.requests;
        if (shutdown) {
          SCORCH_RETURN_IF_ERROR(send_error(*req, Status::Unavailable("rollout worker is shutting down")));
        } else if (pending || !held.empty() || req->score_head != score_head_) {
          // After an announcement (new weights), behind held work (order), or for another
          // SWIFT head (installed once the engine drains): start it later.
          held.push_back(std::move(*req));
        } else if (Status st = engine_.Submit(*req, version_); !st.ok()) {
          SCORCH_RETURN_IF_ERROR(send_error(*req, st));
        }
      } else if (auto* w = std::get_if<proto::WeightsAnnounce>(&*in)) {
        if (w->version != version_) pending = *w;
      } else if (auto* e = std::get_if<proto::Error>(&*in); e != nullptr && e->in_reply_to == "Hello") {
        // Refused (a wrong or missing token, a role the orchestrator does not take): nothing
        // this worker does later can change that, so it ends instead of waiting for work.
        return Status::FailedPrecondition("the orchestrator at " + config_.endpoint +
                                          " refused this worker: " + e->message);
      } else if (auto* s = std::get_if<proto::Shutdown>(&*in)) {
        SCORCH_LOG(INFO) << "rollout worker: shutdown (" << s->reason << ", drain=" << s->drain << ")";
        if (!s->drain) return Status::Ok();
        shutdown = *s;
      }
    }
    // 2. A weight swap happens only between sequences: when nothing is in flight.
    if (pending && engine_.Idle()) {
      SCORCH_RETURN_IF_ERROR(apply_weights_(*pending).WithContext("applying weights version " +
                                                                   std::to_string(pending->version)));
      version_ = pending->version;
      pending.reset();
      ++stats_.weight_swaps;
    }
    // 3. Start held work unless a swap is draining the engine.
    while (!pending && !held.empty()) {
      if (held.front().score_head != score_head_) {
        if (!engine_.Idle()) break;  // the head changes only between sequences
        const std::optional<std::string> want = held.front().score_head;
        Status loaded = apply_score_head_
                            ? apply_score_head_(want)
                            : Status::FailedPrecondition("this rollout worker cannot score with a SWIFT head");
        if (!loaded.ok()) {
          proto::GenerateRequest r = std::move(held.front());
          held.pop_front();
          SCORCH_RETURN_IF_ERROR(send_error(r, loaded.WithContext("score_head " + want.value_or("(none)"))));
          continue;
        }
        score_head_ = want;
        ++stats_.head_swaps;
      }
      proto::GenerateRequest r = std::move(held.front());
      held.pop_front();
      Status s = engine_.Submit(r, version_);
      if (!s.ok()) SCORCH_RETURN_IF_ERROR(send_error(r, s));
    }
    // 4. One batched step; send what finished.
    if (!engine_.Idle()) {
      for (auto& e : engine_.Step()) {
        stats_.malformed_verdicts += e.stats.malformed_verdicts;
        if (!e.stats.error.empty()) {
          SCORCH_LOG(WARNING) << "rollout worker: trajectory (step " << e.trajectory.step << ", prompt "
                              << e.trajectory.prompt_id << ", sample " << e.trajectory.sample_idx
                              << ") aborted: " << e.stats.error;
        }
        ++stats_.trajectories;
        SCORCH_RETURN_IF_ERROR(dealer->Send(std::move(e.trajectory)));
      }
    }
    // 5. Heartbeat.
    const auto now = std::chrono::steady_clock::now();
    if (now >= next_heartbeat) {
      proto::Heartbeat hb;
      hb.seq = heartbeat_seq++;
      hb.sent_unix_ms = NowUnixMs();
      hb.in_flight = static_cast<int32_t>(engine_.in_flight() + static_cast<int64_t>(held.size()));
      hb.policy_version = version_;
      SCORCH_RETURN_IF_ERROR(dealer->Send(hb));
      ++stats_.heartbeats;
      next_heartbeat = now + config_.heartbeat_interval;
    }
    if (shutdown && engine_.Idle() && held.empty()) return Status::Ok();
  }
}

}  // namespace scorch::rollout
