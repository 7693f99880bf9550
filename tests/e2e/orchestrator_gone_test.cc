// An elastic worker (`scorch rollout --connect`) whose orchestrator dies without a Shutdown
// (SIGKILL) does not wait forever: it notices the control port is gone and exits (status 3),
// saying why.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "process_helpers.h"
#include "scorch/common/testing/temp_dir.h"

namespace scorch {
namespace {

namespace fs = std::filesystem;
using e2e::FreeLoopbackPort;
using e2e::Slurp;
using e2e::Spawn;
using e2e::Wait;
using e2e::WaitForLine;

TEST(OrchestratorGone, ElasticWorkerExitsWhenTheOrchestratorIsKilled) {
  testing::TempDir tmp;
  const int port = FreeLoopbackPort();
  ASSERT_GT(port, 0);
  const std::string endpoint = "tcp://127.0.0.1:" + std::to_string(port);
  const std::string config = std::string(SCORCH_SOURCE_DIR) + "/configs/quickstart.yaml";
  // A long SFT stage: the job is busy and sends the worker nothing when it is killed.
  const pid_t job = Spawn({"run", config, "--set", "job.name=gone", "--set", "job.runs_dir=" + tmp.path().string(),
                           "--set", "job.threads=1", "--set", "cluster.control_endpoint=" + endpoint, "--set",
                           "learner.weights_transport=file"},
                          tmp / "job.txt");
  ASSERT_TRUE(WaitForLine(tmp / "job.txt", "control plane " + endpoint, std::chrono::seconds(120)))
      << Slurp(tmp / "job.txt");
  // No --rank: the worker takes an id of its own (rollout-HOST-PID), never a rank of the job's.
  const pid_t worker = Spawn({"rollout", "--connect", endpoint, "--config", config, "--threads", "1",
                              "--token-file", (tmp / "gone" / "join.token").string()},
                             tmp / "worker.txt");
  char host[256] = {0};
  ::gethostname(host, sizeof(host) - 1);
  const std::string id = "rollout-" + std::string(host) + "-" + std::to_string(worker);
  ASSERT_TRUE(WaitForLine(tmp / "job.txt", "(" + id, std::chrono::seconds(120))) << Slurp(tmp / "job.txt");
  ASSERT_EQ(::kill(job, SIGKILL), 0);
  Wait(job, std::chrono::seconds(30));
  const auto killed = std::chrono::steady_clock::now();
  EXPECT_EQ(Wait(worker, std::chrono::seconds(90)), 3) << Slurp(tmp / "worker.txt");
  EXPECT_LT(std::chrono::steady_clock::now() - killed, std::chrono::seconds(60));
  const std::string out = Slurp(tmp / "worker.txt");
  EXPECT_NE(out.find("the orchestrator at " + endpoint + " has been unreachable"), std::string::npos) << out;
  EXPECT_NE(out.find("this worker ends (exit 3)"), std::string::npos) << out;
}

}  // namespace
}  // namespace scorch
