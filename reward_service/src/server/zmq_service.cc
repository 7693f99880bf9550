// ZeroMQ grade service. See zmq_service.h.
#include "scorch/reward/zmq_service.h"

#include "scorch/common/logging.h"

namespace scorch::reward {
namespace {

// Wire protocol names, with the long aliases other roles may use.
StatusOr<Protocol> ProtocolFromWire(const std::string& name, Protocol fallback) {
  if (name.empty()) return fallback;
  if (name == "single_turn") return Protocol::kSingle;
  if (name == "self_correction" || name == "self_rewarding") return Protocol::kSrr;
  if (name == "post_completion") return Protocol::kPcl;
  return ParseProtocol(name);
}

bool Scored(proto::SegmentKind k) {
  return k == proto::SegmentKind::kAttempt || k == proto::SegmentKind::kVerify ||
         k == proto::SegmentKind::kEvaluation;
}

proto::Verdict ToWire(OracleVerdict v) {
  switch (v) {
    case OracleVerdict::kCorrect: return proto::Verdict::kCorrect;
    case OracleVerdict::kWrong: return proto::Verdict::kWrong;
    case OracleVerdict::kError: return proto::Verdict::kError;
  }
  return proto::Verdict::kError;
}

}  // namespace

StatusOr<TrajectoryView> TrajectoryFromGradeItem(const proto::GradeItem& item, Protocol fallback) {
  TrajectoryView t;
  auto protocol = ProtocolFromWire(item.protocol, fallback);
  if (!protocol.ok()) return protocol.status().WithContext("GradeItem.protocol");
  t.protocol = *protocol;
  t.gold = item.gold_answer;
  for (const auto& turn : item.turns) {
    if (!Scored(turn.kind)) continue;
    TurnKind kind = turn.kind == proto::SegmentKind::kAttempt  ? TurnKind::kAttempt
                    : turn.kind == proto::SegmentKind::kVerify ? TurnKind::kVerify
                                                               : TurnKind::kEvaluation;
    t.turns.push_back({kind, turn.text});
  }
  t.token_ids = item.generated_token_ids;
  t.generated_tokens = item.num_generated_tokens > 0 || item.generated_token_ids.empty()
                           ? item.num_generated_tokens
                           : -1;
  t.max_new_tokens = item.max_new_tokens;
  t.step = item.step;
  Status v = t.Validate();
  if (!v.ok()) return v.WithContext("GradeItem");
  return t;
}

proto::GradeResult ToGradeResult(const proto::GradeItem& item, const RewardResult& r) {
  proto::GradeResult out;
  out.step = item.step;
  out.prompt_id = item.prompt_id;
  out.sample_idx = item.sample_idx;
  out.lease_id = item.lease_id;
  std::vector<int32_t> wire_turn;  // the item's turn number of each scored turn
  for (const auto& turn : item.turns) {
    if (Scored(turn.kind)) wire_turn.push_back(turn.turn);
  }
  for (const auto& t : r.turns) {
    proto::TurnGrade g;
    g.turn = t.turn_index < wire_turn.size() ? wire_turn[t.turn_index] : static_cast<int32_t>(t.turn_index);
    if (t.grade) {
      g.verdict = ToWire(t.grade->verdict);
      g.reason = t.grade->reason;
    } else if (t.verdict) {
      // A verify turn: what the model said about its own answer.
      g.verdict = t.verdict->verdict == SelfVerdict::kCorrect ? proto::Verdict::kCorrect
                  : t.verdict->verdict == SelfVerdict::kWrong ? proto::Verdict::kWrong
                                                              : proto::Verdict::kError;
      g.reason = t.verdict->valid() ? "self_verdict" : "self_verdict_invalid: " + t.verdict->reason;
    } else {
      continue;  // evaluation turns carry no verdict of their own
    }
    out.turns.push_back(std::move(g));
  }
  out.final_verdict = ToWire(r.final_verdict);
  out.final_reason = r.final_reason;
  out.reward = r.reward;
  for (const auto& [k, v] : r.components) out.reward_components[k] = v;
  out.dense_rewards = r.dense;
  return out;
}

StatusOr<proto::GradeReply> HandleGradeRequest(RewardApi& api, const proto::GradeRequest& request,
                                               Protocol fallback) {
  std::vector<TrajectoryView> trajectories;
  trajectories.reserve(request.items.size());
  for (size_t i = 0; i < request.items.size(); ++i) {
    auto t = TrajectoryFromGradeItem(request.items[i], fallback);
    if (!t.ok()) return t.status().WithContext("GradeRequest.items[" + std::to_string(i) + "]");
    trajectories.push_back(std::move(t).value());
  }
  std::vector<RewardResult> results = api.ScoreAndRecord(trajectories);
  proto::GradeReply reply;
  reply.request_id = request.request_id;
  reply.items.reserve(results.size());
  for (size_t i = 0; i < results.size(); ++i) reply.items.push_back(ToGradeResult(request.items[i], results[i]));
  return reply;
}

ZmqGradeService::ZmqGradeService(ZmqGradeServiceOptions options, RewardApi* api, zmq::context_t* context)
    : options_(std::move(options)), api_(api), context_(context) {}

ZmqGradeService::~ZmqGradeService() { Stop(); }

Status ZmqGradeService::Start() {
  if (thread_.joinable() || router_) return Status::FailedPrecondition("ZmqGradeService already started");
  auto router = transport::Router::Bind(options_.endpoint, options_.socket, context_);
  if (!router.ok()) return router.status().WithContext("reward zmq service");
  router_ = std::move(router).value();
  endpoint_ = router_->endpoint();
  stop_ = false;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

void ZmqGradeService::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void ZmqGradeService::Loop() {
  log::SetThreadIdentity("reward", 0);
  ServerMetrics* metrics = api_->metrics();
  while (!stop_) {
    auto in = router_->Receive(options_.poll_interval);
    if (!in.ok()) {
      SCORCH_LOG(ERROR) << "reward zmq service: receive failed: " << in.status() << "; stopping";
      break;
    }
    if (!in->has_value()) continue;
    transport::Incoming& msg = **in;
    proto::Message reply;
    bool ok = false;
    if (const auto* req = std::get_if<proto::GradeRequest>(&msg.message)) {
      StatusOr<proto::GradeReply> r = Status::Internal("unreachable");
      try {
        r = HandleGradeRequest(*api_, *req, Protocol::kSingle);
      } catch (const std::exception& e) {  // last line of defence: never let a request kill us
        r = Status::Internal(std::string("grading failed: ") + e.what());
      }
      if (r.ok()) {
        reply = std::move(r).value();
        ok = true;
      } else {
        reply = proto::Error{static_cast<int32_t>(r.status().code()), r.status().message(), "GradeRequest"};
      }
    } else {
      std::string type(proto::MessageTypeName(msg.message));
      reply = proto::Error{static_cast<int32_t>(StatusCode::kInvalidArgument),
                           "the reward service accepts only GradeRequest, got " + type, type};
    }
    if (metrics) {
      metrics->RecordZmqRequest(ok);
      if (!ok) metrics->RecordError("zmq_bad_request");
    }
    ok ? ++served_ : ++errors_;
    Status s = router_->Send(msg.peer, reply);
    if (!s.ok()) {
      SCORCH_LOG(WARNING) << "reward zmq service: reply to " << transport::PeerName(msg.peer)
                          << " failed: " << s;
    }
  }
  router_->Close();
}

}  // namespace scorch::reward
