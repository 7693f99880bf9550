// `scorch status HOST:PORT|runs/NAME [--json] [--metrics] [--timeout-ms MS]`
//   A run directory stands for the address its running job wrote to runs/NAME/status.addr.
//   Asks a running job's orchestrator for GET /status and prints it readably (stage, step,
//   workers and their leases, queue depths, last metrics); --json prints the document as
//   received, --metrics prints the Prometheus text of GET /metrics instead.
// Exit status 1 with a message when the server cannot be reached or answers an error.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>

#include "commands.h"
#include "scorch/inspect/status_view.h"
#include "scorch/orchestrator/live_status.h"
#include "scorch/orchestrator/status_server.h"

namespace scorch::app {
namespace {

struct StatusArgs {
  std::string endpoint;
  bool json = false;
  bool metrics = false;
  int timeout_ms = 5000;
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "scorch status: %s\n", what.c_str());
  throw CommandExit{1};
}

// HOST:PORT as given, or read from a run directory's status.addr.
std::string ResolveEndpoint(const std::string& arg) {
  std::error_code ec;
  if (!std::filesystem::is_directory(arg, ec)) return arg;
  const auto addr_file = orchestrator::LiveStatus::AddressFile(arg);
  std::ifstream in(addr_file);
  std::string endpoint;
  if (!in || !std::getline(in, endpoint) || endpoint.empty()) {
    Fail(arg + " has no " + addr_file.filename().string() +
         ": its job is not running, or runs with cluster.status_port: -1");
  }
  return endpoint;
}

void RunStatus(StatusArgs a) {
  a.endpoint = ResolveEndpoint(a.endpoint);
  auto hp = orchestrator::ParseHostPort(a.endpoint);
  if (!hp.ok()) Fail(hp.status().message());
  if (a.timeout_ms <= 0) Fail("--timeout-ms must be > 0");
  const std::string path = a.metrics ? "/metrics" : "/status";
  auto r = orchestrator::HttpGet(hp->first, hp->second, path, std::chrono::milliseconds(a.timeout_ms));
  if (!r.ok()) Fail(r.status().message());
  if (r->status != 200) {
    Fail("GET " + path + " from " + a.endpoint + " answered HTTP " + std::to_string(r->status) + ": " + r->body);
  }
  if (a.metrics || a.json) {
    std::cout << r->body;
    if (!r->body.empty() && r->body.back() != '\n') std::cout << "\n";
    return;
  }
  auto j = nlohmann::json::parse(r->body, nullptr, false);
  if (j.is_discarded()) Fail("GET /status from " + a.endpoint + " did not return JSON");
  std::cout << "status of " << a.endpoint << "\n" << inspect::FormatStatusText(j);
}

}  // namespace

void RegisterStatusCommand(CLI::App& app) {
  auto args = std::make_shared<StatusArgs>();
  auto* cmd = app.add_subcommand("status", "Show a running job's live status (GET /status from HOST:PORT or runs/NAME)");
  cmd->add_option("endpoint", args->endpoint,
                  "HOST:PORT of the job's status server, or its run directory (runs/NAME: read from status.addr)")
      ->required();
  cmd->add_flag("--json", args->json, "Print the /status JSON as received");
  cmd->add_flag("--metrics", args->metrics, "Print GET /metrics (Prometheus text) instead");
  cmd->add_option("--timeout-ms", args->timeout_ms, "Give up after this many milliseconds");
  cmd->callback([args] { RunStatus(*args); });
}

}  // namespace scorch::app
