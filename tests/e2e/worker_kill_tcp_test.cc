// End to end, across processes: `scorch run` binds its control plane to tcp://127.0.0.1, a
// second process `scorch rollout --connect` joins it, and that process is killed with SIGKILL
// in the middle of an eval step. The dispatcher hears nothing more from it, declares it lost
// after the heartbeat timeout, re-queues its leases to the embedded worker, and the job ends
// normally: the death is logged, every eval problem is graded exactly once, and the metrics
// file has every step once.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "process_helpers.h"
#include "scorch/common/metrics_writer.h"
#include "scorch/common/testing/temp_dir.h"

namespace scorch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using e2e::FreeLoopbackPort;
using e2e::Slurp;
using e2e::Spawn;
using e2e::Wait;
using e2e::WaitForLine;

TEST(WorkerKillTcp, KilledRolloutProcessCostsNoData) {
  testing::TempDir tmp;
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
  const std::string config = std::string(SCORCH_SOURCE_DIR) + "/configs/quickstart.yaml";
  // Two sft steps (the model still writes near-random text to the token limit, so generation
  // is slow), then one large greedy eval (the step the worker dies in), then a small one. Weights travel as files so the other process can load every version.
  const std::vector<std::string> job = {
      "--set", "job.name=tcpkill",
      "--set", "job.runs_dir=" + tmp.path().string(),
      "--set", "job.threads=1",
      "--set", "cluster.control_endpoint=" + endpoint,
      "--set", "cluster.rollout_workers=1",
      "--set", "cluster.heartbeat_timeout_s=2",
      "--set", "learner.weights_transport=file",
      "--set", "rollout.slots=8",
      "--set", "rollout.max_new_tokens=128",
      "--set", "stages.0.steps=0",
      "--set", "stages.1.steps=2",
      "--set", "stages.2.steps=0",
      "--set", "stages.3.steps=0",
      "--set", "stages.4.steps=1",
      "--set", "stages.4.batch_prompts=128",
      "--set", "stages.5.steps=0",
      "--set", "stages.6.steps=1",
      "--set", "stages.6.batch_prompts=16"};
  std::vector<std::string> run_args = {"run", config};
  run_args.insert(run_args.end(), job.begin(), job.end());
  const pid_t job_pid = Spawn(run_args, tmp / "job.txt");

  // The second worker: its own process, same job file, rank 1, with the token the job wrote.
  const fs::path token_file = tmp / "tcpkill" / "join.token";
  ASSERT_TRUE(WaitForLine(tmp / "job.txt", "control plane " + endpoint, std::chrono::seconds(120)))
      << Slurp(tmp / "job.txt");
  ASSERT_TRUE(fs::exists(token_file));
  EXPECT_EQ(fs::status(token_file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  EXPECT_EQ(Slurp(tmp / "tcpkill" / "control.addr"), endpoint + "\n");
  const pid_t worker_pid = Spawn({"rollout", "--connect", endpoint, "--config", config, "--rank", "1",
                                  "--token-file", token_file.string(),
                                  "--threads", "1", "--set", "rollout.slots=8", "--set",
                                  "job.runs_dir=" + tmp.path().string(), "--set", "job.name=tcpkill"},
                                 tmp / "worker.txt");
  ASSERT_TRUE(WaitForLine(tmp / "job.txt", "rollout rank 1", std::chrono::seconds(120)))
      << "the tcp worker never joined\n--- job ---\n" << Slurp(tmp / "job.txt") << "\n--- worker ---\n"
      << Slurp(tmp / "worker.txt");
  // Mid-step: the eval stage has begun handing out its 128 problems to both workers.
  ASSERT_TRUE(WaitForLine(tmp / "job.txt", "eval-before (eval", std::chrono::seconds(120))) << Slurp(tmp / "job.txt");
  std::this_thread::sleep_for(std::chrono::milliseconds(1000));
  const auto before_kill = MetricsWriter::ReadAll(tmp / "tcpkill" / "metrics.jsonl");
  ASSERT_TRUE(before_kill.ok());
  ASSERT_EQ(before_kill->size(), 2u) << "the eval step ended before the kill: the test needs a slower step";
  ASSERT_EQ(kill(worker_pid, SIGKILL), 0);
  EXPECT_EQ(Wait(worker_pid, std::chrono::seconds(10)), 128 + SIGKILL);

  ASSERT_EQ(Wait(job_pid, std::chrono::seconds(400)), 0) << Slurp(tmp / "job.txt");
  const std::string log = Slurp(tmp / "job.txt");
  EXPECT_NE(log.find("rollout worker rollout-1 (rank 1) lost"), std::string::npos) << log;

  EXPECT_FALSE(fs::exists(tmp / "tcpkill" / "join.token")) << "the join files outlived the job";
  EXPECT_FALSE(fs::exists(tmp / "tcpkill" / "control.addr"));
  auto records = MetricsWriter::ReadAll(tmp / "tcpkill" / "metrics.jsonl");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 4u);  // 2 sft + 2 eval steps, each once
  double lost = 0.0;
  double redone = 0.0;
  for (size_t i = 0; i < records->size(); ++i) {
    const json& r = (*records)[i];
    EXPECT_EQ(r["step"].get<int64_t>(), static_cast<int64_t>(i + 1)) << r.dump();
    lost += r.value("dispatch/workers_lost", 0.0);
    redone += r.value("dispatch/redone", 0.0);
  }
  EXPECT_GE(lost, 1.0) << "the killed worker was never declared lost";
  EXPECT_GE(redone, 1.0) << "none of its leases was re-queued (was it killed while idle?)";
  // Every eval problem graded exactly once, despite the work redone.
  const json big = json::parse(Slurp(tmp / "tcpkill" / "eval" / "05-eval-before.json"));
  EXPECT_EQ(big["n"].get<int64_t>(), 128);
  const json small = json::parse(Slurp(tmp / "tcpkill" / "eval" / "07-eval-after.json"));
  EXPECT_EQ(small["n"].get<int64_t>(), 16);
}

}  // namespace
}  // namespace scorch
