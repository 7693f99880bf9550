// The HTTP server with real clients: curl and python3's standard library run as child
// processes against 127.0.0.1 on a port the server picked (port 0).
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "scorch/reward/http_server.h"
#include "scorch/reward/server_api.h"

namespace scorch::reward {
namespace {

using nlohmann::json;

// Fake oracle: the last \boxed{X} (no nesting) or a bare answer equals gold → correct;
// gold "ERR" → error/deadline.
class FakeOracle : public Oracle {
 public:
  OracleResult Grade(const OracleQuery& q) override {
    if (q.gold == "ERR") return {OracleVerdict::kError, "deadline", 0};
    std::string_view ans = q.text;
    if (q.is_full_response) {
      size_t b = ans.rfind("\\boxed{");
      if (b == std::string_view::npos) return {OracleVerdict::kWrong, "no_answer", 0};
      size_t e = ans.find('}', b);
      ans = ans.substr(b + 7, e - b - 7);
    }
    return ans == q.gold ? OracleResult{OracleVerdict::kCorrect, "string_equal", 0}
                         : OracleResult{OracleVerdict::kWrong, "not_equal", 0};
  }
};

struct CmdResult {
  int code = -1;
  std::string out;
};

CmdResult RunCmd(const std::string& cmd) {
  CmdResult r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

std::string WriteTemp(const std::string& name, const std::string& content) {
  std::string path = testing::TempDir() + "/" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

struct Reply {
  int status = 0;
  std::string body;
};

class HttpTest : public testing::Test {
 protected:
  void SetUp() override {
    RewardApiOptions o;
    auto api = RewardApi::Create(o, &oracle_, &metrics_);
    ASSERT_TRUE(api.ok()) << api.status();
    api_ = std::move(api).value();
    HttpServerOptions so;
    so.port = 0;
    so.threads = 2;
    so.max_body_bytes = 64 * 1024;
    so.read_timeout = std::chrono::milliseconds(2000);
    server_ = std::make_unique<HttpServer>(so, [this](const HttpRequest& r) { return api_->Handle(r); },
                                           &metrics_);
    ASSERT_TRUE(server_->Start().ok());
    ASSERT_GT(server_->port(), 0);
    base_ = "http://127.0.0.1:" + std::to_string(server_->port());
  }
  void TearDown() override { server_->Stop(); }

  // curl: body in a file (so any size and content is sent verbatim).
  Reply Curl(const std::string& method, const std::string& path, const std::string& body = "",
             const std::string& extra = "") {
    std::string cmd = "curl -s -S --max-time 20 -X " + method + " -w '\\n%{http_code}' " + extra + " ";
    if (!body.empty()) {
      cmd += "-H 'Content-Type: application/json' --data-binary @" + WriteTemp("body.json", body) + " ";
    }
    cmd += "'" + base_ + path + "'";
    CmdResult r = RunCmd(cmd + " 2>&1");
    Reply out;
    size_t nl = r.out.rfind('\n');
    if (nl == std::string::npos) {
      out.body = r.out;
      return out;
    }
    out.body = r.out.substr(0, nl);
    out.status = std::atoi(r.out.c_str() + nl + 1);
    return out;
  }

  FakeOracle oracle_;
  ServerMetrics metrics_;
  std::unique_ptr<RewardApi> api_;
  std::unique_ptr<HttpServer> server_;
  std::string base_;
};

TEST_F(HttpTest, Health) {
  Reply r = Curl("GET", "/health");
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(json::parse(r.body)["status"], "ok");
}

TEST_F(HttpTest, GetRewardOpenRlhfProtocol) {
  json req = {{"query", {"Q: 2+2? A: so \\boxed{4}", "Q: 3+3? A: \\boxed{7}", "Q: x? \\boxed{1}"}},
              {"prompts", {"Q: 2+2? A:", "Q: 3+3? A:", "Q: x?"}},
              {"labels", {"4", "6", "ERR"}}};
  Reply r = Curl("POST", "/get_reward", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  EXPECT_EQ(j["rewards"], json({1.0, 0.0, 0.0}));
  EXPECT_EQ(j["scores"], json({1.0, 0.0, 0.0}));
  EXPECT_EQ(j["extra_logs"]["correct"], json({1.0, 0.0, 0.0}));
  EXPECT_EQ(j["extra_logs"]["grader_error"], json({0.0, 0.0, 1.0}));
  // The prompt prefix is stripped: a \boxed in the prompt is not graded.
  json req2 = {{"query", {"Use \\boxed{4} format. Answer: 5"}},
               {"prompts", {"Use \\boxed{4} format."}},
               {"labels", {"4"}}};
  Reply r2 = Curl("POST", "/get_reward", req2.dump());
  ASSERT_EQ(r2.status, 200) << r2.body;
  EXPECT_EQ(json::parse(r2.body)["rewards"], json({0.0}));
  // Mismatched lengths are a 400 naming the field.
  Reply bad = Curl("POST", "/get_reward", json{{"query", {"a", "b"}}, {"labels", {"1"}}}.dump());
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("labels"), std::string::npos) << bad.body;
}

TEST_F(HttpTest, GradeBatchWithOptions) {
  json req = {
      {"items",
       {{{"gold", "4"}, {"pred", "4"}},
        {{"gold", "4"}, {"response", "\\boxed{5} [VERIFY] wrong. fix \\boxed{4} [VERIFY] correct."},
         {"protocol", "srr"}},
        {{"gold", "4"}, {"turns", {{{"kind", "attempt"}, {"text", "\\boxed{3}"}}}},
         {"generated_tokens", 1024}, {"max_new_tokens", 2048}}}},
      {"options", {{"reward", {{"rules", {"cosine"}}}}}}};
  Reply r = Curl("POST", "/grade", req.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  json j = json::parse(r.body);
  ASSERT_EQ(j["count"], 3);
  EXPECT_EQ(j["results"][0]["verdict"], "correct");
  EXPECT_EQ(j["results"][1]["verdict"], "correct");
  EXPECT_EQ(j["results"][1]["components"]["turn1_correct"], 0.0);
  EXPECT_EQ(j["results"][1]["turns"][1]["self_verdict"], "wrong");
  EXPECT_EQ(j["results"][1]["turns"][1]["agrees"], true);
  EXPECT_DOUBLE_EQ(j["results"][2]["reward"].get<double>(), -5.0);  // wrong at L_max/2
  // Dense repetition comes back as a per-token vector.
  json dreq = {{"items", {{{"gold", "4"}, {"pred", "4"}, {"token_ids", {1, 2, 1, 2}}}}},
               {"options", {{"reward", {{"rules", {{{"name", "repetition"}, {"params", {{"ngram_size", 2}}}}}}}}}}};
  Reply d = Curl("POST", "/grade", dreq.dump());
  ASSERT_EQ(d.status, 200) << d.body;
  json dj = json::parse(d.body);
  ASSERT_EQ(dj["results"][0]["dense"].size(), 4u);
  EXPECT_FLOAT_EQ(dj["results"][0]["dense"][3].get<float>(), -0.05f);
  EXPECT_FLOAT_EQ(dj["results"][0]["dense"][1].get<float>(), 0.0f);
}

TEST_F(HttpTest, MalformedRequestsGetReasons) {
  Reply r = Curl("POST", "/grade", "{\"items\": [");
  EXPECT_EQ(r.status, 400);
  EXPECT_EQ(json::parse(r.body)["error"]["reason"], "bad_json");
  Reply deep = Curl("POST", "/grade", std::string(10000, '['));
  EXPECT_EQ(deep.status, 400);
  Reply missing = Curl("POST", "/grade", R"({"items": [{"pred": "4"}]})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(json::parse(missing.body)["error"]["message"].get<std::string>().find("items[0].gold"),
            std::string::npos);
  Reply rule = Curl("POST", "/grade", R"({"items": [], "options": {"reward": {"rules": ["nope"]}}})");
  EXPECT_EQ(rule.status, 400);
  EXPECT_NE(rule.body.find("unknown reward rule"), std::string::npos);
  EXPECT_EQ(Curl("GET", "/grade").status, 405);
  EXPECT_EQ(Curl("POST", "/health", "{}").status, 405);
  EXPECT_EQ(Curl("GET", "/nope").status, 404);
  EXPECT_EQ(metrics_.ErrorCount("bad_json"), 2u);
}

TEST_F(HttpTest, OversizedBodyIs413) {
  std::string big = "{\"items\": [{\"gold\": \"" + std::string(200 * 1024, 'x') + "\", \"pred\": \"1\"}]}";
  Reply r = Curl("POST", "/grade", big);
  EXPECT_EQ(r.status, 413) << r.body;
  EXPECT_EQ(json::parse(r.body)["error"]["reason"], "body_too_large");
  // The server is still fine afterwards.
  EXPECT_EQ(Curl("GET", "/health").status, 200);
}

TEST_F(HttpTest, MetricsInPrometheusFormat) {
  ASSERT_EQ(Curl("POST", "/grade", R"({"items": [{"gold": "4", "pred": "4"}, {"gold": "ERR", "pred": "1"}]})").status, 200);
  Reply m = Curl("GET", "/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find("# TYPE scorch_reward_http_requests_total counter"), std::string::npos);
  EXPECT_NE(m.body.find("scorch_reward_http_requests_total{path=\"/grade\",code=\"200\"} 1"), std::string::npos)
      << m.body;
  EXPECT_NE(m.body.find("scorch_reward_http_request_duration_seconds_bucket{path=\"/grade\",le=\"+Inf\"} 1"),
            std::string::npos);
  EXPECT_NE(m.body.find("scorch_reward_verdicts_total{verdict=\"correct\"} 1"), std::string::npos);
  EXPECT_NE(m.body.find("scorch_reward_verdicts_total{verdict=\"error\"} 1"), std::string::npos);
  EXPECT_NE(m.body.find("scorch_reward_errors_total{reason=\"grader_deadline\"} 1"), std::string::npos);
}

TEST_F(HttpTest, ManyConcurrentKeepAliveConnections) {
  std::string script = WriteTemp("conc.py", R"PY(
import http.client, json, sys, threading
port = int(sys.argv[1]); ok = []; bad = []
body = json.dumps({"query": ["p \\boxed{4}"], "prompts": ["p"], "labels": ["4"]})
def worker():
    try:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=20)
        for i in range(10):
            c.request("POST", "/get_reward", body, {"Content-Type": "application/json"})
            r = c.getresponse(); data = r.read()
            (ok if r.status == 200 and json.loads(data)["rewards"] == [1.0] else bad).append(1)
        c.close()
    except Exception as e:
        bad.append(str(e))
ts = [threading.Thread(target=worker) for _ in range(48)]
[t.start() for t in ts]; [t.join() for t in ts]
print(len(ok), len(bad))
)PY");
  CmdResult r = RunCmd("python3 " + script + " " + std::to_string(server_->port()) + " 2>&1");
  EXPECT_EQ(r.out, "480 0\n");
  EXPECT_EQ(metrics_.RequestCount("/get_reward", 200), 480u);
}

TEST(HttpServerTest, ReadTimeoutClosesSlowClient) {
  HttpServerOptions so;
  so.read_timeout = std::chrono::milliseconds(200);
  HttpServer server(so, [](const HttpRequest&) { return HttpResponse{}; }, nullptr);
  ASSERT_TRUE(server.Start().ok());
  std::string script = WriteTemp("slow.py", R"PY(
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n")  # never finishes the headers
t = time.time(); data = s.recv(100)
print("closed" if data == b"" else "data", round(time.time() - t, 1) < 5)
)PY");
  CmdResult r = RunCmd("python3 " + script + " " + std::to_string(server.port()) + " 2>&1");
  EXPECT_EQ(r.out, "closed True\n");
}

// Both ways of running the handler: on a separate pool (default) and inline on I/O threads.
class GracefulShutdownTest : public testing::TestWithParam<int> {};

TEST_P(GracefulShutdownTest, FinishesInFlightRequest) {
  std::atomic<int> entered{0};
  HttpServerOptions so;
  so.handler_threads = GetParam();
  so.shutdown_grace = std::chrono::milliseconds(5000);
  HttpServer server(so, [&](const HttpRequest&) {
    entered = 1;
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    HttpResponse r;
    r.body = "{\"done\": true}";
    return r;
  }, nullptr);
  ASSERT_TRUE(server.Start().ok());
  std::string url = "http://127.0.0.1:" + std::to_string(server.port()) + "/slow";
  CmdResult slow;
  std::thread client([&] { slow = RunCmd("curl -s --max-time 10 -w ' %{http_code}' " + url + " 2>&1"); });
  while (entered == 0) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  server.Stop();  // returns after the in-flight request has been answered
  client.join();
  EXPECT_EQ(slow.out, "{\"done\": true} 200");
  // No longer accepting.
  CmdResult after = RunCmd("curl -s --max-time 5 -o /dev/null -w '%{http_code}' " + url + " 2>&1");
  EXPECT_EQ(after.out, "000");
  EXPECT_EQ(server.active_connections(), 0u);
}

INSTANTIATE_TEST_SUITE_P(HandlerThreads, GracefulShutdownTest, testing::Values(2, 0));

TEST(HttpServerTest, BadBindAddressIsAnError) {
  HttpServerOptions so;
  so.address = "not-an-ip";
  HttpServer server(so, [](const HttpRequest&) { return HttpResponse{}; }, nullptr);
  EXPECT_TRUE(server.Start().IsInvalidArgument());
}

}  // namespace
}  // namespace scorch::reward
