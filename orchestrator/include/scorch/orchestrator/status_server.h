// The orchestrator's live status endpoint: a small loopback HTTP server (Boost.Beast).
//
//   GET /status   → application/json, whatever the owner's StatusJsonFn returns (stage, step,
//                   workers with leases and last heartbeat, queue depths, last metrics, ...)
//   GET /metrics  → Prometheus text exposition (version 0.0.4) of the owner's MetricsFn: each
//                   key becomes `scorch_<key>` with every character outside [a-zA-Z0-9_:]
//                   (e.g. '/') replaced by '_', typed gauge
//   HEAD of either → headers only; other paths → 404, other methods → 405 (JSON error bodies).
//
// Binds 127.0.0.1 by default; port 0 picks an ephemeral port, reported by port() after Start().
// Requests larger than `max_request_bytes` (headers + body) are refused with 431/413 and the
// connection closed; idle connections time out after `io_timeout`. One I/O thread serves all
// connections, so the callbacks run on that thread, one at a time, and must be thread-safe
// with respect to the owner's own threads (they should copy a snapshot under the owner's lock
// and return quickly). An exception thrown by a callback becomes a 500 response.
//
// Thread-safety: Start() and Stop() may be called from any thread, concurrently; Stop() is
// idempotent, waits for the I/O thread and is also run by the destructor. A stopped server
// cannot be restarted. Errors: Start() returns InvalidArgument for bad options,
// Unavailable when the address cannot be bound, FailedPrecondition when called twice.
//
// Links Boost (header-only Asio/Beast) and scorch_common; no LibTorch.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "scorch/common/status.h"

namespace scorch::orchestrator {

struct StatusServerOptions {
  std::string host = "127.0.0.1";                 // address to bind (loopback by default)
  uint16_t port = 0;                              // 0 = ephemeral; see StatusServer::port()
  size_t max_request_bytes = 16 * 1024;           // headers + body of one request
  std::chrono::milliseconds io_timeout{10000};    // per read/write on a connection

  Status Validate() const;
};

using StatusJsonFn = std::function<nlohmann::json()>;
using MetricsFn = std::function<std::map<std::string, double>()>;

class StatusServer {
 public:
  StatusServer(StatusServerOptions options, StatusJsonFn status, MetricsFn metrics);
  ~StatusServer();
  StatusServer(const StatusServer&) = delete;
  StatusServer& operator=(const StatusServer&) = delete;

  // Binds and starts serving on a background thread.
  Status Start();
  // Stops accepting, closes connections, joins the thread. Idempotent.
  void Stop();

  // The bound port (after a successful Start), else 0.
  uint16_t port() const;
  // "host:port" for `scorch status`.
  std::string endpoint() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// `scorch_` + key with characters outside [a-zA-Z0-9_:] replaced by '_'.
std::string PrometheusName(std::string_view key);

// The /metrics body: "# TYPE name gauge\nname value\n" per key, in key order. When two keys
// map to the same name only the first is kept. NaN and infinities as Prometheus spells them.
std::string RenderPrometheusText(const std::map<std::string, double>& metrics);

// --- client side, for `scorch status HOST:PORT` ---

// Splits "HOST:PORT" (or "[v6]:PORT"); InvalidArgument naming the problem.
StatusOr<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view endpoint);

struct HttpGetResult {
  int status = 0;
  std::string content_type;
  std::string body;
};

// A blocking HTTP/1.1 GET. Unavailable when the server cannot be reached, DeadlineExceeded
// past `timeout`, ResourceExhausted when the body exceeds `max_body_bytes`.
StatusOr<HttpGetResult> HttpGet(const std::string& host, uint16_t port, const std::string& target,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5),
                                size_t max_body_bytes = 64 * 1024 * 1024);

}  // namespace scorch::orchestrator
