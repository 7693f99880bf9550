// HTTP throughput of the reward service under concurrent load, measured with Debian's `wrk`
// against loopback: requests/s and latency percentiles for POST /get_reward (one
// OpenRLHF-style sample per request), POST /grade (a batch of 16 items per request) and, as
// the baseline in the same run, GET /health (no grading: the server's own ceiling).
// The server runs in this process with the real grader behind a GraderPool, exactly as
// `scorch reward serve` runs it. Writes bench/results/reward_http.json (or --out FILE).
//
//   reward_http_bench [--out FILE] [--seconds S] [--connections C] [--wrk-threads T]
//                     [--server-threads N] [--workers W]
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "scorch/reward/grader_pool.h"
#include "scorch/reward/http_server.h"
#include "scorch/reward/metrics.h"
#include "scorch/reward/reward_grader_oracle.h"
#include "scorch/reward/server_api.h"

namespace {

using nlohmann::json;

struct Flags {
  std::string out = "bench/results/reward_http.json";
  int seconds = 5;
  int connections = 32;
  int wrk_threads = 2;
  int server_threads = 2;
  int workers = 2;
};

std::string RunCmd(const std::string& cmd) {
  std::string out;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// "1.23ms" / "850.00us" / "1.02s" → milliseconds.
double ToMs(const std::string& v) {
  double x = std::atof(v.c_str());
  if (v.find("us") != std::string::npos) return x / 1000.0;
  if (v.find("ms") != std::string::npos) return x;
  if (v.find('s') != std::string::npos) return x * 1000.0;
  return x;
}

// Parses wrk's --latency report.
json ParseWrk(const std::string& out) {
  json r = {{"rps", nullptr}, {"p50_ms", nullptr}, {"p90_ms", nullptr}, {"p99_ms", nullptr},
            {"requests", nullptr}, {"non_2xx", 0}, {"socket_errors", 0}};
  std::istringstream in(out);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream ls(line);
    std::string a, b;
    ls >> a >> b;
    if (a == "Requests/sec:") r["rps"] = std::atof(b.c_str());
    else if (a == "50%") r["p50_ms"] = ToMs(b);
    else if (a == "90%") r["p90_ms"] = ToMs(b);
    else if (a == "99%") r["p99_ms"] = ToMs(b);
    else if (a == "Non-2xx") {
      std::string c, d;
      ls >> c >> d;  // "or 3xx responses: N" → b="or", c="3xx", d="responses:"
      std::string n;
      ls >> n;
      r["non_2xx"] = std::atoll(n.c_str());
    } else if (a == "Socket") {
      r["socket_errors"] = line.substr(line.find(':') + 1);
    } else if (line.find("requests in") != std::string::npos) {
      r["requests"] = std::atoll(a.c_str());
    }
  }
  return r;
}

std::string WriteFile(const std::string& name, const std::string& content) {
  std::string path = "/tmp/scorch_reward_http_bench_" + std::to_string(getpid()) + "_" + name;
  std::ofstream(path) << content;
  return path;
}

// A Lua script that cycles through `bodies` as POSTs to `path`.
std::string LuaPost(const std::string& path, const std::vector<std::string>& bodies) {
  std::string lua = "local bodies = {\n";
  for (const auto& b : bodies) lua += "[==[" + b + "]==],\n";
  lua += "}\nlocal i = 0\nrequest = function()\n  i = i % #bodies + 1\n"
         "  return wrk.format(\"POST\", \"" + path +
         "\", {[\"Content-Type\"] = \"application/json\"}, bodies[i])\nend\n";
  return lua;
}

// Realistic (gold, response) pairs: boxed answers needing normalisation, symbolic and numeric
// equivalence, and wrong answers.
const std::vector<std::pair<std::string, std::string>>& Cases() {
  static const std::vector<std::pair<std::string, std::string>> k = {
      {"\\frac{1}{2}", "We halve it, so the answer is \\boxed{0.5}."},
      {"12", "Counting the cases gives $12$ ways. Final: \\boxed{12}"},
      {"\\sqrt{2}", "Hence $x = \\boxed{\\frac{2}{\\sqrt{2}}}$."},
      {"(1,2)", "The point is \\boxed{(1, 2)}."},
      {"x^2+2x+1", "Expanding, \\boxed{(x+1)^2}."},
      {"7", "After simplifying we get \\boxed{8}."},
      {"\\pi/3", "The angle is \\boxed{60^\\circ}... no, in radians \\boxed{\\frac{\\pi}{3}}"},
      {"1000", "There are \\boxed{1,000} of them."},
  };
  return k;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--out") f.out = next();
    else if (a == "--seconds") f.seconds = std::atoi(next().c_str());
    else if (a == "--connections") f.connections = std::atoi(next().c_str());
    else if (a == "--wrk-threads") f.wrk_threads = std::atoi(next().c_str());
    else if (a == "--server-threads") f.server_threads = std::atoi(next().c_str());
    else if (a == "--workers") f.workers = std::atoi(next().c_str());
    else {
      std::fprintf(stderr, "unknown flag %s\n", a.c_str());
      return 2;
    }
  }
  if (RunCmd("command -v wrk").empty()) {
    std::fprintf(stderr, "reward_http_bench: `wrk` is not installed (apt-get install wrk)\n");
    return 1;
  }
  // The pool forks its workers before any thread exists.
  scorch::reward::GraderPoolOptions po;
  po.num_workers = f.workers;
  auto pool = scorch::reward::GraderPool::Create(po);
  if (!pool.ok()) {
    std::fprintf(stderr, "grader pool: %s\n", pool.status().ToString().c_str());
    return 1;
  }
  scorch::reward::GraderPoolOracle oracle(pool->get());
  scorch::reward::ServerMetrics metrics;
  auto api = scorch::reward::RewardApi::Create({}, &oracle, &metrics);
  if (!api.ok()) {
    std::fprintf(stderr, "api: %s\n", api.status().ToString().c_str());
    return 1;
  }
  scorch::reward::HttpServerOptions so;
  so.threads = f.server_threads;
  so.handler_threads = std::max(2, f.workers);
  scorch::reward::HttpServer server(so, [a = api->get()](const scorch::reward::HttpRequest& r) { return a->Handle(r); },
                                    &metrics);
  if (auto s = server.Start(); !s.ok()) {
    std::fprintf(stderr, "server: %s\n", s.ToString().c_str());
    return 1;
  }
  std::string base = "http://127.0.0.1:" + std::to_string(server.port());

