// GradeClient: request/reply to the reward service with per-try timeouts, fresh sockets after
// a timeout and stale-reply filtering (grade_client.h).
#include "scorch/orchestrator/grade_client.h"

#include <algorithm>
#include <thread>
#include <utility>
#include <variant>

#include "scorch/common/logging.h"

namespace scorch::orchestrator {
namespace {

using Ms = std::chrono::milliseconds;

bool Retryable(StatusCode code) {
  return code == StatusCode::kUnavailable || code == StatusCode::kResourceExhausted;
}

StatusOr<std::unique_ptr<transport::Dealer>> NewDealer(const GradeClientOptions& options,
                                                       zmq::context_t* context) {
  transport::DealerOptions dopts;
  static_cast<transport::SocketOptions&>(dopts) = options.socket;
  dopts.identity.clear();  // ZeroMQ assigns a new routing id to every socket: see the header
  return transport::Dealer::Connect(options.endpoint, dopts, context);
}

}  // namespace

Status CheckGradeReply(const proto::GradeRequest& request, const proto::GradeReply& reply) {
  if (reply.items.size() != request.items.size()) {
    return Status::Internal("GradeReply has " + std::to_string(reply.items.size()) +
                            " results for " + std::to_string(request.items.size()) + " items");
  }
  for (size_t i = 0; i < reply.items.size(); ++i) {
    const proto::GradeItem& want = request.items[i];
    const proto::GradeResult& got = reply.items[i];
    if (got.step != want.step || got.prompt_id != want.prompt_id ||
        got.sample_idx != want.sample_idx || got.lease_id != want.lease_id) {
      return Status::Internal(
          "GradeReply.items[" + std::to_string(i) + "] is for (step " + std::to_string(got.step) +
          ", prompt " + std::to_string(got.prompt_id) + ", sample " +
          std::to_string(got.sample_idx) + ", lease " + std::to_string(got.lease_id) +
          ") but the item sent was (step " + std::to_string(want.step) + ", prompt " +
          std::to_string(want.prompt_id) + ", sample " + std::to_string(want.sample_idx) +
          ", lease " + std::to_string(want.lease_id) + ")");
    }
  }
  return Status::Ok();
}

StatusOr<std::unique_ptr<GradeClient>> GradeClient::Connect(const GradeClientOptions& options,
                                                            zmq::context_t* context) {
  if (options.endpoint.empty()) {
    return Status::InvalidArgument("GradeClientOptions.endpoint: empty");
  }
  if (options.try_timeout.count() <= 0) {
    return Status::InvalidArgument("GradeClientOptions.try_timeout: " +
                                   std::to_string(options.try_timeout.count()) + " ms is not > 0");
  }
  if (options.max_tries < 1) {
    return Status::InvalidArgument("GradeClientOptions.max_tries: " +
                                   std::to_string(options.max_tries) + " is not >= 1");
  }
  if (options.retry_backoff.count() < 0) {
    return Status::InvalidArgument("GradeClientOptions.retry_backoff: negative");
  }
  auto dealer = NewDealer(options, context);
  if (!dealer.ok()) return dealer.status().WithContext("grade client");
  return std::unique_ptr<GradeClient>(new GradeClient(options, context, std::move(dealer).value()));
}

GradeClient::GradeClient(const GradeClientOptions& options, zmq::context_t* context,
                         std::unique_ptr<transport::Dealer> dealer)
    : options_(options),
      context_(context),
      dealer_(std::move(dealer)),
      // Ids differ between clients too (easier to follow in the service's logs).
      next_request_id_((static_cast<uint64_t>(
                            std::chrono::steady_clock::now().time_since_epoch().count()) &
                        0xffffffffu)
                       << 20) {}

GradeClient::~GradeClient() = default;

Status GradeClient::Reconnect() {
  dealer_.reset();  // closing drops whatever the old socket still holds, late replies included
  auto dealer = NewDealer(options_, context_);
  if (!dealer.ok()) return dealer.status().WithContext("grade client reconnect");
  dealer_ = std::move(dealer).value();
  ++stats_.reconnects;
  return Status::Ok();
}

StatusOr<proto::GradeReply> GradeClient::Grade(const proto::GradeRequest& request) {
  ++stats_.calls;
  const std::string what = "Grade: request of " + std::to_string(request.items.size()) +
                           " item(s) to the reward service at " + options_.endpoint;
  Status valid = proto::Validate(request);
  if (!valid.ok()) return valid.WithContext(what);
  proto::GradeRequest wire = request;
  Ms backoff = options_.retry_backoff;
  Status last;
  for (int attempt = 1; attempt <= options_.max_tries; ++attempt) {
    if (attempt > 1) {
      std::this_thread::sleep_for(backoff);
      backoff *= 2;
    }
    if (dealer_ == nullptr) SCORCH_RETURN_IF_ERROR(Reconnect());
    wire.request_id = next_request_id_++;
    auto bytes = proto::EncodeMessage(wire, options_.socket.codec);
    if (!bytes.ok()) return bytes.status().WithContext(what);
    ++stats_.tries;
    Status sent = dealer_->SendEncoded(*bytes);
    if (!sent.ok()) {
      if (!sent.IsUnavailable()) return sent.WithContext(what);
      last = sent;  // our queue is full: the service is not reading; start afresh
      dealer_.reset();
      continue;
    }
    const auto deadline = std::chrono::steady_clock::now() + options_.try_timeout;
    bool retry_now = false;
    while (!retry_now) {
      const auto left = std::chrono::ceil<Ms>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      SCORCH_ASSIGN_OR_RETURN(auto in, dealer_->Receive(left));
      if (!in) break;
      if (auto* reply = std::get_if<proto::GradeReply>(&*in)) {
        if (reply->request_id != wire.request_id) {
          ++stats_.stale_replies;
          SCORCH_VLOG(1) << "grade client: dropped stale reply " << reply->request_id
                         << " (waiting for " << wire.request_id << ")";
          continue;
        }
        Status check = CheckGradeReply(request, *reply);
        if (!check.ok()) return check.WithContext(what);
        reply->request_id = request.request_id;
        return std::move(*reply);
      }
      if (auto* error = std::get_if<proto::Error>(&*in)) {
        ++stats_.errors;
        const Status status = proto::StatusFromError(*error);
        if (!Retryable(status.code())) return status.WithContext(what);
        SCORCH_LOG(WARNING) << "grade client: try " << attempt << "/" << options_.max_tries
                            << " refused by " << options_.endpoint << ": " << status;
        last = status;
        retry_now = true;
        continue;
      }
      ++stats_.stale_replies;  // a message type the service never sends: not ours
      SCORCH_VLOG(1) << "grade client: dropped unexpected " << proto::MessageTypeName(*in);
    }
    if (retry_now) continue;
    ++stats_.timeouts;
    SCORCH_LOG(WARNING) << "grade client: no reply from " << options_.endpoint << " within "
                        << options_.try_timeout.count() << " ms (try " << attempt << "/"
                        << options_.max_tries << ")";
    last = Status::DeadlineExceeded("no reply");
    dealer_.reset();  // a late reply to this try must never be read as the next one's
  }
  if (last.IsDeadlineExceeded()) {
    return Status::DeadlineExceeded(what + ": no reply after " + std::to_string(options_.max_tries) +
                                    " tries of " + std::to_string(options_.try_timeout.count()) +
                                    " ms each");
  }
  return last.WithContext(what + ": gave up after " + std::to_string(options_.max_tries) +
                          " tries");
}

}  // namespace scorch::orchestrator
