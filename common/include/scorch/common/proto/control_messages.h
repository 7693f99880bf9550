// Control-plane messages: joining, liveness, metrics, weight announcements, errors and
// shutdown (ARCHITECTURE §2). Plain value structs; encode and decode them through
// message.h (EncodeMessage/DecodeMessage), which also states the wire names of the fields.
//
// Thread-safety: values; no shared state.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "scorch/common/proto/wire_types.h"

namespace scorch::proto {

// First message a DEALER sends after connecting: who it is and how much work it takes.
struct Hello {
  Role role = Role::kRollout;
  int32_t rank = 0;                  // rank within its role (0-based)
  int32_t capacity = 0;              // work items it accepts in flight (its credit)
  int64_t policy_version = -1;       // weights it holds now; -1 = none yet
  std::optional<std::string> token;  // shared secret for elastic joins, when configured
  int64_t pid = 0;                   // operating-system process id (for logs)
  std::string host;                  // host name (for logs)

  bool operator==(const Hello&) const = default;
};

// Periodic liveness signal; the receiver feeds it to a HeartbeatTracker (transport/).
struct Heartbeat {
  uint64_t seq = 0;             // increases by one per heartbeat from this sender
  int64_t sent_unix_ms = 0;     // sender's wall clock, ms since the Unix epoch
  int32_t in_flight = 0;        // work items the sender holds right now
  int64_t policy_version = -1;  // weights the sender holds now; -1 = none / not applicable

  bool operator==(const Heartbeat&) const = default;
};

// Per-step scalar metrics from any role, e.g. {"loss": 0.3, "kl": 0.01}.
struct StepStats {
  int64_t step = 0;
  std::map<std::string, double> metrics;

  bool operator==(const StepStats&) const = default;
};

// Learner rank 0 → rollout workers: new weights exist and where to get them.
struct WeightsAnnounce {
  int64_t version = 0;  // policy version (optimizer steps)
  WeightsTransport transport = WeightsTransport::kFile;
  std::string location;  // file path, zmq endpoint or NCCL group name, per transport
  uint64_t size_bytes = 0;
  std::string checksum;  // e.g. "sha256:..."; empty when the transport checks itself

  bool operator==(const WeightsAnnounce&) const = default;
};

// A reply saying a request failed. `code` is a scorch::StatusCode value (never kOk).
struct Error {
  int32_t code = 1;         // StatusCode as int: 1 = INVALID_ARGUMENT, ...
  std::string message;      // human-readable, names the problem
  std::string in_reply_to;  // type name (or id) of the message that failed; may be empty

  bool operator==(const Error&) const = default;
};

// Orchestrator → everyone: stop. With drain, finish (and report) work in flight first.
struct Shutdown {
  std::string reason;
  bool drain = false;

  bool operator==(const Shutdown&) const = default;
};

}  // namespace scorch::proto
