// `scorch reward serve --http 127.0.0.1:PORT [--zmq ENDPOINT] [--workers N] ...`: run the
// reward service — the math grader in a pool of worker processes behind the HTTP/JSON API
// (/grade, /get_reward, /health, /metrics) and, optionally, the ZeroMQ grade service for the
// orchestrator. Prints the bound addresses on stdout; SIGINT/SIGTERM shut it down gracefully
// (stop accepting, finish in-flight requests, bounded by --shutdown-grace-ms).
#include <pthread.h>
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "commands.h"
#include "scorch/reward/grader_pool.h"
#include "scorch/reward/http_server.h"
#include "scorch/reward/metrics.h"
#include "scorch/reward/reward_grader_oracle.h"
#include "scorch/reward/server_api.h"
#include "scorch/reward/zmq_service.h"

namespace scorch::app {
namespace {

struct ServeFlags {
  std::string http = "127.0.0.1:8000";
  std::string zmq;
  int workers = 2;
  int threads = 2;
  std::string preset = "correctness";
  std::string reward_config;  // JSON file
  std::string protocol = "single";
  int deadline_ms = 100;
  bool strict = false;
  size_t max_body_bytes = 16u << 20;
  int shutdown_grace_ms = 5000;
};

[[noreturn]] void Fail(const std::string& msg) {
  std::fprintf(stderr, "scorch reward serve: %s\n", msg.c_str());
  throw CommandExit{1};
}

void Serve(const ServeFlags& f) {
  // Parse and validate everything before starting anything.
  size_t colon = f.http.rfind(':');
  if (colon == std::string::npos) Fail("--http must be HOST:PORT, got '" + f.http + "'");
  reward::HttpServerOptions http;
  http.address = f.http.substr(0, colon);
  try {
    int port = std::stoi(f.http.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    http.port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    Fail("--http: bad port in '" + f.http + "'");
  }
  http.threads = f.threads;
  http.handler_threads = std::max(2, f.workers);  // each blocks on the pool while grading
  http.max_body_bytes = f.max_body_bytes;
  http.shutdown_grace = std::chrono::milliseconds(f.shutdown_grace_ms);
  if (auto s = http.Validate(); !s.ok()) Fail(s.message());

  reward::RewardApiOptions api_options;
  if (!f.reward_config.empty()) {
    std::ifstream in(f.reward_config);
    if (!in) Fail("cannot read --reward-config " + f.reward_config);
    std::stringstream ss;
    ss << in.rdbuf();
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(ss.str());
    } catch (const std::exception& e) {
      Fail(f.reward_config + ": malformed JSON: " + e.what());
    }
    auto cfg = reward::RewardConfig::FromJson(j);
    if (!cfg.ok()) Fail(f.reward_config + ": " + cfg.status().message());
    api_options.reward = *cfg;
  } else {
    auto cfg = reward::RewardConfig::Preset(f.preset);
    if (!cfg.ok()) Fail("--preset: " + cfg.status().message());
    api_options.reward = *cfg;
  }
  auto protocol = reward::ParseProtocol(f.protocol);
  if (!protocol.ok()) Fail("--protocol: " + protocol.status().message());
  api_options.default_protocol = *protocol;

  // Block SIGINT/SIGTERM in every thread (inherited by the threads started below); the main
  // thread takes them with sigwait. A shell's `cmd &` starts us with SIGINT ignored, and an
  // ignored signal is discarded before sigwait can see it: restore the default first.
  signal(SIGINT, SIG_DFL);
  signal(SIGTERM, SIG_DFL);
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  // The grader pool forks its workers first, before any thread exists.
  reward::GraderPoolOptions pool_options;
  pool_options.num_workers = f.workers;
  pool_options.grader.deadline_ms = f.deadline_ms;
  pool_options.grader.strict = f.strict;
  auto pool = reward::GraderPool::Create(pool_options);
  if (!pool.ok()) Fail("cannot start the grader pool: " + pool.status().message());
  reward::GraderPoolOracle oracle(pool->get());
  reward::ServerMetrics metrics;
  auto api = reward::RewardApi::Create(api_options, &oracle, &metrics);
  if (!api.ok()) Fail(api.status().message());

  reward::HttpServer server(http, [a = api->get()](const reward::HttpRequest& r) { return a->Handle(r); },
                            &metrics);
  if (auto s = server.Start(); !s.ok()) Fail(s.message());
  std::printf("scorch reward: HTTP listening on http://%s (grader workers: %d, rules: %s)\n",
              server.address().c_str(), f.workers, api_options.reward.ToJson().dump().c_str());

  std::unique_ptr<reward::ZmqGradeService> zmq;
  if (!f.zmq.empty()) {
    reward::ZmqGradeServiceOptions zo;
    zo.endpoint = f.zmq;
    zmq = std::make_unique<reward::ZmqGradeService>(zo, api->get());
    if (auto s = zmq->Start(); !s.ok()) {
      server.Stop();
      Fail(s.message());
    }
    std::printf("scorch reward: ZeroMQ grade service bound at %s\n", zmq->endpoint().c_str());
  }
  std::fflush(stdout);

  int sig = 0;
  sigwait(&signals, &sig);
  std::printf("scorch reward: %s received, shutting down\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  std::fflush(stdout);
  (*api)->SetStopping();
  if (zmq) zmq->Stop();
  server.Stop();
  std::printf("scorch reward: stopped\n");
}

}  // namespace

void RegisterRewardCommands(CLI::App& app) {
  auto* reward = app.add_subcommand("reward", "The reward service (grader + reward rules over HTTP and ZeroMQ)");
  reward->require_subcommand(1);
  auto* serve = reward->add_subcommand(
      "serve", "Serve POST /grade, POST /get_reward (OpenRLHF --remote_rm_url), GET /health, GET /metrics");
  auto f = std::make_shared<ServeFlags>();
  serve->add_option("--http", f->http, "HTTP bind address HOST:PORT (port 0: any free port)")
      ->capture_default_str();
  serve->add_option("--zmq", f->zmq, "Also bind the ZeroMQ grade service (ROUTER) here, e.g. tcp://127.0.0.1:5555");
  serve->add_option("--workers", f->workers, "Grader worker processes")->check(CLI::Range(1, 256))->capture_default_str();
  serve->add_option("--threads", f->threads, "HTTP I/O threads")->check(CLI::Range(1, 256))->capture_default_str();
  serve->add_option("--preset", f->preset,
                    "Reward preset: correctness, srr_bonus, srr_staged, cosine, pcl")->capture_default_str();
  serve->add_option("--reward-config", f->reward_config,
                    "Reward rules as JSON: {\"rules\": [{\"name\", \"weight\", \"params\"}]} (overrides --preset)");
  serve->add_option("--protocol", f->protocol, "Default turn protocol: single, srr, two_turn, pcl")
      ->capture_default_str();
  serve->add_option("--deadline-ms", f->deadline_ms, "Grading deadline per answer")
      ->check(CLI::Range(1, 600000))->capture_default_str();
  serve->add_flag("--strict", f->strict, "Only \\boxed{} answers count (no fallbacks)");
  serve->add_option("--max-body-bytes", f->max_body_bytes, "Largest request body (larger: 413)")->capture_default_str();
  serve->add_option("--shutdown-grace-ms", f->shutdown_grace_ms, "How long shutdown waits for in-flight requests")
      ->check(CLI::Range(0, 600000))->capture_default_str();
  serve->callback([f] { Serve(*f); });
}

}  // namespace scorch::app
