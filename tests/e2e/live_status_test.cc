// End to end, through the real binary: while `scorch run` trains, its live status server
// answers GET /status and GET /metrics over HTTP on loopback, `scorch status runs/NAME` finds
// it through status.addr, and the address file is gone when the job ends. The progress status
// line is drawn on a terminal (a pseudo-terminal here) and absent when output is a file.
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>

#include <chrono>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "process_helpers.h"
#include "scorch/common/testing/temp_dir.h"
#include "scorch/orchestrator/status_server.h"

namespace scorch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using Clock = std::chrono::steady_clock;
using e2e::Slurp;
using e2e::Spawn;
using e2e::Wait;

const std::string kConfig = std::string(SCORCH_SOURCE_DIR) + "/configs/quickstart.yaml";

// A short job: `sft_steps` steps of the quickstart's first sft stage, one small eval.
std::vector<std::string> ShortJob(const fs::path& runs, const std::string& name, int sft_steps) {
  return {"run", kConfig,
          "--set", "job.name=" + name,
          "--set", "job.runs_dir=" + runs.string(),
          "--set", "job.threads=1",
          "--set", "stages.0.steps=" + std::to_string(sft_steps),
          "--set", "stages.1.steps=0",
          "--set", "stages.2.steps=0",
          "--set", "stages.3.steps=0",
          "--set", "stages.4.steps=1",
          "--set", "stages.4.batch_prompts=8",
          "--set", "rollout.max_new_tokens=32",
          "--set", "stages.5.steps=0",
          "--set", "stages.6.steps=0"};
}

// GET `target` from the job whose address is in `addr_file`; empty on any failure.
std::string Get(const fs::path& addr_file, const std::string& target, int* http_status = nullptr) {
  std::string endpoint = Slurp(addr_file);
  while (!endpoint.empty() && (endpoint.back() == '\n' || endpoint.back() == '\r')) endpoint.pop_back();
  auto hp = orchestrator::ParseHostPort(endpoint);
  if (!hp.ok()) return "";
  auto r = orchestrator::HttpGet(hp->first, hp->second, target, std::chrono::milliseconds(2000));
  if (!r.ok()) return "";
  if (http_status != nullptr) *http_status = r->status;
  return r->body;
}

