// Private to the transport: socket set-up and the timed multipart receive shared by Router
// and Dealer. All cppzmq exceptions are converted to Status here or in the callers.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>
#include <vector>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "scorch/common/status.h"
#include "scorch/common/transport/socket_options.h"

namespace scorch::transport::internal {

// Sets linger, send timeout, high-water marks and the maximum message size.
void ApplySocketOptions(zmq::socket_t& socket, const SocketOptions& options);

// Waits until `deadline` (nullopt: forever) for one multipart message. Returns std::nullopt
// when the deadline passes first. Retries on EINTR.
StatusOr<std::optional<std::vector<zmq::message_t>>> ReceiveFrames(
    zmq::socket_t& socket, std::optional<std::chrono::steady_clock::time_point> deadline);

// The deadline for a receive timeout (negative: none).
std::optional<std::chrono::steady_clock::time_point> DeadlineAfter(
    std::chrono::milliseconds timeout);

// Logs a dropped malformed message: the first 10, then every 1000th (per socket).
void LogMalformed(std::string_view who, std::string_view peer, const Status& problem,
                  uint64_t count);

}  // namespace scorch::transport::internal
