// DEALER side of the control plane (dealer.h).
#include "scorch/common/transport/dealer.h"

#include <utility>

#include "socket_util.h"

namespace scorch::transport {

StatusOr<std::unique_ptr<Dealer>> Dealer::Connect(std::string_view endpoint,
                                                  const DealerOptions& options,
                                                  zmq::context_t* context) {
  if (options.identity.size() > 255 || (!options.identity.empty() && options.identity[0] == '\0')) {
    return Status::InvalidArgument("Dealer identity must be 1-255 bytes and not start with NUL");
  }
  zmq::context_t& ctx = context != nullptr ? *context : SharedContext();
  try {
    zmq::socket_t socket(ctx, zmq::socket_type::dealer);
    internal::ApplySocketOptions(socket, options);
    if (!options.identity.empty()) socket.set(zmq::sockopt::routing_id, options.identity);
    socket.connect(std::string(endpoint));
    return std::unique_ptr<Dealer>(new Dealer(std::move(socket), std::string(endpoint), options));
  } catch (const zmq::error_t& e) {
    return ZmqErrorToStatus(e, "connect DEALER to '" + std::string(endpoint) + "'");
  }
}

Dealer::Dealer(zmq::socket_t socket, std::string endpoint, const DealerOptions& options)
    : socket_(std::move(socket)), endpoint_(std::move(endpoint)), options_(options) {}

Dealer::~Dealer() { Close(); }

void Dealer::Close() {
  if (closed_) return;
  closed_ = true;
  socket_.close();
}

Status Dealer::Send(const proto::Message& message) {
  SCORCH_ASSIGN_OR_RETURN(std::string bytes, proto::EncodeMessage(message, options_.codec));
  return SendEncoded(bytes);
}

Status Dealer::SendEncoded(std::string_view bytes) {
  if (closed_) return Status::FailedPrecondition("Dealer::Send on a closed dealer");
  try {
    if (!socket_.send(zmq::buffer(bytes), zmq::send_flags::none)) {
      return Status::Unavailable("send to " + endpoint_ + ": queue full for " +
                                 std::to_string(options_.send_timeout.count()) + " ms");
    }
    return Status::Ok();
  } catch (const zmq::error_t& e) {
    return ZmqErrorToStatus(e, "send to " + endpoint_);
  }
}

StatusOr<std::optional<proto::Message>> Dealer::Receive(std::chrono::milliseconds timeout) {
  if (closed_) return Status::FailedPrecondition("Dealer::Receive on a closed dealer");
  const auto deadline = internal::DeadlineAfter(timeout);
  while (true) {
    SCORCH_ASSIGN_OR_RETURN(auto frames, internal::ReceiveFrames(socket_, deadline));
    if (!frames) return std::optional<proto::Message>();
    Status problem;
    if (frames->size() != 1) {
      problem = Status::InvalidArgument("expected 1 frame, got " + std::to_string(frames->size()));
    } else {
      auto decoded = proto::DecodeMessage(frames->front().to_string_view(), options_.codec);
      if (decoded.ok()) return std::optional<proto::Message>(std::move(decoded).value());
      problem = decoded.status();
    }
    ++malformed_count_;
    internal::LogMalformed("dealer " + endpoint_, "router", problem, malformed_count_);
  }
}

}  // namespace scorch::transport