TEST(LiveStatus, StatusAndMetricsOverHttpWhileTheJobRuns) {
  testing::TempDir tmp;
  const fs::path run = tmp / "live";
  const pid_t job = Spawn(ShortJob(tmp.path(), "live", 150), tmp / "job.txt");
  const fs::path addr = run / "status.addr";

  // Poll /status until two different training steps have been seen (bounded).
  std::set<int64_t> steps_seen;
  json last;
  std::string metrics_text;
  const auto deadline = Clock::now() + std::chrono::seconds(180);
  while (Clock::now() < deadline && steps_seen.size() < 2) {
    int code = 0;
    const std::string body = fs::exists(addr) ? Get(addr, "/status", &code) : "";
    if (!body.empty() && code == 200) {
      last = json::parse(body, nullptr, false);
      ASSERT_FALSE(last.is_discarded()) << body;
      if (last.value("stage", "") == "sft-solve" && last.value("step", int64_t{0}) >= 1) {
        steps_seen.insert(last["step"].get<int64_t>());
        if (metrics_text.empty()) metrics_text = Get(addr, "/metrics");
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_GE(steps_seen.size(), 2u) << "never saw the job's step move\nlast /status: " << last.dump()
                                   << "\n--- job ---\n" << Slurp(tmp / "job.txt");

  // The document: who the job is, where it stands, its workers and learner, its last metrics.
  EXPECT_EQ(last["job"], "live");
  EXPECT_EQ(last["state"], "running");
  EXPECT_EQ(last["stages"], 7);
  EXPECT_EQ(last["stage_index"], 0);
  EXPECT_EQ(last["stage_steps"], 150);
  ASSERT_TRUE(last["workers"].is_array());
  ASSERT_EQ(last["workers"].size(), 1u) << last.dump();
  EXPECT_TRUE(last["workers"][0].contains("last_heartbeat_age_s"));
  EXPECT_TRUE(last["workers"][0].contains("in_flight"));
  EXPECT_EQ(last["learners"].size(), 1u);
  EXPECT_TRUE(last["leases"].is_object());
  EXPECT_TRUE(last.contains("queue"));
  EXPECT_TRUE(last["last_metrics"].contains("loss")) << last.dump();
  EXPECT_EQ(last["last_metrics"]["step"], last["step"]);

  // Prometheus text: job gauges and the step's metrics under scorch_ names.
  for (const char* name : {"scorch_up 1", "scorch_step ", "scorch_stage_steps 150", "scorch_workers 1",
                           "scorch_learners 1", "scorch_loss ", "# TYPE scorch_loss gauge"}) {
    EXPECT_NE(metrics_text.find(name), std::string::npos) << name << " missing from\n" << metrics_text;
  }

  // `scorch status runs/NAME` reads status.addr and renders the same document.
  const pid_t cli = Spawn({"status", run.string()}, tmp / "status.txt");
  EXPECT_EQ(Wait(cli, std::chrono::seconds(30)), 0) << Slurp(tmp / "status.txt");
  const std::string shown = Slurp(tmp / "status.txt");
  EXPECT_NE(shown.find("sft-solve"), std::string::npos) << shown;
  EXPECT_NE(shown.find("rollout-0"), std::string::npos) << shown;

  ASSERT_EQ(Wait(job, std::chrono::seconds(300)), 0) << Slurp(tmp / "job.txt");
  EXPECT_FALSE(fs::exists(addr)) << "status.addr outlived the job";
  const std::string log = Slurp(tmp / "job.txt");
  EXPECT_NE(log.find("live status: scorch status 127.0.0.1:"), std::string::npos) << log;
  // Output to a file: the plain log only, no status line drawn.
  EXPECT_EQ(log.find("\x1b[2K"), std::string::npos);
  // With no job running, `scorch status runs/NAME` says so.
  const pid_t gone = Spawn({"status", run.string()}, tmp / "gone.txt");
  EXPECT_EQ(Wait(gone, std::chrono::seconds(30)), 1);
  EXPECT_NE(Slurp(tmp / "gone.txt").find("not running"), std::string::npos) << Slurp(tmp / "gone.txt");
}

TEST(LiveStatus, StatusPortMinusOneRunsWithoutAServer) {
  testing::TempDir tmp;
  auto args = ShortJob(tmp.path(), "noserver", 2);
  args.insert(args.end(), {"--set", "cluster.status_port=-1"});
  const pid_t job = Spawn(args, tmp / "job.txt");
  ASSERT_EQ(Wait(job, std::chrono::seconds(300)), 0) << Slurp(tmp / "job.txt");
  EXPECT_EQ(Slurp(tmp / "job.txt").find("live status:"), std::string::npos);
}

// Runs the binary on a pseudo-terminal and returns everything it wrote (bounded by `limit`).
std::string RunOnTerminal(const std::vector<std::string>& args, std::chrono::seconds limit, int* exit_code) {
  int master = -1;
  winsize ws{};
  ws.ws_col = 200;
  ws.ws_row = 50;
  const pid_t pid = forkpty(&master, nullptr, nullptr, &ws);
  if (pid == 0) {
    if (chdir(SCORCH_SOURCE_DIR) != 0) _exit(126);
    setenv("TERM", "xterm", 1);
    unsetenv("SCORCH_PROGRESS");
    std::vector<char*> argv;
    std::string bin = SCORCH_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  std::string out;
  if (pid < 0) return out;
  const auto deadline = Clock::now() + limit;
  char buf[4096];
  while (Clock::now() < deadline) {
    pollfd p{master, POLLIN, 0};
    if (poll(&p, 1, 100) <= 0) continue;
    const ssize_t n = read(master, buf, sizeof(buf));
    if (n <= 0) break;  // EIO once the child has exited and the terminal closed
    out.append(buf, static_cast<size_t>(n));
  }
  close(master);
  *exit_code = Wait(pid, std::chrono::seconds(10));
  return out;
}

TEST(LiveStatus, ProgressLineIsDrawnOnATerminal) {
  testing::TempDir tmp;
  int code = -2;
  const std::string out = RunOnTerminal(ShortJob(tmp.path(), "tty", 30), std::chrono::seconds(300), &code);
  ASSERT_EQ(code, 0) << out;
  // The status line: erased and redrawn around log lines, with steps, percentage, rate and ETA.
  EXPECT_NE(out.find("\r\x1b[2K[sft-solve] "), std::string::npos) << out;
  EXPECT_NE(out.find("[sft-solve] 30/30 100%"), std::string::npos) << out;
  EXPECT_NE(out.find("| ETA "), std::string::npos) << out;
  EXPECT_NE(out.find("[eval-before] 1/1 100%"), std::string::npos) << out;
}

}  // namespace
}  // namespace scorch