  std::vector<std::string> single, batch;
  const std::string prompt = "Solve the problem and put the answer in \\boxed{}.\n";
  for (const auto& [gold, resp] : Cases()) {
    single.push_back(json{{"query", {prompt + resp}}, {"prompts", {prompt}}, {"labels", {gold}}}.dump());
  }
  json items = json::array();
  for (int k = 0; k < 2; ++k) {
    for (const auto& [gold, resp] : Cases()) items.push_back({{"gold", gold}, {"response", resp}});
  }
  batch.push_back(json{{"items", items}}.dump());

  std::string common = "wrk --latency -t" + std::to_string(f.wrk_threads) + " -c" + std::to_string(f.connections) +
                       " -d" + std::to_string(f.seconds) + "s ";
  std::string lua_single = WriteFile("single.lua", LuaPost("/get_reward", single));
  std::string lua_batch = WriteFile("batch.lua", LuaPost("/grade", batch));

  std::fprintf(stderr, "reward_http_bench: server %s, %d connections, %ds per run\n", base.c_str(),
               f.connections, f.seconds);
  json health = ParseWrk(RunCmd(common + base + "/health 2>&1"));
  json get_reward = ParseWrk(RunCmd(common + "-s " + lua_single + " " + base + " 2>&1"));
  json grade = ParseWrk(RunCmd(common + "-s " + lua_batch + " " + base + " 2>&1"));
  if (grade["rps"].is_number()) grade["items_per_s"] = grade["rps"].get<double>() * 16;
  server.Stop();
  std::remove(lua_single.c_str());
  std::remove(lua_batch.c_str());

  json out = {
      {"bench", "reward_http"},
      {"tool", Trim(RunCmd("wrk --version 2>&1 | head -1"))},
      {"cpus_online", static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN))},
      {"seconds_per_run", f.seconds},
      {"connections", f.connections},
      {"wrk_threads", f.wrk_threads},
      {"server_threads", f.server_threads},
      {"grader_workers", f.workers},
      {"baseline_health", health},
      {"get_reward_single", get_reward},
      {"grade_batch16", grade},
      {"note", "Server and wrk share this machine's cores; /health is the no-grading ceiling measured in the same run."},
  };
  if (health["rps"].is_number() && get_reward["rps"].is_number() && health["rps"].get<double>() > 0) {
    out["get_reward_vs_health"] = get_reward["rps"].get<double>() / health["rps"].get<double>();
  }
  std::string text = out.dump(2);
  std::printf("%s\n", text.c_str());
  std::ofstream(f.out) << text << "\n";
  return 0;
}
