// Two "hosts" on one machine: two network namespaces joined by a veth pair (10.77.0.1 and
// 10.77.0.2), created here and deleted afterwards. The job (orchestrator + learner under
// mpirun) runs in namespace A with cluster.bind_host=10.77.0.1 and no rollout ranks; two
// rollout workers run in namespace B and join over tcp with the job's token, as workers on
// another machine would. The live status server stays on A's loopback (its default), so B
// cannot reach it. Skipped, with the reason, where namespaces cannot be created (not root,
// no CAP_SYS_ADMIN, no `ip`).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <regex>
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
using e2e::Slurp;
using e2e::SpawnProgram;
using e2e::Wait;
using e2e::WaitForLine;

const std::string kConfig = std::string(SCORCH_SOURCE_DIR) + "/configs/quickstart.yaml";

// Runs a shell command; returns its exit status and puts its stdout+stderr in *out.
int Sh(const std::string& cmd, std::string* out = nullptr) {
  std::string text;
  FILE* p = ::popen((cmd + " 2>&1").c_str(), "r");
  if (p == nullptr) return -1;
  char buf[1024];
  while (size_t n = std::fread(buf, 1, sizeof(buf), p)) text.append(buf, n);
  const int status = ::pclose(p);
  if (out != nullptr) *out = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

class TwoHosts : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string id = std::to_string(::getpid());
    ns_a_ = "scorch-a-" + id;
    ns_b_ = "scorch-b-" + id;
    const std::string va = "scva" + id, vb = "scvb" + id;  // interface names: at most 15 characters
    std::string why;
    if (Sh("ip netns add " + ns_a_, &why) != 0) {
      GTEST_SKIP() << "network namespaces are not permitted here (`ip netns add` said: " << why
                   << "); the two-host test needs root or CAP_SYS_ADMIN";
    }
    created_a_ = true;
    ASSERT_EQ(Sh("ip netns add " + ns_b_, &why), 0) << why;
    created_b_ = true;
    for (const std::string& cmd :
         {"ip link add " + va + " type veth peer name " + vb, "ip link set " + va + " netns " + ns_a_,
          "ip link set " + vb + " netns " + ns_b_, "ip -n " + ns_a_ + " addr add 10.77.0.1/24 dev " + va,
          "ip -n " + ns_b_ + " addr add 10.77.0.2/24 dev " + vb, "ip -n " + ns_a_ + " link set " + va + " up",
          "ip -n " + ns_b_ + " link set " + vb + " up", "ip -n " + ns_a_ + " link set lo up",
          "ip -n " + ns_b_ + " link set lo up"}) {
      ASSERT_EQ(Sh(cmd, &why), 0) << cmd << ": " << why;
    }
  }
  void TearDown() override {
    for (pid_t pid : children_) {
      int status = 0;
      if (pid > 0 && ::waitpid(pid, &status, WNOHANG) == 0) {
        ::kill(pid, SIGTERM);
        Wait(pid, std::chrono::seconds(10));
      }
    }
    // Deleting a namespace deletes the veth end inside it, and with it the pair.
    if (created_a_) Sh("ip netns del " + ns_a_);
    if (created_b_) Sh("ip netns del " + ns_b_);
  }
  // `scorch ARGS` (or any program) inside namespace `ns`.
  pid_t SpawnIn(const std::string& ns, const std::string& program, const std::vector<std::string>& args,
                const fs::path& log) {
    std::vector<std::string> all = {"netns", "exec", ns, program};
    all.insert(all.end(), args.begin(), args.end());
    const pid_t pid = SpawnProgram("ip", all, log);
    children_.push_back(pid);
    return pid;
  }

  std::string ns_a_, ns_b_;
  bool created_a_ = false, created_b_ = false;
  std::vector<pid_t> children_;
};

