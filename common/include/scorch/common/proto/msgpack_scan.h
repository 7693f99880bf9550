// An iterative, allocation-light structural check of a MessagePack buffer.
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
// Thread-safety: reentrant; no shared state. Runs in O(size) time and O(depth) memory.
#pragma once

#include <cstddef>
#include <string_view>

#include "scorch/common/status.h"

namespace scorch::proto {

struct MsgpackScanLimits {
  int max_depth = 64;
  size_t max_elements = size_t{1} << 22;
};

Status ScanMsgpack(std::string_view bytes, const MsgpackScanLimits& limits = {});

}  // namespace scorch::proto
