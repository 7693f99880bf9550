// scorch's wire protocol: one Message variant over every typed message, and its codec.
//
// Encoding: MessagePack (through nlohmann-json) in a versioned envelope
//   {"v": kProtocolVersion, "type": "<TypeName>", "body": {<snake_case fields>}}
// Big numeric arrays (token ids, log-probs, masks, dense rewards, stop ids) travel as msgpack
// `bin` blobs of little-endian int32 / float32 / uint8 instead of arrays of numbers: ~4×
// smaller than msgpack number arrays for large ids and a memcpy to decode. Optional fields
// are simply absent. Unknown body keys are ignored, so a newer sender may add fields without
// breaking an older receiver; removing or retyping a field needs a new protocol version.
// Strings are carried as bytes and not UTF-8-checked (model text may be cut mid-character).
//
// Decoding never crashes and never throws: every input — truncated, oversized, corrupt,
// deeply nested, wrong version, unknown type, wrong field types — yields a Status naming the
// problem, e.g. "Trajectory.logprobs: expected bin of float32, got string". An iterative scan
// (msgpack_scan.h) first checks every length against the buffer and bounds nesting depth and
// element count; an iterative parser then builds the nlohmann::json tree. (nlohmann's own
// from_msgpack recurses per nesting level and copies bin payloads byte by byte, ~20× slower
// on a 4k-token trajectory; encoding does use nlohmann's to_msgpack.)
//
// Status codes: kResourceExhausted (over a size/depth/count limit), kDataLoss (truncated or
// malformed msgpack), kInvalidArgument (well-formed msgpack that is not a valid message:
// missing/mistyped field, unknown type, broken invariant), kFailedPrecondition (another
// protocol version).
//
// Thread-safety: all functions are reentrant; no shared state.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "scorch/common/proto/control_messages.h"
#include "scorch/common/proto/reward_messages.h"
#include "scorch/common/proto/rollout_messages.h"
#include "scorch/common/status.h"

namespace scorch::proto {

// Bumped on any incompatible change (a field removed, renamed or retyped).
inline constexpr int64_t kProtocolVersion = 1;

using Message = std::variant<Hello, Heartbeat, GenerateRequest, Trajectory, GradeRequest,
                             GradeReply, TrainBatch, StepStats, WeightsAnnounce, Error, Shutdown>;

struct CodecOptions {
  size_t max_message_bytes = size_t{64} << 20;  // larger encoded messages are refused
  int max_depth = 64;                           // msgpack container nesting bound
  size_t max_elements = size_t{1} << 20;        // msgpack values in one message, all levels
};

// The wire type name of a message ("Hello", "Trajectory", ...).
std::string_view MessageTypeName(const Message& message);

// Checks the invariants a message must hold beyond its types (lengths that must agree,
// segment ranges inside the sequence, enum values allowed in a field, ...). Returns
// kInvalidArgument naming the field, e.g. "Trajectory.logprobs: 4095 entries for 4096 tokens".
Status Validate(const Message& message);

// Validates, then encodes. Fails with kInvalidArgument for an invalid message and
// kResourceExhausted when the result would exceed options.max_message_bytes.
StatusOr<std::string> EncodeMessage(const Message& message, const CodecOptions& options = {});

// Decodes and validates one encoded message (the whole buffer).
StatusOr<Message> DecodeMessage(std::string_view bytes, const CodecOptions& options = {});

// An Error reply carrying a failed Status. REQUIRES: !status.ok().
Error ErrorFromStatus(const Status& status, std::string_view in_reply_to = {});
// The Status an Error reply stands for (its code and message).
Status StatusFromError(const Error& error);

}  // namespace scorch::proto
