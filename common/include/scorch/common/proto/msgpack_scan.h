// MessagePack reading for the wire codec: an iterative structural check, and an iterative
// parser into an nlohmann::json tree.
//
// nlohmann-json's msgpack reader recurses once per nesting level and trusts length fields
// until it runs out of input, so a hostile buffer of a million nested one-element arrays
// would overflow the stack. ScanMsgpack walks the buffer with an explicit stack and checks,
// before anything is parsed for real:
//   - exactly one top-level value, with no trailing bytes;
//   - every str/bin/ext length and every fixed-width number lies inside the buffer;
//   - every array/map count is possible given the bytes left (each value takes ≥ 1 byte);
//   - nesting depth ≤ limits.max_depth and total values ≤ limits.max_elements;
//   - map keys are strings (the only keys the scorch codec, and nlohmann, accept);
//   - no reserved type byte (0xc1).
// Errors name the byte offset: kDataLoss for truncation or malformed bytes,
// kResourceExhausted for a depth/count limit, kInvalidArgument for a non-string map key.
//
// ParseMsgpack runs ScanMsgpack, then builds the tree with an explicit stack (no recursion)
// and copies str/bin payloads with one memcpy each. It produces the same tree as nlohmann's
// json::from_msgpack (positive ints as unsigned, negative as signed, float32 widened to
// double, ext as binary with a subtype, a repeated map key keeping the last value), which
// reads bin payloads byte by byte — about 20× slower for a 4k-token trajectory.
//
// Thread-safety: reentrant; no shared state. Both run in O(size) time; the scan takes
// O(depth) memory.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string_view>

#include "scorch/common/status.h"

namespace scorch::proto {

struct MsgpackScanLimits {
  int max_depth = 64;
  size_t max_elements = size_t{1} << 20;
};

Status ScanMsgpack(std::string_view bytes, const MsgpackScanLimits& limits = {});

StatusOr<nlohmann::json> ParseMsgpack(std::string_view bytes, const MsgpackScanLimits& limits = {});

}  // namespace scorch::proto
