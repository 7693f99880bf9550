// GradeClient: the orchestrator's DEALER client for the reward service's ZeroMQ front end
// (reward_service's ZmqGradeService, a ROUTER that answers each GradeRequest with a GradeReply
// or a proto::Error).
//
//   SCORCH_ASSIGN_OR_RETURN(auto client, GradeClient::Connect({.endpoint = reward_endpoint}));
//   SCORCH_ASSIGN_OR_RETURN(proto::GradeReply reply, client->Grade(request));
//
// Grade() sends one request and waits up to `try_timeout` for its reply; then it retries, up
// to `max_tries` tries in all, with `retry_backoff` (doubling) between tries. Every try goes
// out under a fresh request_id, and after a timeout on a FRESH socket (new routing id): a
// DEALER that timed out may still receive the late reply, and a new socket guarantees it never
// does; any reply whose request_id is not the current try's is dropped as stale (counted). The
// caller's request_id is restored in the returned reply.
//
// A reply is checked before it is returned: one result per item, in order, with the item's
// (step, prompt_id, sample_idx, lease_id); anything else is kInternal (a reward service bug,
// not retried). A proto::Error reply ends the call with its status (with context), except
// kUnavailable / kResourceExhausted (a busy or restarting service), which are retried.
//
// Ownership: owns its Dealer; the context (default transport::SharedContext()) must outlive it.
// Thread-safety: NOT thread-safe: one thread makes every call (create one client per thread).
// Blocking: Grade blocks at most about max_tries × (try_timeout + backoff).
// Errors: kInvalidArgument for a request that cannot be encoded (not sent); kDeadlineExceeded
// after the last try timed out (naming the endpoint, tries and timeout); the service's error;
// kInternal for a malformed reply; transport errors (kCancelled when the context ends).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "scorch/common/proto/message.h"
#include "scorch/common/status.h"
#include "scorch/common/transport/dealer.h"
#include "scorch/common/transport/socket_options.h"

namespace zmq {
class context_t;
}

namespace scorch::orchestrator {

struct GradeClientOptions {
  std::string endpoint;                              // reward service ROUTER endpoint
  std::chrono::milliseconds try_timeout{60000};      // wait for one try's reply
  int max_tries = 3;                                 // tries in all (>= 1)
  std::chrono::milliseconds retry_backoff{200};      // before the 2nd try; doubles after
  transport::SocketOptions socket;                   // send timeout, HWMs, codec limits
};

struct GradeClientStats {
  int64_t calls = 0;          // Grade() calls
  int64_t tries = 0;          // requests sent
  int64_t timeouts = 0;       // tries that timed out
  int64_t stale_replies = 0;  // replies dropped: another try's request_id, or unexpected type
  int64_t errors = 0;         // proto::Error replies received
  int64_t reconnects = 0;     // fresh sockets after a timeout
};

class GradeClient {
 public:
  // Validates the options and connects (asynchronously: the service need not be up yet).
  // kInvalidArgument for bad options or a malformed endpoint.
  static StatusOr<std::unique_ptr<GradeClient>> Connect(const GradeClientOptions& options,
                                                        zmq::context_t* context = nullptr);
  ~GradeClient();
  GradeClient(const GradeClient&) = delete;
  GradeClient& operator=(const GradeClient&) = delete;

  // See the file comment.
  StatusOr<proto::GradeReply> Grade(const proto::GradeRequest& request);

  const GradeClientStats& stats() const { return stats_; }
  const std::string& endpoint() const { return options_.endpoint; }

 private:
  GradeClient(const GradeClientOptions& options, zmq::context_t* context,
              std::unique_ptr<transport::Dealer> dealer);
  Status Reconnect();

  GradeClientOptions options_;
  zmq::context_t* context_;
  std::unique_ptr<transport::Dealer> dealer_;
  uint64_t next_request_id_;
  GradeClientStats stats_;
};

// Checks that `reply` answers `request`: one result per item, same order and identifiers.
// kInternal naming the first mismatch.
Status CheckGradeReply(const proto::GradeRequest& request, const proto::GradeReply& reply);

}  // namespace scorch::orchestrator
