// Boost.Beast implementation of HttpServer. See http_server.h.
//
// One io_context run by `threads` threads; the acceptor lives on its own strand and every
// session on its own strand, so a session's handlers never run concurrently. Sessions are
// tracked (weak pointers) so that Stop() can close idle ones and wait for busy ones.
#include "scorch/reward/http_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/version.hpp>
#include <array>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <thread>
#include <unordered_map>

#include "scorch/common/logging.h"

namespace scorch::reward {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

HttpResponse JsonError(int status, std::string_view reason, std::string_view message) {
  HttpResponse r;
  r.status = status;
  nlohmann::json j = {{"error", {{"code", status}, {"reason", reason}, {"message", message}}}};
  r.body = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  return r;
}

Status HttpServerOptions::Validate() const {
  if (threads < 1 || threads > 256) return Status::InvalidArgument("http.threads must be in [1, 256]");
  if (handler_threads < 0 || handler_threads > 1024) {
    return Status::InvalidArgument("http.handler_threads must be in [0, 1024]");
  }
  if (max_body_bytes < 1) return Status::InvalidArgument("http.max_body_bytes must be > 0");
  if (max_header_bytes < 256) return Status::InvalidArgument("http.max_header_bytes must be >= 256");
  if (read_timeout.count() <= 0 || write_timeout.count() <= 0) {
    return Status::InvalidArgument("http read/write timeouts must be > 0");
  }
  if (shutdown_grace.count() < 0) return Status::InvalidArgument("http.shutdown_grace must be >= 0");
  if (max_connections < 1) return Status::InvalidArgument("http.max_connections must be > 0");
  return Status::Ok();
}

class Session;

class HttpServer::Impl {
 public:
  Impl(HttpServerOptions options, HttpHandler handler, ServerMetrics* metrics)
      : options_(std::move(options)), handler_(std::move(handler)), metrics_(metrics) {}

  Status Start();
  void Stop();
  void DoAccept();
  void OnAccept(beast::error_code ec, tcp::socket socket);

  void Register(Session* s, std::weak_ptr<Session> w) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_[s] = std::move(w);
  }
  void Unregister(Session* s) {
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(s);
    cv_.notify_all();
  }
  size_t Active() const {
    std::lock_guard<std::mutex> lock(mu_);
    return sessions_.size();
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  ServerMetrics* metrics_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint16_t> port_{0};

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_map<Session*, std::weak_ptr<Session>> sessions_;  // GUARDED_BY(mu_)
  bool started_ = false;
  bool stopped_ = false;

  // Declared after the session registry: destroyed first, so sessions dying with the
  // io_context can still unregister.
  net::io_context ioc_;
  // Keeps run() going while a request is away in the handler pool and nothing else is
  // pending (e.g. after the acceptor closed during Stop).
  std::optional<net::executor_work_guard<net::io_context::executor_type>> work_;
  std::optional<net::thread_pool> handler_pool_;  // after ioc_: joined and destroyed first
  std::optional<tcp::acceptor> acceptor_;
  std::optional<net::strand<net::io_context::executor_type>> accept_strand_;
  std::vector<std::thread> threads_;
};

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket&& socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {}
  ~Session() { server_->Unregister(this); }

  void Run() {
    net::dispatch(stream_.get_executor(), beast::bind_front_handler(&Session::DoRead, shared_from_this()));
  }

  // Called from the stopping thread: hops onto this session's strand, where an idle
  // session is closed (cancelling its pending read) and a busy one is left to finish.
  void NotifyStop() {
    net::post(stream_.get_executor(), [self = shared_from_this()] {
      if (!self->busy_) self->Close();
    });
  }

 private:
  void DoRead() {
    if (server_->stopping_) return Close();
    parser_.emplace();
    parser_->body_limit(server_->options_.max_body_bytes);
    parser_->header_limit(static_cast<std::uint32_t>(server_->options_.max_header_bytes));
    stream_.expires_after(server_->options_.read_timeout);
    http::async_read(stream_, buffer_, *parser_,
                     beast::bind_front_handler(&Session::OnRead, shared_from_this()));
  }

