// Shared transport plumbing (socket_options.h, socket_util.h).
#include "socket_util.h"

#include <cerrno>
#include <iterator>

#include "scorch/common/logging.h"

namespace scorch::transport {

zmq::context_t& SharedContext() {
  // Leaked on purpose: see socket_options.h (no zmq_ctx_term hang at exit).
  static zmq::context_t* context = new zmq::context_t(1);
  return *context;
}

Status ZmqErrorToStatus(const zmq::error_t& error, std::string_view context) {
  std::string msg = std::string(context) + ": " + error.what();
  switch (error.num()) {
    case ETERM:
      return Status::Cancelled(std::move(msg) + " (ZeroMQ context shut down)");
    case EHOSTUNREACH:
    case EADDRINUSE:
    case EADDRNOTAVAIL:
    case EAGAIN:
    case ECONNREFUSED:
    case ENODEV:
      return Status::Unavailable(std::move(msg));
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
    case ENAMETOOLONG:
    case ENOENT:
      return Status::InvalidArgument(std::move(msg));
    case ENOTSOCK:
      return Status::FailedPrecondition(std::move(msg));
    default:
      return Status::Internal(std::move(msg));
  }
}

std::string PeerName(std::string_view id) {
  bool printable = !id.empty();
  for (char c : id) printable = printable && c >= 0x20 && c < 0x7f;
  if (printable) return std::string(id);
  static const char* kDigits = "0123456789abcdef";
  std::string out = "0x";
  for (char c : id) {
    out += kDigits[static_cast<uint8_t>(c) >> 4];
    out += kDigits[static_cast<uint8_t>(c) & 15];
  }
  return out;
}

namespace internal {

void ApplySocketOptions(zmq::socket_t& socket, const SocketOptions& options) {
  socket.set(zmq::sockopt::linger, static_cast<int>(options.linger.count()));
  socket.set(zmq::sockopt::sndtimeo, static_cast<int>(options.send_timeout.count()));
  socket.set(zmq::sockopt::sndhwm, options.send_high_water_mark);
  socket.set(zmq::sockopt::rcvhwm, options.receive_high_water_mark);
  socket.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(options.codec.max_message_bytes));
}

std::optional<std::chrono::steady_clock::time_point> DeadlineAfter(
    std::chrono::milliseconds timeout) {
  if (timeout.count() < 0) return std::nullopt;
  return std::chrono::steady_clock::now() + timeout;
}

StatusOr<std::optional<std::vector<zmq::message_t>>> ReceiveFrames(
    zmq::socket_t& socket, std::optional<std::chrono::steady_clock::time_point> deadline) {
  using std::chrono::milliseconds;
  while (true) {
    std::vector<zmq::message_t> frames;
    try {
      // A message may already be queued: take it without polling.
      if (zmq::recv_multipart(socket, std::back_inserter(frames), zmq::recv_flags::dontwait)) {
        return std::optional<std::vector<zmq::message_t>>(std::move(frames));
      }
      long wait_ms = -1;
      if (deadline) {
        const auto left = *deadline - std::chrono::steady_clock::now();
        if (left <= std::chrono::steady_clock::duration::zero()) {
          return std::optional<std::vector<zmq::message_t>>();
        }
        // Round up so a sub-millisecond remainder still waits instead of spinning.
        wait_ms = static_cast<long>(std::chrono::ceil<milliseconds>(left).count());
      }
      zmq::pollitem_t item{socket.handle(), 0, ZMQ_POLLIN, 0};
      zmq::poll(&item, 1, milliseconds(wait_ms));
    } catch (const zmq::error_t& e) {
      if (e.num() == EINTR) continue;
      return ZmqErrorToStatus(e, "receive");
    }
  }
}

void LogMalformed(std::string_view who, std::string_view peer, const Status& problem,
                  uint64_t count) {
  if (count <= 10 || count % 1000 == 0) {
    SCORCH_LOG(WARNING) << who << ": dropped malformed message #" << count << " from "
                        << (peer.empty() ? std::string("unknown peer") : PeerName(peer)) << ": "
                        << problem;
  }
}

}  // namespace internal
}  // namespace scorch::transport
