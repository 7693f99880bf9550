// HttpServer: a small asynchronous HTTP/1.1 server on Boost.Beast for the reward service.
//
// It accepts connections asynchronously and serves them on a small pool of threads running
// one io_context; each connection is a session on its own strand with keep-alive, a read
// timeout (idle keep-alive connections and slow senders are closed), a body size limit
// (→ 413 with a JSON reason), a header size limit (→ 431) and unparsable requests → 400.
// Requests are handed to an HttpHandler as plain structs, so routing and JSON live
// elsewhere (server_api.h) and tests can serve any handler. The handler runs on a separate
// pool of `handler_threads`, so slow grading never stalls accepting, reading or /health.
// Every request is recorded in ServerMetrics (path, status code, latency) when given.
//
// Lifecycle: Start() binds and listens (port 0 picks a free port; port() says which) and
// returns; Stop() shuts down gracefully — it stops accepting, closes idle connections, lets
// in-flight requests finish and send their responses (with `Connection: close`), waits at
// most `shutdown_grace`, then abandons the rest and joins the threads. The destructor calls
// Stop(). Start/Stop must not be called from inside a handler.
//
// Thread-safety: Start/Stop/port are for one controlling thread; the handler is called
// concurrently from several threads and must be thread-safe. Errors: Start returns
// kInvalidArgument for a bad address, kUnavailable when the address cannot be bound.
// A handler that throws yields a 500 with the exception's message; the server never crashes.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/reward/metrics.h"

namespace scorch::reward {

struct HttpServerOptions {
  std::string address = "127.0.0.1";        // bind address (loopback by default)
  uint16_t port = 0;                         // 0: any free port
  int threads = 2;                           // I/O threads (accept, parse, write)
  int handler_threads = 2;                   // threads running the handler (grading), so a
                                             // slow handler never stalls I/O; 0 = run it
                                             // inline on the I/O thread
  size_t max_body_bytes = 16u << 20;         // larger bodies → 413
  size_t max_header_bytes = 16u << 10;       // larger headers → 431
  std::chrono::milliseconds read_timeout{30000};   // per read (idle keep-alive included)
  std::chrono::milliseconds write_timeout{30000};  // per response write
  std::chrono::milliseconds shutdown_grace{5000};  // Stop() waits this long for in-flight work
  size_t max_connections = 4096;             // accepted beyond this → closed at once

  Status Validate() const;
};

struct HttpRequest {
  std::string method;   // "GET", "POST", ...
  std::string target;   // "/grade?x=1"
  std::string path;     // "/grade"
  std::string content_type;
  std::string body;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers (e.g. Allow)
};

using HttpHandler = std::function<HttpResponse(const HttpRequest&)>;

class HttpServer {
 public:
  // `metrics` may be null; when given it must outlive the server.
  HttpServer(HttpServerOptions options, HttpHandler handler, ServerMetrics* metrics);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  Status Start();
  void Stop();

  uint16_t port() const;           // the bound port (valid after Start)
  std::string address() const;     // "127.0.0.1:PORT"
  size_t active_connections() const;

  class Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

// A JSON error body: {"error": {"code": <status>, "reason": "<reason>", "message": "<message>"}}.
HttpResponse JsonError(int status, std::string_view reason, std::string_view message);

}  // namespace scorch::reward
