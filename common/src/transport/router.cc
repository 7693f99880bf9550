// ROUTER side of the control plane (router.h).
#include "scorch/common/transport/router.h"

#include <utility>

#include "scorch/common/logging.h"
#include "socket_util.h"

namespace scorch::transport {

StatusOr<std::unique_ptr<Router>> Router::Bind(std::string_view endpoint,
                                               const SocketOptions& options,
                                               zmq::context_t* context) {
  zmq::context_t& ctx = context != nullptr ? *context : SharedContext();
  try {
    zmq::socket_t socket(ctx, zmq::socket_type::router);
    internal::ApplySocketOptions(socket, options);
    socket.set(zmq::sockopt::router_mandatory, 1);
    socket.set(zmq::sockopt::router_handover, 1);
    socket.bind(std::string(endpoint));
    std::string bound = socket.get(zmq::sockopt::last_endpoint);
    return std::unique_ptr<Router>(new Router(std::move(socket), std::move(bound), options));
  } catch (const zmq::error_t& e) {
    return ZmqErrorToStatus(e, "bind ROUTER to '" + std::string(endpoint) + "'");
  }
}

Router::Router(zmq::socket_t socket, std::string endpoint, const SocketOptions& options)
    : socket_(std::move(socket)), endpoint_(std::move(endpoint)), options_(options) {}

Router::~Router() { Close(); }

void Router::Close() {
  if (closed_) return;
  closed_ = true;
  socket_.close();  // linger was set at creation
}

StatusOr<std::optional<Incoming>> Router::Receive(std::chrono::milliseconds timeout) {
  if (closed_) return Status::FailedPrecondition("Router::Receive on a closed router");
  const auto deadline = internal::DeadlineAfter(timeout);
  while (true) {
    SCORCH_ASSIGN_OR_RETURN(auto frames, internal::ReceiveFrames(socket_, deadline));
    if (!frames) return std::optional<Incoming>();
    std::string peer = frames->empty() ? std::string() : frames->front().to_string();
    if (frames->size() != 2) {
      HandleMalformed(peer,
                      Status::InvalidArgument("expected 2 frames (routing id, message), got " +
                                              std::to_string(frames->size())));
      continue;
    }
    auto decoded = proto::DecodeMessage((*frames)[1].to_string_view(), options_.codec);
    if (!decoded.ok()) {
      HandleMalformed(peer, decoded.status());
      continue;
    }
    return std::optional<Incoming>(Incoming{std::move(peer), std::move(decoded).value()});
  }
}

void Router::HandleMalformed(std::string_view peer, const Status& problem) {
  ++malformed_count_;
  internal::LogMalformed("router " + endpoint_, peer, problem, malformed_count_);
  if (peer.empty()) return;
  const proto::Error reply =
      proto::ErrorFromStatus(Status(problem.code(), "malformed message: " + problem.message()));
  // Best effort: the sender may be gone or may not read replies.
  Status sent = Send(peer, reply);
  if (!sent.ok()) SCORCH_VLOG(1) << "router " << endpoint_ << ": error reply not sent: " << sent;
}

Status Router::Send(std::string_view peer, const proto::Message& message) {
  SCORCH_ASSIGN_OR_RETURN(std::string bytes, proto::EncodeMessage(message, options_.codec));
  return SendEncoded(peer, bytes);
}

Status Router::SendEncoded(std::string_view peer, std::string_view bytes) {
  if (closed_) return Status::FailedPrecondition("Router::Send on a closed router");
  const std::string context = "send to " + PeerName(peer) + " via " + endpoint_;
  try {
    if (!socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore)) {
      return Status::Unavailable(context + ": peer queue full for " +
                                 std::to_string(options_.send_timeout.count()) + " ms");
    }
    // Once the routing frame is accepted the payload frame is queued with it atomically.
    if (!socket_.send(zmq::buffer(bytes), zmq::send_flags::none)) {
      return Status::Unavailable(context + ": peer queue full");
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    if (e.num() == EHOSTUNREACH) {
      return Status::Unavailable(context + ": peer is not connected");
    }
    return ZmqErrorToStatus(e, context);
  }
}

}  // namespace scorch::transport
