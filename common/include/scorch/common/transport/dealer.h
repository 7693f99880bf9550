// Dealer: the connecting side of scorch's control plane (a ZeroMQ DEALER socket).
//
//   DealerOptions opts;
//   opts.identity = "rollout-3";        // stable routing id, so the router knows it on reconnect
//   SCORCH_ASSIGN_OR_RETURN(auto dealer, Dealer::Connect(orchestrator_endpoint, opts));
//   SCORCH_RETURN_IF_ERROR(dealer->Send(proto::Hello{...}));
//   SCORCH_ASSIGN_OR_RETURN(auto reply, dealer->Receive(std::chrono::seconds(1)));
//
// Connecting is asynchronous: Connect succeeds before the router exists, and messages sent
// meanwhile wait in the queue (up to the high-water mark). ZeroMQ reconnects by itself after
// a router restart. A frame that does not decode is logged (throttled), counted in
// malformed_count() and skipped — never answered, so two peers cannot ping-pong errors.
//
// Ownership: owns its socket; the context (SharedContext() by default) must outlive it.
// Close() (or the destructor) closes the socket, waiting at most options.linger to flush.
// Thread-safety: NOT thread-safe. One thread owns a Dealer and makes every call on it.
// Blocking: Receive blocks up to its timeout; Send blocks at most options.send_timeout.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "scorch/common/proto/message.h"
#include "scorch/common/status.h"
#include "scorch/common/transport/socket_options.h"

namespace scorch::transport {

struct DealerOptions : SocketOptions {
  std::string identity;  // routing id (1–255 bytes, not starting with NUL); empty = assigned
};

class Dealer {
 public:
  // Creates a DEALER socket and connects it to `endpoint`. kInvalidArgument for a malformed
  // endpoint or identity. `context` defaults to SharedContext().
  static StatusOr<std::unique_ptr<Dealer>> Connect(std::string_view endpoint,
                                                   const DealerOptions& options = {},
                                                   zmq::context_t* context = nullptr);
  ~Dealer();
  Dealer(const Dealer&) = delete;
  Dealer& operator=(const Dealer&) = delete;

  const std::string& endpoint() const { return endpoint_; }
  const std::string& identity() const { return options_.identity; }

  // Encodes and sends one message. kInvalidArgument if the message is invalid, kUnavailable
  // if the queue stayed full for send_timeout.
  Status Send(const proto::Message& message);
  // Sends bytes already produced by EncodeMessage.
  Status SendEncoded(std::string_view bytes);

  // Waits up to `timeout` (negative: forever) for the next well-formed message; std::nullopt
  // on timeout. Errors only when the socket fails (kCancelled, kFailedPrecondition).
  StatusOr<std::optional<proto::Message>> Receive(std::chrono::milliseconds timeout);

  uint64_t malformed_count() const { return malformed_count_; }

  // Closes the socket (idempotent).
  void Close();

 private:
  Dealer(zmq::socket_t socket, std::string endpoint, const DealerOptions& options);

  zmq::socket_t socket_;
  std::string endpoint_;
  DealerOptions options_;
  uint64_t malformed_count_ = 0;
  bool closed_ = false;
};

}  // namespace scorch::transport
