// Boost.Beast implementation of StatusServer. See status_server.h.
//
// One io_context run by one thread. Each connection is a Session that reads a request
// (bounded by a parser limit and a timeout), answers it, and then reads the next one on a
// keep-alive connection. Stop() closes the acceptor and stops the io_context; pending
// sessions are destroyed with it.
#include "scorch/orchestrator/status_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "scorch/common/logging.h"

namespace scorch::orchestrator {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string ErrorBody(int code, std::string_view message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

Status StatusServerOptions::Validate() const {
  if (host.empty()) return Status::InvalidArgument("status_server.host must not be empty");
  if (max_request_bytes < 256) {
    return Status::InvalidArgument("status_server.max_request_bytes must be >= 256");
  }
  if (io_timeout.count() <= 0) return Status::InvalidArgument("status_server.io_timeout must be > 0");
  return Status::Ok();
}

std::string PrometheusName(std::string_view key) {
  std::string out = "scorch_";
  for (char c : key) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == ':';
    out.push_back(ok ? c : '_');
  }
  return out;
}

std::string RenderPrometheusText(const std::map<std::string, double>& metrics) {
  std::string out;
  std::set<std::string> seen;
  for (const auto& [key, value] : metrics) {
    std::string name = PrometheusName(key);
    if (!seen.insert(name).second) continue;
    char buf[64];
    if (std::isnan(value)) {
      std::snprintf(buf, sizeof buf, "NaN");
    } else if (std::isinf(value)) {
      std::snprintf(buf, sizeof buf, value > 0 ? "+Inf" : "-Inf");
    } else {
      std::snprintf(buf, sizeof buf, "%.17g", value);
    }
    out += "# TYPE " + name + " gauge\n" + name + " " + buf + "\n";
  }
  return out;
}

class StatusServer::Impl {
 public:
  Impl(StatusServerOptions o, StatusJsonFn s, MetricsFn m)
      : options_(std::move(o)), status_fn_(std::move(s)), metrics_fn_(std::move(m)) {}

  void DoAccept();
  // Builds the response to one request (runs on the I/O thread).
  http::response<http::string_body> Answer(const http::request<http::string_body>& req);

  const StatusServerOptions options_;
  const StatusJsonFn status_fn_;
  const MetricsFn metrics_fn_;

  std::mutex mu_;            // guards the state below against concurrent Start/Stop
  bool started_ = false;     // GUARDED_BY(mu_)
  bool stopped_ = false;     // GUARDED_BY(mu_)
  std::atomic<uint16_t> port_{0};
  std::optional<net::io_context> ioc_{std::in_place, 1};  // reset by Stop()
  std::optional<tcp::acceptor> acceptor_;                 // after ioc_: destroyed before it
  std::thread thread_;
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, StatusServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}

  void Read() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(server_->options_.max_request_bytes));
    parser_->body_limit(server_->options_.max_request_bytes);
    stream_.expires_after(server_->options_.io_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

 private:
  void OnRead(beast::error_code ec) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::eof ||
        ec == net::error::connection_reset) {
      return Close();
    }
    if (ec) {
      http::response<http::string_body> res;
      if (ec == http::error::header_limit) {
        res.result(http::status::request_header_fields_too_large);
      } else if (ec == http::error::body_limit) {
        res.result(http::status::payload_too_large);
      } else {
        res.result(http::status::bad_request);
      }
      res.body() = ErrorBody(res.result_int(), "refused request: " + ec.message());
      res.set(http::field::content_type, "application/json");
      drain_ = true;  // the client may still be sending what we refused
      return Write(std::move(res), /*keep_alive=*/false);
    }
    const auto& req = parser_->get();
    auto res = server_->Answer(req);
    res.version(req.version());
    Write(std::move(res), req.keep_alive(), req.method() == http::verb::head);
  }

  void Write(http::response<http::string_body> res, bool keep_alive, bool head = false) {
    res.set(http::field::server, "scorch-status");
    res.keep_alive(keep_alive);
    res.prepare_payload();
    if (head) {
      // HEAD: the GET's headers (its Content-Length included) and no body.
      const size_t n = res.body().size();
      res.body().clear();
      res.content_length(n);
    }
    res_ = std::make_shared<http::response<http::string_body>>(std::move(res));
    stream_.expires_after(server_->options_.io_timeout);
    http::async_write(stream_, *res_,
                      [self = shared_from_this(), keep_alive](beast::error_code ec, size_t) {
                        self->res_.reset();
                        if (!ec && self->drain_) return self->Drain();
                        if (ec || !keep_alive) return self->Close();
                        self->Read();
                      });
  }

  // Lingering close after a refusal: stop sending, then discard what the client still sends
  // (bounded in time), so that it reads our answer instead of a connection reset.
  void Drain() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::min<std::chrono::milliseconds>(server_->options_.io_timeout,
                                                              std::chrono::seconds(2)));
    DrainSome();
  }
  void DrainSome() {
    stream_.async_read_some(net::buffer(discard_), [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->Close();
      self->DrainSome();
    });
  }

  void Close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream_.socket().close(ignored);
  }

  beast::tcp_stream stream_;
  StatusServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  bool drain_ = false;
  std::array<char, 4096> discard_;
};

}  // namespace

