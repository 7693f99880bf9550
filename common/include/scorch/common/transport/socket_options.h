// Shared pieces of scorch's ZeroMQ transport: the process-wide context, socket options, and
// endpoint conventions.
//
// Endpoints are ZeroMQ URLs: "inproc://name" (threads of one process; requires the same
// zmq::context_t on both sides, hence SharedContext), "ipc:///path" (processes of one host)
// and "tcp://host:port" (anywhere). scorch binds TCP to 127.0.0.1 unless a config says
// otherwise; "tcp://127.0.0.1:*" picks a free port, and Router::endpoint() reports the real one.
//
// Ownership: SharedContext() is created on first use and deliberately never destroyed, so a
// socket still open in a stray thread at exit cannot hang process teardown in
// zmq_ctx_term. Code that wants a context with a bounded life (tests, embedded runs) creates
// its own zmq::context_t, passes it to Router/Dealer, and destroys it after closing them.
//
// Thread-safety: SharedContext() is thread-safe. ZeroMQ sockets are not: each Router or
// Dealer belongs to one thread at a time (see router.h, dealer.h).
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <zmq.hpp>

#include "scorch/common/proto/message.h"
#include "scorch/common/status.h"

namespace scorch::transport {

// The default bind endpoint for TCP listeners: loopback, any free port.
inline constexpr std::string_view kLoopbackAnyPort = "tcp://127.0.0.1:*";

// The process-wide ZeroMQ context (1 I/O thread). Never destroyed; see above.
zmq::context_t& SharedContext();

struct SocketOptions {
  std::chrono::milliseconds linger{200};         // Close() waits this long to flush sends
  std::chrono::milliseconds send_timeout{2000};  // a send blocked by a full peer queue fails
                                                 // with kUnavailable after this long
  int send_high_water_mark = 10000;              // queued outgoing messages per peer
  int receive_high_water_mark = 10000;           // queued incoming messages per peer
  proto::CodecOptions codec;  // decode limits; codec.max_message_bytes is also enforced by
                              // ZeroMQ on tcp/ipc (oversized peers are disconnected)
};

// Converts a cppzmq exception into a Status with context: ETERM → kCancelled, EHOSTUNREACH /
// EADDRINUSE / EAGAIN → kUnavailable, bad endpoints → kInvalidArgument, others → kInternal.
Status ZmqErrorToStatus(const zmq::error_t& error, std::string_view context);

// Printable form of a routing id (ZeroMQ's generated ids are binary): the id itself when it
// is printable ASCII, else "0x" + hex.
std::string PeerName(std::string_view routing_id);

}  // namespace scorch::transport
