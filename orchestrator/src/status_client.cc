// The client side of the status endpoint: ParseHostPort and a blocking HttpGet with a
// deadline. See status_server.h.
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>

#include "scorch/orchestrator/status_server.h"

namespace scorch::orchestrator {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

StatusOr<std::pair<std::string, uint16_t>> ParseHostPort(std::string_view endpoint) {
  std::string_view host, port;
  if (!endpoint.empty() && endpoint.front() == '[') {
    size_t close = endpoint.find(']');
    if (close == std::string_view::npos || close + 1 >= endpoint.size() || endpoint[close + 1] != ':') {
      return Status::InvalidArgument("'" + std::string(endpoint) + "' is not [IPV6]:PORT");
    }
    host = endpoint.substr(1, close - 1);
    port = endpoint.substr(close + 2);
  } else {
    size_t colon = endpoint.rfind(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument("'" + std::string(endpoint) + "' is not HOST:PORT (missing ':PORT')");
    }
    host = endpoint.substr(0, colon);
    port = endpoint.substr(colon + 1);
  }
  if (host.empty()) return Status::InvalidArgument("'" + std::string(endpoint) + "' has an empty host");
  unsigned value = 0;
  auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (ec != std::errc() || ptr != port.data() + port.size() || value == 0 || value > 65535) {
    return Status::InvalidArgument("'" + std::string(port) + "' is not a port number (1-65535)");
  }
  return std::make_pair(std::string(host), static_cast<uint16_t>(value));
}

StatusOr<HttpGetResult> HttpGet(const std::string& host, uint16_t port, const std::string& target,
                                std::chrono::milliseconds timeout, size_t max_body_bytes) {
  const std::string where = host + ":" + std::to_string(port);
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  tcp::resolver resolver(ioc);
  beast::error_code ec;
  auto results = resolver.resolve(host, std::to_string(port), ec);
  if (ec) return Status::Unavailable("cannot resolve " + host + ": " + ec.message());

  // Asynchronous operations with one overall deadline on the stream.
  stream.expires_after(timeout);
  HttpGetResult result;
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "scorch-status");
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(max_body_bytes);
  beast::error_code final_ec;
  std::string stage = "connect to";
  stream.async_connect(results, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) {
      final_ec = e;
      return;
    }
    stage = "send to";
    http::async_write(stream, req, [&](beast::error_code e2, size_t) {
      if (e2) {
        final_ec = e2;
        return;
      }
      stage = "read from";
      // Boost 1.74 does not apply body_limit to a response's Content-Length: check it here.
      http::async_read_header(stream, buffer, parser, [&](beast::error_code e3, size_t) {
        if (e3) {
          final_ec = e3;
          return;
        }
        if (parser.content_length() && *parser.content_length() > max_body_bytes) {
          final_ec = http::error::body_limit;
          return;
        }
        http::async_read(stream, buffer, parser, [&](beast::error_code e4, size_t) { final_ec = e4; });
      });
    });
  });
  ioc.run();
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (final_ec == beast::error::timeout) {
    return Status::DeadlineExceeded("no answer from " + where + " within " +
                                    std::to_string(timeout.count()) + " ms (" + stage + ")");
  }
  if (final_ec == http::error::body_limit) {
    return Status::ResourceExhausted("response from " + where + " exceeds " +
                                     std::to_string(max_body_bytes) + " bytes");
  }
  if (final_ec) {
    return Status::Unavailable("cannot " + stage + " " + where + ": " + final_ec.message());
  }
  const auto& res = parser.get();
  if (res.body().size() > max_body_bytes) {
    return Status::ResourceExhausted("response from " + where + " exceeds " +
                                     std::to_string(max_body_bytes) + " bytes");
  }
  result.status = res.result_int();
  auto ct = res.find(http::field::content_type);
  if (ct != res.end()) result.content_type = std::string(ct->value());
  result.body = res.body();
  return result;
}

}  // namespace scorch::orchestrator