TEST_F(TwoHosts, WorkersInOneNamespaceServeAJobInTheOther) {
  testing::TempDir tmp;
  const fs::path run = tmp / "twohost";
  std::vector<std::string> job = {"--oversubscribe", "--bind-to", "none", "--enable-recovery", "--mca",
                                  "orte_abort_on_non_zero_status", "0"};
  if (::geteuid() == 0) job.push_back("--allow-run-as-root");
  for (const std::string& a : std::vector<std::string>{"-np", "2", SCORCH_BINARY, "run", kConfig}) job.push_back(a);
  for (const std::string& kv :
       {"job.runs_dir=" + tmp.path().string(), std::string("job.name=twohost"), std::string("job.threads=1"),
        std::string("cluster.bind_host=10.77.0.1"), std::string("cluster.roles.rollout=0"),
        std::string("stages.0.steps=4"), std::string("stages.1.steps=2"), std::string("stages.2.steps=1"),
        std::string("stages.2.batch_prompts=8"), std::string("stages.3.steps=1"), std::string("stages.4.steps=1"),
        std::string("stages.4.batch_prompts=16"), std::string("stages.5.steps=2"),
        std::string("stages.5.batch_prompts=4"), std::string("stages.6.steps=1"),
        std::string("stages.6.batch_prompts=16")}) {
    job.push_back("--set");
    job.push_back(kv);
  }
  const pid_t mpirun = SpawnIn(ns_a_, "mpirun", job, tmp / "mpirun.txt");
  const fs::path orchestrator_log = run / "logs" / "orchestrator-0.log";
  ASSERT_TRUE(WaitForLine(orchestrator_log, "mpirun layout:", std::chrono::seconds(120))) << Slurp(tmp / "mpirun.txt");
  const std::string endpoint = [&] {
    std::string s = Slurp(run / "control.addr");
    return s.substr(0, s.find('\n'));
  }();
  ASSERT_EQ(endpoint.rfind("tcp://10.77.0.1:", 0), 0u) << "control.addr: '" << endpoint << "'";

  // The other host cannot reach what stays on loopback: the live status server.
  ASSERT_TRUE(WaitForLine(run / "status.addr", ":", std::chrono::seconds(30))) << Slurp(orchestrator_log);
  std::string status_addr = Slurp(run / "status.addr");
  status_addr = status_addr.substr(0, status_addr.find('\n'));
  const std::string status_port = status_addr.substr(status_addr.rfind(':') + 1);
  const pid_t probe = SpawnIn(ns_b_, SCORCH_BINARY, {"status", "10.77.0.1:" + status_port}, tmp / "probe.txt");
  EXPECT_NE(Wait(probe, std::chrono::seconds(60)), 0)
      << "the loopback-bound status server answered from the other namespace:\n" << Slurp(tmp / "probe.txt");

  // Two workers on the other host, with the job's token.
  std::vector<pid_t> workers;
  for (const char* rank : {"5", "6"}) {
    workers.push_back(SpawnIn(ns_b_, SCORCH_BINARY,
                              {"rollout", "--connect", endpoint, "--config", kConfig, "--rank", rank, "--threads", "1",
                               "--token-file", (run / "join.token").string()},
                              tmp / (std::string("worker-") + rank + ".txt")));
  }

  ASSERT_EQ(Wait(mpirun, std::chrono::seconds(400)), 0) << Slurp(tmp / "mpirun.txt") << Slurp(orchestrator_log);
  nlohmann::json outcome = nlohmann::json::parse(Slurp(run / "outcome.json"), nullptr, false);
  ASSERT_TRUE(outcome.is_object()) << Slurp(orchestrator_log);
  EXPECT_EQ(outcome.value("state", ""), "finished") << outcome.dump();
  int served = 0;
  for (size_t i = 0; i < workers.size(); ++i) {
    const fs::path log = tmp / (std::string("worker-") + (i == 0 ? "5" : "6") + ".txt");
    EXPECT_EQ(Wait(workers[i], std::chrono::seconds(30)), 0) << Slurp(log);
    std::smatch m;
    const std::string text = Slurp(log);
    if (std::regex_search(text, m, std::regex(R"(stopped \(ok\); (\d+) requests)"))) served += std::stoi(m[1]);
  }
  EXPECT_GT(served, 0) << "no request reached the workers in the other namespace";
  const std::string log = Slurp(orchestrator_log);
  EXPECT_NE(log.find("rollout rank 5 (rollout-5"), std::string::npos) << log;
  EXPECT_NE(log.find("rollout rank 6 (rollout-6"), std::string::npos) << log;
  auto records = MetricsWriter::ReadAll(run / "metrics.jsonl");
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->size(), 12u);  // 4 + 2 + 1 + 1 + 2 + 1 steps (sft-correct has no data)
}

}  // namespace
}  // namespace scorch
