// Router: the listening side of scorch's control plane (a ZeroMQ ROUTER socket).
//
//   SCORCH_ASSIGN_OR_RETURN(auto router, Router::Bind("tcp://127.0.0.1:*"));
//   LOG << router->endpoint();            // "tcp://127.0.0.1:41234"
//   while (running) {
//     SCORCH_ASSIGN_OR_RETURN(auto in, router->Receive(std::chrono::milliseconds(100)));
//     if (!in) continue;                  // timeout: a non-event, not an error
//     HandleX(in->peer, in->message);
//     SCORCH_RETURN_IF_ERROR(router->Send(in->peer, reply));
//   }
//
// Every peer is a Dealer (dealer.h); frames are [routing id][encoded message]. Receive
// returns only well-formed messages: a malformed one (wrong frame count, undecodable bytes)
// is logged (throttled), counted in malformed_count(), answered with a proto::Error naming the
// problem when the sender is known, and skipped — it never ends the loop or the process.
//
// Sends use ROUTER_MANDATORY: sending to a peer that is not connected fails with
// kUnavailable instead of vanishing silently. ROUTER_HANDOVER lets a restarted worker that
// reconnects with the same identity take over its old routing id.
//
// Ownership: owns its socket; the context (SharedContext() by default) must outlive it.
// Close() (or the destructor) closes the socket, waiting at most options.linger to flush.
// Thread-safety: NOT thread-safe. One thread owns a Router and makes every call on it.
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

// One message received by a Router, with the routing id of the Dealer that sent it.
struct Incoming {
  std::string peer;
  proto::Message message;
};

class Router {
 public:
  // Binds a ROUTER socket to `endpoint`. kInvalidArgument for a malformed endpoint,
  // kUnavailable when the address is in use. `context` defaults to SharedContext().
  static StatusOr<std::unique_ptr<Router>> Bind(std::string_view endpoint,
                                                const SocketOptions& options = {},
                                                zmq::context_t* context = nullptr);
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // The endpoint actually bound (ZMQ_LAST_ENDPOINT): a tcp "*" port is resolved.
  const std::string& endpoint() const { return endpoint_; }

  // Waits up to `timeout` (negative: forever) for the next well-formed message. Returns
  // std::nullopt on timeout; an error only when the socket itself fails (kCancelled when the
  // context is shut down, kFailedPrecondition after Close).
  StatusOr<std::optional<Incoming>> Receive(std::chrono::milliseconds timeout);

  // Encodes and sends one message to `peer`. kInvalidArgument if the message is invalid,
  // kUnavailable if the peer is not connected or its queue stayed full for send_timeout.
  Status Send(std::string_view peer, const proto::Message& message);
  // Sends bytes already produced by EncodeMessage (encode once, send to many).
  Status SendEncoded(std::string_view peer, std::string_view bytes);

  // Malformed messages received and skipped so far.
  uint64_t malformed_count() const { return malformed_count_; }

  // Closes the socket (idempotent).
  void Close();

 private:
  Router(zmq::socket_t socket, std::string endpoint, const SocketOptions& options);
  void HandleMalformed(std::string_view peer, const Status& problem);

  zmq::socket_t socket_;
  std::string endpoint_;
  SocketOptions options_;
  uint64_t malformed_count_ = 0;
  bool closed_ = false;
};

}  // namespace scorch::transport
