// ZmqGradeService: the reward service's ZeroMQ front end for the orchestrator.
//
// A ROUTER (transport/router.h) bound at `endpoint` receives proto::GradeRequest messages
// from DEALER peers and answers each with a proto::GradeReply: exactly one GradeResult per
// item, same order and identifiers, scored by the RewardApi's default RewardEngine (so the
// HTTP and ZeroMQ front ends share rules, grader and metrics). Item turns of kind prompt or
// instruction are not part of the completion and are skipped; attempt, verify and
// evaluation turns are scored. Anything else — another message type, an item whose protocol
// is unknown — is answered with a proto::Error naming the problem; undecodable frames are
// answered by the Router itself. Nothing a peer sends can crash the service.
//
// Threading: Start() binds, then runs the receive loop on its own thread, which owns the
// socket; requests are handled one at a time (the grader pool parallelises within a batch).
// Stop() ends the loop within about `poll_interval` and closes the socket; the destructor
// calls it. Errors: Start returns the Router's bind error (kInvalidArgument / kUnavailable).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "scorch/common/proto/message.h"
#include "scorch/common/status.h"
#include "scorch/common/transport/router.h"
#include "scorch/common/transport/socket_options.h"
#include "scorch/reward/server_api.h"

namespace scorch::reward {

struct ZmqGradeServiceOptions {
  std::string endpoint = "tcp://127.0.0.1:*";           // ROUTER bind endpoint
  std::chrono::milliseconds poll_interval{100};          // how often the loop checks Stop()
  transport::SocketOptions socket;                       // send timeouts, HWMs, codec limits
};

// Converts a wire GradeRequest item into the rules' trajectory view. kInvalidArgument
// (naming the item field) for an unknown protocol.
StatusOr<TrajectoryView> TrajectoryFromGradeItem(const proto::GradeItem& item, Protocol fallback);
// Converts a scored result back into the wire form, copying the item's identifiers.
proto::GradeResult ToGradeResult(const proto::GradeItem& item, const RewardResult& result);
// Scores a whole request: the reply, or a proto::Error-worthy Status.
StatusOr<proto::GradeReply> HandleGradeRequest(RewardApi& api, const proto::GradeRequest& request,
                                               Protocol fallback);

class ZmqGradeService {
 public:
  // `api` must outlive the service. `context` defaults to transport::SharedContext().
  ZmqGradeService(ZmqGradeServiceOptions options, RewardApi* api, zmq::context_t* context = nullptr);
  ~ZmqGradeService();
  ZmqGradeService(const ZmqGradeService&) = delete;
  ZmqGradeService& operator=(const ZmqGradeService&) = delete;

  Status Start();
  void Stop();
  // The bound endpoint (a "*" port resolved); valid after Start.
  std::string endpoint() const { return endpoint_; }
  uint64_t requests_served() const { return served_; }
  uint64_t errors_sent() const { return errors_; }

 private:
  void Loop();

  ZmqGradeServiceOptions options_;
  RewardApi* api_;
  zmq::context_t* context_;
  std::string endpoint_;
  std::unique_ptr<transport::Router> router_;  // created by Start, then used by the loop only
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> served_{0}, errors_{0};
  std::thread thread_;
};

}  // namespace scorch::reward