void StatusServer::Impl::DoAccept() {
  acceptor_->async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == net::error::operation_aborted || !acceptor_->is_open()) return;
    if (!ec) std::make_shared<Session>(std::move(socket), this)->Read();
    DoAccept();
  });
}

http::response<http::string_body> StatusServer::Impl::Answer(
    const http::request<http::string_body>& req) {
  http::response<http::string_body> res;
  std::string target(req.target());
  const std::string path = target.substr(0, target.find('?'));
  const bool head = req.method() == http::verb::head;
  res.set(http::field::content_type, "application/json");
  if (path != "/status" && path != "/metrics") {
    res.result(http::status::not_found);
    res.body() = ErrorBody(404, "no such path: " + path + " (try /status or /metrics)");
    return res;
  }
  if (req.method() != http::verb::get && !head) {
    res.result(http::status::method_not_allowed);
    res.set(http::field::allow, "GET, HEAD");
    res.body() = ErrorBody(405, "only GET and HEAD are served");
    return res;
  }
  try {
    if (path == "/status") {
      nlohmann::json j = status_fn_ ? status_fn_() : nlohmann::json::object();
      res.body() = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    } else {
      res.set(http::field::content_type, "text/plain; version=0.0.4; charset=utf-8");
      res.body() = RenderPrometheusText(metrics_fn_ ? metrics_fn_() : std::map<std::string, double>{});
    }
    res.result(http::status::ok);
  } catch (const std::exception& e) {
    res.set(http::field::content_type, "application/json");
    res.result(http::status::internal_server_error);
    res.body() = ErrorBody(500, std::string("status callback failed: ") + e.what());
  }
  return res;
}

StatusServer::StatusServer(StatusServerOptions options, StatusJsonFn status, MetricsFn metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(status), std::move(metrics))) {}

StatusServer::~StatusServer() { Stop(); }

Status StatusServer::Start() {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  if (impl_->started_ || impl_->stopped_) {
    return Status::FailedPrecondition("status server already started (or stopped)");
  }
  SCORCH_RETURN_IF_ERROR(impl_->options_.Validate());
  beast::error_code ec;
  auto address = net::ip::make_address(impl_->options_.host, ec);
  if (ec) {
    return Status::InvalidArgument("status server host '" + impl_->options_.host +
                                   "' is not an IP address: " + ec.message());
  }
  tcp::endpoint ep(address, impl_->options_.port);
  tcp::acceptor acc(*impl_->ioc_);
  acc.open(ep.protocol(), ec);
  if (!ec) acc.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acc.bind(ep, ec);
  if (!ec) acc.listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("status server cannot listen on " + impl_->options_.host + ":" +
                               std::to_string(impl_->options_.port) + ": " + ec.message());
  }
  impl_->port_ = acc.local_endpoint().port();
  impl_->acceptor_.emplace(std::move(acc));
  impl_->DoAccept();
  impl_->started_ = true;
  impl_->thread_ = std::thread([impl = impl_.get()] {
    try {
      impl->ioc_->run();
    } catch (const std::exception& e) {
      SCORCH_LOG(ERROR) << "status server I/O thread ended: " << e.what();
    }
  });
  SCORCH_LOG(INFO) << "status server listening on " << impl_->options_.host << ":" << impl_->port_;
  return Status::Ok();
}

void StatusServer::Stop() {
  std::lock_guard<std::mutex> lock(impl_->mu_);
  if (impl_->stopped_) return;
  impl_->stopped_ = true;
  if (!impl_->started_) return;
  impl_->ioc_->stop();
  if (impl_->thread_.joinable()) impl_->thread_.join();
  // The I/O thread is gone: close the listening socket now, then destroy the io_context with
  // its pending handlers, which closes every connection still open.
  impl_->acceptor_.reset();
  impl_->ioc_.reset();
}

uint16_t StatusServer::port() const { return impl_->port_; }

std::string StatusServer::endpoint() const {
  return impl_->options_.host + ":" + std::to_string(impl_->port_);
}

}  // namespace scorch::orchestrator
