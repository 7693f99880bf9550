// StatusServer over real loopback HTTP: /status and /metrics while a simulated job updates
// its state from another thread, error answers, request-size bound, start/stop rules, and the
// HttpGet client's failures.
#include "scorch/orchestrator/status_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace scorch::orchestrator {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A stand-in for the job loop's state: a step counter and metrics, guarded by a mutex.
struct FakeJob {
  std::mutex mu;
  int64_t step = 0;
  std::map<std::string, double> metrics;

  json Status() {
    std::lock_guard<std::mutex> lock(mu);
    return {{"stage", "grpo"},
            {"step", step},
            {"workers", json::array({{{"id", "rollout-0"}, {"leases", 3}, {"last_heartbeat_s", 0.2}}})},
            {"queues", {{"pending_prompts", 17}}}};
  }
  std::map<std::string, double> Metrics() {
    std::lock_guard<std::mutex> lock(mu);
    return metrics;
  }
  void Advance() {
    std::lock_guard<std::mutex> lock(mu);
    ++step;
    metrics["reward/mean"] = 0.01 * static_cast<double>(step);
    metrics["step"] = static_cast<double>(step);
  }
};

// Sends `raw` on a fresh connection and returns everything the server answers.
std::string RawExchange(uint16_t port, const std::string& raw) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return "connect failed";
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  size_t sent = 0;
  while (sent < raw.size()) {
    ssize_t n = ::send(fd, raw.data() + sent, raw.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;
    sent += static_cast<size_t>(n);
  }
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = ::recv(fd, buf, sizeof buf, 0)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

TEST(StatusServerTest, ServesStatusAndMetricsWhileTheJobRuns) {
  FakeJob job;
  StatusServer server({}, [&] { return job.Status(); }, [&] { return job.Metrics(); });
  ASSERT_TRUE(server.Start().ok());
  ASSERT_NE(server.port(), 0);
  EXPECT_EQ(server.endpoint(), "127.0.0.1:" + std::to_string(server.port()));

  std::atomic<bool> done{false};
  std::thread loop([&] {
    while (!done) {
      job.Advance();
      std::this_thread::sleep_for(1ms);
    }
  });
  int64_t last_step = -1;
  for (int i = 0; i < 20; ++i) {
    auto r = HttpGet("127.0.0.1", server.port(), "/status");
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->content_type, "application/json");
    json j = json::parse(r->body);
    EXPECT_EQ(j["stage"], "grpo");
    EXPECT_EQ(j["workers"][0]["leases"], 3);
    EXPECT_GE(j["step"].get<int64_t>(), last_step);  // never goes back
    last_step = j["step"].get<int64_t>();
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_GT(last_step, 0);

  auto m = HttpGet("127.0.0.1", server.port(), "/metrics?x=1");
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(m->status, 200);
  EXPECT_NE(m->content_type.find("text/plain; version=0.0.4"), std::string::npos);
  EXPECT_NE(m->body.find("# TYPE scorch_reward_mean gauge\nscorch_reward_mean "), std::string::npos)
      << m->body;
  EXPECT_NE(m->body.find("\nscorch_step "), std::string::npos) << m->body;
  done = true;
  loop.join();
  // An idle keep-alive connection open across Stop() is closed by it.
  int idle = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(server.port());
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::connect(idle, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  timeval tv{5, 0};
  ::setsockopt(idle, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  std::this_thread::sleep_for(20ms);  // let the server accept it
  server.Stop();
  char byte;
  EXPECT_EQ(::recv(idle, &byte, 1, 0), 0) << "connection not closed by Stop()";
  ::close(idle);
  // Nobody listens any more: refused at once, not left waiting.
  auto after = HttpGet("127.0.0.1", server.port(), "/status", 2s);
  EXPECT_TRUE(after.status().IsUnavailable()) << after.status();
}

TEST(StatusServerTest, ErrorAnswersAndHead) {
  StatusServer server(
      {}, [] { return json{{"ok", true}}; },
      []() -> std::map<std::string, double> { throw std::runtime_error("metrics exploded"); });
  ASSERT_TRUE(server.Start().ok());
  auto nf = HttpGet("127.0.0.1", server.port(), "/nope");
  ASSERT_TRUE(nf.ok());
  EXPECT_EQ(nf->status, 404);
  EXPECT_NE(nf->body.find("no such path: /nope"), std::string::npos);
  auto err = HttpGet("127.0.0.1", server.port(), "/metrics");
  ASSERT_TRUE(err.ok());
  EXPECT_EQ(err->status, 500);
  EXPECT_NE(err->body.find("metrics exploded"), std::string::npos);

  std::string post = RawExchange(server.port(),
                                 "POST /status HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
                                 "Connection: close\r\n\r\n{}");
  EXPECT_EQ(post.rfind("HTTP/1.1 405", 0), 0u) << post;
  EXPECT_NE(post.find("Allow: GET, HEAD"), std::string::npos) << post;

  std::string head = RawExchange(server.port(), "HEAD /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(head.rfind("HTTP/1.1 200", 0), 0u) << head;
  EXPECT_NE(head.find("Content-Length: 11"), std::string::npos) << head;
  EXPECT_EQ(head.find("{\"ok\""), std::string::npos) << head;

  // Keep-alive: two requests on one connection.
  std::string two = RawExchange(server.port(),
                                "GET /status HTTP/1.1\r\nHost: x\r\n\r\n"
                                "GET /status HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  size_t first = two.find("HTTP/1.1 200");
  ASSERT_NE(first, std::string::npos) << two;
  EXPECT_NE(two.find("HTTP/1.1 200", first + 1), std::string::npos) << two;
}

TEST(StatusServerTest, OversizedRequestIsRefusedAndTheServerKeepsServing) {
  StatusServerOptions opts;
  opts.max_request_bytes = 1024;
  StatusServer server(opts, [] { return json{{"ok", true}}; }, [] { return std::map<std::string, double>{}; });
  ASSERT_TRUE(server.Start().ok());
  std::string big = "GET /status HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(8000, 'a') + "\r\n\r\n";
  std::string answer = RawExchange(server.port(), big);
  EXPECT_EQ(answer.rfind("HTTP/1.1 431", 0), 0u) << answer.substr(0, 200);
  std::string body = "GET /status HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n" + std::string(5000, 'b');
  answer = RawExchange(server.port(), body);
  EXPECT_EQ(answer.rfind("HTTP/1.1 413", 0), 0u) << answer.substr(0, 200);
  std::string garbage = RawExchange(server.port(), "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(garbage.rfind("HTTP/1.1 400", 0), 0u) << garbage;
  auto ok = HttpGet("127.0.0.1", server.port(), "/status");
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->status, 200);
}

TEST(StatusServerTest, StartStopRules) {
  StatusServer a({}, nullptr, nullptr);
  ASSERT_TRUE(a.Start().ok());
  EXPECT_EQ(a.Start().code(), StatusCode::kFailedPrecondition);
  // Empty callbacks serve empty documents.
  auto r = HttpGet("127.0.0.1", a.port(), "/status");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->body, "{}");

  StatusServerOptions same;
  same.port = a.port();
  StatusServer b(same, nullptr, nullptr);
  auto busy = b.Start();
  EXPECT_TRUE(busy.IsUnavailable()) << busy;

  StatusServerOptions bad;
  bad.host = "not-an-ip";
  StatusServer c(bad, nullptr, nullptr);
  EXPECT_TRUE(c.Start().IsInvalidArgument());
  StatusServerOptions tiny;
  tiny.max_request_bytes = 10;
  EXPECT_TRUE(tiny.Validate().IsInvalidArgument());

  // Concurrent and repeated Stop; a stopped server does not restart.
  std::thread t1([&] { a.Stop(); });
  std::thread t2([&] { a.Stop(); });
  t1.join();
  t2.join();
  a.Stop();
  EXPECT_EQ(a.Start().code(), StatusCode::kFailedPrecondition);
  StatusServer never({}, nullptr, nullptr);
  never.Stop();  // never started: fine
}

TEST(StatusServerTest, PrometheusNamesAndText) {
  EXPECT_EQ(PrometheusName("reward/mean"), "scorch_reward_mean");
  EXPECT_EQ(PrometheusName("time/generate_s"), "scorch_time_generate_s");
  EXPECT_EQ(PrometheusName("a-b.c d:e"), "scorch_a_b_c_d:e");
  std::string text = RenderPrometheusText(
      {{"a/b", 1.5}, {"a_b", 2.0}, {"n", NAN}, {"p", INFINITY}, {"m", -INFINITY}, {"big", 1e300}});
  EXPECT_EQ(text,
            "# TYPE scorch_a_b gauge\nscorch_a_b 1.5\n"
            "# TYPE scorch_big gauge\nscorch_big 1.0000000000000001e+300\n"
            "# TYPE scorch_m gauge\nscorch_m -Inf\n"
            "# TYPE scorch_n gauge\nscorch_n NaN\n"
            "# TYPE scorch_p gauge\nscorch_p +Inf\n");
}

TEST(StatusClientTest, ParseHostPort) {
  auto a = ParseHostPort("127.0.0.1:8080");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->first, "127.0.0.1");
  EXPECT_EQ(a->second, 8080);
  auto b = ParseHostPort("[::1]:9");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->first, "::1");
  auto c = ParseHostPort("localhost:65535");
  ASSERT_TRUE(c.ok());
  for (const char* bad : {"localhost", ":80", "host:", "host:0", "host:70000", "host:12x", "[::1]9"}) {
    auto r = ParseHostPort(bad);
    EXPECT_TRUE(r.status().IsInvalidArgument()) << bad;
  }
}

TEST(StatusClientTest, UnreachableAndSilentServers) {
  // A port with nobody listening: bind one, note it, close it.
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  const uint16_t port = ntohs(addr.sin_port);
  ::close(fd);
  auto refused = HttpGet("127.0.0.1", port, "/status", 2s);
  EXPECT_TRUE(refused.status().IsUnavailable()) << refused.status();

  // A server that accepts and never answers.
  int lfd = ::socket(AF_INET, SOCK_STREAM, 0);
  addr.sin_port = 0;
  ASSERT_EQ(::bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::listen(lfd, 4), 0);
  len = sizeof addr;
  ::getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &len);
  auto slow = HttpGet("127.0.0.1", ntohs(addr.sin_port), "/status", 200ms);
  EXPECT_TRUE(slow.status().IsDeadlineExceeded()) << slow.status();
  ::close(lfd);

  StatusServer big({}, [] { return json{{"x", std::string(5000, 'x')}}; }, nullptr);
  ASSERT_TRUE(big.Start().ok());
  auto limited = HttpGet("127.0.0.1", big.port(), "/status", 2s, /*max_body_bytes=*/1000);
  EXPECT_EQ(limited.status().code(), StatusCode::kResourceExhausted) << limited.status() << (limited.ok() ? limited->body.substr(0, 100) + " " + std::to_string(limited->body.size()) : "");
}

}  // namespace
}  // namespace scorch::orchestrator
