// End to end: a shortened quickstart through the real `scorch run` binary (every role embedded),
// then a job stopped mid-stage (SIGTERM) and resumed with --resume: the stage and step continue,
// the metrics file has every step exactly once, and the resumed run's training losses equal an
// uninterrupted run's (the dataset cursor neither repeats nor skips prompts).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "scorch/common/metrics_writer.h"
#include "scorch/common/testing/temp_dir.h"

namespace scorch {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// The quickstart, shortened so the whole job takes well under a minute on 2 cores.
std::vector<std::string> ShortJob(const fs::path& runs, const std::string& name) {
  return {"--set", "job.runs_dir=" + runs.string(),
          "--set", "job.name=" + name,
          "--set", "stages.0.steps=30",
          "--set", "stages.1.steps=10",
          "--set", "stages.2.steps=1",
          "--set", "stages.2.batch_prompts=16",
          "--set", "stages.3.steps=4",
          "--set", "stages.4.steps=1",
          "--set", "stages.4.batch_prompts=24",
          "--set", "stages.5.steps=3",
          "--set", "stages.5.batch_prompts=4",
          "--set", "stages.6.steps=1",
          "--set", "stages.6.batch_prompts=24",
          "--set", "learner.checkpoint_every=10",
          "--set", "job.threads=2"};
}

// Starts `scorch run ...`; returns the child pid (stdout/stderr to `log`).
pid_t Spawn(const std::vector<std::string>& args, const fs::path& log) {
  const pid_t pid = fork();
  if (pid == 0) {
    // Job files name models relative to the repository root, as `make run` does.
    if (chdir(SCORCH_SOURCE_DIR) != 0) _exit(126);
    FILE* f = std::freopen(log.c_str(), "w", stdout);
    (void)f;
    dup2(fileno(stdout), fileno(stderr));
    std::vector<char*> argv;
    std::string bin = SCORCH_BINARY;
    argv.push_back(bin.data());
    std::vector<std::string> copy = args;
    for (auto& a : copy) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(bin.c_str(), argv.data());
    _exit(127);
  }
  return pid;
}

int Wait(pid_t pid, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid, &status, WNOHANG) == pid) return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return -1;
}

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