  void OnRead(beast::error_code ec, std::size_t) {
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset ||
        ec == net::error::eof) {
      return Close();
    }
    start_ = std::chrono::steady_clock::now();
    if (ec) {
      // A request we refuse without reading it whole: answer, then close the connection.
      HttpResponse r;
      std::string path = "other";
      if (ec == http::error::body_limit) {
        r = JsonError(413, "body_too_large",
                      "request body exceeds the limit of " +
                          std::to_string(server_->options_.max_body_bytes) + " bytes");
        if (parser_->is_header_done()) path = PathOf(std::string(parser_->get().target()));
      } else if (ec == http::error::header_limit) {
        r = JsonError(431, "headers_too_large", "request headers exceed the limit");
      } else {
        r = JsonError(400, "bad_http", "malformed HTTP request: " + ec.message());
      }
      if (server_->metrics_) server_->metrics_->RecordError(r.status == 413 ? "body_too_large"
                                                            : r.status == 431 ? "headers_too_large"
                                                                              : "bad_http");
      drain_ = true;  // the client may still be sending the refused body
      return Send(std::move(r), path, /*keep_alive=*/false, 11);
    }
    busy_ = true;
    auto& msg = parser_->get();
    HttpRequest req;
    req.method = std::string(msg.method_string());
    req.target = std::string(msg.target());
    req.path = PathOf(req.target);
    auto ct = msg.find(http::field::content_type);
    if (ct != msg.end()) req.content_type = std::string(ct->value());
    req.body = std::move(msg.body());
    bool keep_alive = msg.keep_alive();
    unsigned version = msg.version();
    if (!server_->handler_pool_) {
      HttpResponse resp = CallHandler(req);
      return Send(std::move(resp), req.path, keep_alive && !server_->stopping_, version);
    }
    // Grade off the I/O threads; come back to this session's strand to write.
    net::post(*server_->handler_pool_, [self = shared_from_this(), req = std::move(req), keep_alive,
                                        version]() mutable {
      HttpResponse resp = self->CallHandler(req);
      net::post(self->stream_.get_executor(), [self, resp = std::move(resp), path = std::move(req.path),
                                               keep_alive, version]() mutable {
        self->Send(std::move(resp), std::move(path), keep_alive && !self->server_->stopping_, version);
      });
    });
  }

  HttpResponse CallHandler(const HttpRequest& req) {
    try {
      return server_->handler_(req);
    } catch (const std::exception& e) {
      return JsonError(500, "internal", std::string("handler failed: ") + e.what());
    } catch (...) {
      return JsonError(500, "internal", "handler failed");
    }
  }

  static std::string PathOf(const std::string& target) {
    size_t q = target.find('?');
    return q == std::string::npos ? target : target.substr(0, q);
  }

  void Send(HttpResponse r, std::string path, bool keep_alive, unsigned version) {
    auto res = std::make_shared<http::response<http::string_body>>();
    res->version(version == 10 ? 10 : 11);
    res->result(static_cast<unsigned>(r.status));
    res->set(http::field::server, "scorch-reward");
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers) res->set(k, v);
    res->keep_alive(keep_alive);
    res->body() = std::move(r.body);
    res->prepare_payload();
    res_ = res;
    status_ = r.status;
    path_ = std::move(path);
    stream_.expires_after(server_->options_.write_timeout);
    http::async_write(stream_, *res_,
                      beast::bind_front_handler(&Session::OnWrite, shared_from_this(), keep_alive));
  }

  void OnWrite(bool keep_alive, beast::error_code ec, std::size_t) {
    if (server_->metrics_) {
      double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
      server_->metrics_->RecordRequest(path_, status_, secs);
    }
    busy_ = false;
    res_.reset();
    if (!ec && drain_) return Drain();
    if (ec || !keep_alive || server_->stopping_) return Close();
    DoRead();
  }

  // Lingering close after refusing a request: stop sending, then read and discard what the
  // client still sends (bounded in time) so that it sees our response instead of a reset.
  void Drain() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    drain_deadline_ = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    DrainSome();
  }
  void DrainSome() {
    auto left = drain_deadline_ - std::chrono::steady_clock::now();
    if (left <= std::chrono::steady_clock::duration::zero()) return Close();
    stream_.expires_after(std::chrono::duration_cast<std::chrono::milliseconds>(left));
    stream_.async_read_some(net::buffer(discard_),
                            [self = shared_from_this()](beast::error_code ec, std::size_t) {
                              if (ec) return self->Close();
                              self->DrainSome();
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http::response<http::string_body>> res_;
  std::chrono::steady_clock::time_point start_;
  std::string path_;
  int status_ = 0;
  bool busy_ = false;  // a request is being handled or its response written
  bool drain_ = false;  // refused request: drain the rest of its body before closing
  std::chrono::steady_clock::time_point drain_deadline_;
  std::array<char, 16384> discard_;
};

Status HttpServer::Impl::Start() {
  SCORCH_RETURN_IF_ERROR(options_.Validate());
  if (started_) return Status::FailedPrecondition("HttpServer already started");
  beast::error_code ec;
  auto addr = net::ip::make_address(options_.address, ec);
  if (ec) return Status::InvalidArgument("http: bad bind address '" + options_.address + "': " + ec.message());
  tcp::endpoint ep(addr, options_.port);
  accept_strand_.emplace(net::make_strand(ioc_));
  acceptor_.emplace(*accept_strand_);
  acceptor_->open(ep.protocol(), ec);
  if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_->bind(ep, ec);
  if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("http: cannot listen on " + options_.address + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
  }
  port_ = acceptor_->local_endpoint().port();
  started_ = true;
  if (options_.handler_threads > 0) handler_pool_.emplace(static_cast<size_t>(options_.handler_threads));
  work_.emplace(ioc_.get_executor());
  DoAccept();
  for (int i = 0; i < options_.threads; ++i) {
    threads_.emplace_back([this] {
      for (;;) {
        try {
          ioc_.run();
          return;
        } catch (const std::exception& e) {
          // Handlers catch their own errors; this is a last line of defence.
          SCORCH_LOG(ERROR) << "http: I/O thread caught " << e.what() << "; continuing";
        }
      }
    });
  }
  return Status::Ok();
}

void HttpServer::Impl::DoAccept() {
  acceptor_->async_accept(net::make_strand(ioc_),
                          beast::bind_front_handler(&HttpServer::Impl::OnAccept, this));
}

void HttpServer::Impl::OnAccept(beast::error_code ec, tcp::socket socket) {
  if (stopping_ || !acceptor_->is_open()) return;
  if (!ec) {
    if (Active() >= options_.max_connections) {
      beast::error_code ignored;
      socket.close(ignored);
      if (metrics_) metrics_->RecordError("too_many_connections");
    } else {
      auto s = std::make_shared<Session>(std::move(socket), this);
      Register(s.get(), s);
      s->Run();
    }
  }
  DoAccept();
}

void HttpServer::Impl::Stop() {
  if (!started_ || stopped_) return;
  stopped_ = true;
  stopping_ = true;
  // 1. Stop accepting.
  net::post(*accept_strand_, [this] {
    beast::error_code ec;
    acceptor_->close(ec);
  });
  // 2. Close idle sessions; busy ones close after sending their response.
  std::vector<std::shared_ptr<Session>> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (auto& [p, w] : sessions_) {
      if (auto s = w.lock()) live.push_back(std::move(s));
    }
  }
  for (auto& s : live) s->NotifyStop();
  live.clear();
  // 3. Wait (bounded) for in-flight requests to finish.
  {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, options_.shutdown_grace, [this] { return sessions_.empty(); });
    if (!sessions_.empty()) {
      SCORCH_LOG(WARNING) << "http: " << sessions_.size()
                          << " connection(s) still busy after the shutdown grace; abandoning them";
    }
  }
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
  // A handler still running past the grace finishes here (grading is deadline-bounded);
  // its reply is dropped with the stopped io_context.
  if (handler_pool_) handler_pool_->join();
}

HttpServer::HttpServer(HttpServerOptions options, HttpHandler handler, ServerMetrics* metrics)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), metrics)) {}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() { return impl_->Start(); }
void HttpServer::Stop() { impl_->Stop(); }
uint16_t HttpServer::port() const { return impl_->port_; }
std::string HttpServer::address() const {
  return impl_->options_.address + ":" + std::to_string(impl_->port_.load());
}
size_t HttpServer::active_connections() const { return impl_->Active(); }

}  // namespace scorch::reward