std::vector<std::string> RunArgs(const std::vector<std::string>& extra) {
  std::vector<std::string> a = {"run", std::string(SCORCH_SOURCE_DIR) + "/configs/quickstart.yaml"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

void ExpectContiguousSteps(const std::vector<json>& records) {
  for (size_t i = 0; i < records.size(); ++i) {
    ASSERT_EQ(records[i]["step"].get<int64_t>(), static_cast<int64_t>(i + 1)) << records[i].dump();
  }
}

TEST(QuickstartE2E, ShortJobWritesEvalTablesAndMetrics) {
  testing::TempDir tmp;
  const pid_t pid = Spawn(RunArgs(ShortJob(tmp.path(), "short")), tmp / "log.txt");
  const int rc = Wait(pid, std::chrono::seconds(300));
  ASSERT_EQ(rc, 0) << Slurp(tmp / "log.txt");
  const fs::path run = tmp / "short";
  for (const char* name : {"05-eval-before.json", "07-eval-after.json"}) {
    const fs::path p = run / "eval" / name;
    ASSERT_TRUE(fs::exists(p)) << p;
    json e = json::parse(Slurp(p));
    for (const char* key : {"n", "turn1", "final", "delta", "delta_i2c", "delta_c2i", "rm_acc_correct", "rm_acc_wrong"}) {
      ASSERT_TRUE(e.contains(key)) << key << " in " << e.dump();
    }
    EXPECT_EQ(e["n"].get<int64_t>(), 24);
    for (const char* key : {"turn1", "final", "delta_i2c", "delta_c2i"}) {
      EXPECT_GE(e[key].get<double>(), 0.0);
      EXPECT_LE(e[key].get<double>(), 1.0);
    }
    EXPECT_NEAR(e["delta"].get<double>(), e["final"].get<double>() - e["turn1"].get<double>(), 1e-9);
  }
  auto records = MetricsWriter::ReadAll(run / "metrics.jsonl");
  ASSERT_TRUE(records.ok());
  // 30 + 10 + 1 + 4 + 1 + 3 + 1 steps; the 4 sft-correct steps are skipped when the short warm-up
  // leaves the model unable to get any collected answer right (the collect stage then says so).
  ASSERT_TRUE(records->size() == 50u || records->size() == 46u) << records->size();
  ExpectContiguousSteps(*records);
  EXPECT_TRUE((*records)[0].contains("loss"));
  EXPECT_TRUE(records->back().contains("acc/final"));
  EXPECT_TRUE(fs::exists(run / "data" / "collect.jsonl"));
  EXPECT_TRUE(fs::exists(run / "checkpoints" / "latest"));
  EXPECT_NE(Slurp(tmp / "log.txt").find("eval-after"), std::string::npos);
}

TEST(QuickstartE2E, HungRolloutWorkerCostsNoData) {
  testing::TempDir tmp;
  // Two rollout workers; worker 1 hangs on its 30th forward call (mid-step of the collect
  // stage or later). Its heartbeats stop, its leases are re-queued to worker 0, and the job ends
  // normally with every sample counted once.
  std::vector<std::string> args = ShortJob(tmp.path(), "chaos");
  for (const char* s : {"cluster.rollout_workers=2", "cluster.heartbeat_timeout_s=2", "stages.0.steps=20",
                        "rollout.slots=16"}) {
    args.push_back("--set");
    args.push_back(s);
  }
  setenv("SCORCH_CHAOS_HANG_ROLLOUT", "1:30", 1);
  const pid_t pid = Spawn(RunArgs(args), tmp / "log.txt");
  unsetenv("SCORCH_CHAOS_HANG_ROLLOUT");
  ASSERT_EQ(Wait(pid, std::chrono::seconds(300)), 0) << Slurp(tmp / "log.txt");
  const std::string log = Slurp(tmp / "log.txt");
  EXPECT_NE(log.find("chaos: this rollout worker hangs now"), std::string::npos) << log;
  auto records = MetricsWriter::ReadAll(tmp / "chaos" / "metrics.jsonl");
  ASSERT_TRUE(records.ok());
  ExpectContiguousSteps(*records);
  double lost = 0.0;
  double redone = 0.0;
  for (const auto& r : *records) {
    lost += r.value("dispatch/workers_lost", 0.0);
    redone += r.value("dispatch/redone", 0.0);
  }
  EXPECT_GE(lost, 1.0) << "the hung worker was never declared lost";
  EXPECT_GE(redone, 1.0) << "no lease was re-queued";
  // Every eval problem was graded exactly once.
  json e = json::parse(Slurp(tmp / "chaos" / "eval" / "07-eval-after.json"));
  EXPECT_EQ(e["n"].get<int64_t>(), 24);
}

TEST(QuickstartE2E, StopMidStageAndResumeContinuesExactly) {
  testing::TempDir tmp;
  // Reference: the first stage straight through.
  std::vector<std::string> only_sft = ShortJob(tmp.path(), "straight");
  for (const char* s : {"stages.0.steps=40", "stages.1.steps=0", "stages.2.steps=0", "stages.3.steps=0",
                        "stages.4.steps=0", "stages.5.steps=0", "stages.6.steps=0"}) {
    only_sft.push_back("--set");
    only_sft.push_back(s);
  }
  ASSERT_EQ(Wait(Spawn(RunArgs(only_sft), tmp / "straight.txt"), std::chrono::seconds(300)), 0)
      << Slurp(tmp / "straight.txt");

  // The same job, stopped once it has passed the checkpoint at step 20, then resumed.
  std::vector<std::string> interrupted = only_sft;
  for (auto& a : interrupted) {
    if (a == "job.name=straight") a = "job.name=interrupted";
  }
  const pid_t pid = Spawn(RunArgs(interrupted), tmp / "first.txt");
  const fs::path metrics = tmp / "interrupted" / "metrics.jsonl";
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(240);
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = MetricsWriter::ReadAll(metrics);
    if (r.ok() && r->size() >= 25) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill(pid, SIGTERM);
  const int rc = Wait(pid, std::chrono::seconds(120));
  ASSERT_NE(rc, 0) << "the job should stop early: " << Slurp(tmp / "first.txt");
  auto partial = MetricsWriter::ReadAll(metrics);
  ASSERT_TRUE(partial.ok());
  ASSERT_LT(partial->size(), 40u);

  ASSERT_EQ(Wait(Spawn({"run", "--resume", (tmp / "interrupted").string()}, tmp / "second.txt"),
                 std::chrono::seconds(300)),
            0)
      << Slurp(tmp / "second.txt");
  EXPECT_NE(Slurp(tmp / "second.txt").find("resuming from"), std::string::npos);

  auto a = MetricsWriter::ReadAll(tmp / "straight" / "metrics.jsonl");
  auto b = MetricsWriter::ReadAll(metrics);
  ASSERT_TRUE(a.ok() && b.ok());
  ASSERT_EQ(a->size(), 40u);
  ASSERT_EQ(b->size(), 40u);
  ExpectContiguousSteps(*b);
  for (size_t i = 0; i < a->size(); ++i) {
    // Same prompts in the same order and the same weights give the same loss, bit for bit.
    EXPECT_EQ((*a)[i]["loss"].get<double>(), (*b)[i]["loss"].get<double>()) << "step " << i + 1;
  }
}

}  // namespace
}  // namespace scorch
