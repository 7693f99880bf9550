// End to end: a shortened quickstart through the real `scorch run` binary (every role embedded),
// then a job stopped mid-stage (SIGTERM) and resumed with --resume: the stage and step continue,
// the metrics file has every step exactly once, and the resumed run's training losses equal an
// uninterrupted run's (the dataset cursor neither repeats nor skips prompts).
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
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
using e2e::Slurp;
using e2e::Spawn;
using e2e::Wait;

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

TEST(QuickstartE2E, PpoStageWithLookaheadTrainsACriticWithinTheStalenessBound) {
  testing::TempDir tmp;
  // The short job with its RL stage as PPO (one sample per prompt: no groups needed) that
  // generates one batch ahead of training (max_staleness 1).
  std::vector<std::string> args = ShortJob(tmp.path(), "ppo");
  for (const char* s : {"stages.5.kind=ppo", "stages.5.name=ppo", "stages.5.samples_per_prompt=2",
                        "stages.5.steps=4", "stages.5.max_staleness=1", "stages.5.kl_beta=0.01",
                        "learner.checkpoint_every=3"}) {
    args.push_back("--set");
    args.push_back(s);
  }
  ASSERT_EQ(Wait(Spawn(RunArgs(args), tmp / "log.txt"), std::chrono::seconds(300)), 0) << Slurp(tmp / "log.txt");
  auto records = MetricsWriter::ReadAll(tmp / "ppo" / "metrics.jsonl");
  ASSERT_TRUE(records.ok());
  ExpectContiguousSteps(*records);
  int ppo_steps = 0;
  double max_lag = 0.0;
  for (const auto& r : *records) {
    if (r.value("stage", "") != "ppo") continue;
    ++ppo_steps;
    for (const char* key : {"value_loss", "value/mean", "critic/lr", "kl/k1", "reward/mean", "staleness/max",
                            "clip_fraction"}) {
      EXPECT_TRUE(r.contains(key)) << key << " in " << r.dump();
    }
    max_lag = std::max(max_lag, r.value("staleness/max", 0.0));
    EXPECT_LE(r.value("staleness/max", 0.0), 1.0) << r.dump();
  }
  EXPECT_EQ(ppo_steps, 4);
  // Generation really overlapped training: some trajectories were sampled one version back.
  EXPECT_EQ(max_lag, 1.0);
  // The checkpoint taken inside the ppo stage carries the critic.
  bool critic_saved = false;
  for (const auto& entry : fs::directory_iterator(tmp / "ppo" / "checkpoints")) {
    critic_saved |= fs::exists(entry.path() / "aux" / "critic" / "optimizer.pt");
  }
  EXPECT_TRUE(critic_saved);
}

// A short job whose RL and eval stages read a JSONL prompt set.
std::vector<std::string> JsonlJob(const fs::path& runs, const std::string& name, const fs::path& prompts) {
  std::vector<std::string> args = ShortJob(runs, name);
  for (const std::string s : {"stages.0.steps=2", "stages.1.steps=0", "stages.2.steps=0", "stages.3.steps=0",
                              "stages.4.steps=3", "stages.4.batch_prompts=2", "stages.5.steps=2",
                              "stages.5.batch_prompts=2", "stages.6.steps=0"}) {
    args.push_back("--set");
    args.push_back(s);
  }
  for (const char* stage : {"4", "5"}) {
    args.push_back("--set");
    args.push_back(std::string("stages.") + stage + ".dataset=" + prompts.string());
  }
  return args;
}

TEST(QuickstartE2E, StagesReadJsonlPromptSetsAndBadLinesAreNamed) {
  testing::TempDir tmp;
  const fs::path prompts = tmp / "prompts.jsonl";
  {
    std::ofstream out(prompts);
    out << R"({"id": "a", "problem": "Compute 2 + 3.", "answer": "5"})" << "\n"
        << R"({"id": "b", "problem": "Compute 7 - 4.", "answer": "3"})" << "\n"
        << R"({"id": "c", "problem": "Compute 1 + 1.", "answer": "2"})" << "\n"
        << "\n"
        << R"({"id": "d", "problem": "Compute 9 - 1.", "answer": "8"})" << "\n"
        << R"({"id": "e", "problem": "Compute 4 + 4.", "answer": "8"})" << "\n";
  }
  ASSERT_EQ(Wait(Spawn(RunArgs(JsonlJob(tmp.path(), "jsonl", prompts)), tmp / "ok.txt"), std::chrono::seconds(300)), 0)
      << Slurp(tmp / "ok.txt");
  // The eval stage asked for 3 x 2 problems; the set has 5, read once each in file order.
  json e = json::parse(Slurp(tmp / "jsonl" / "eval" / "05-eval-before.json"));
  EXPECT_EQ(e["n"].get<int64_t>(), 5);
  auto records = MetricsWriter::ReadAll(tmp / "jsonl" / "metrics.jsonl");
  ASSERT_TRUE(records.ok());
  ExpectContiguousSteps(*records);
  int grpo_steps = 0;
  for (const auto& r : *records) grpo_steps += r.value("stage", "") == "grpo";
  EXPECT_EQ(grpo_steps, 2);
  EXPECT_NE(Slurp(tmp / "ok.txt").find("5 prompts from " + prompts.string()), std::string::npos);

  // A bad line fails the job before any stage runs, naming file:line; nothing is written.
  {
    std::ofstream out(prompts, std::ios::app);
    out << R"({"id": "f", "problem": "Compute 1 + 2."})" << "\n";  // no answer
  }
  EXPECT_NE(Wait(Spawn(RunArgs(JsonlJob(tmp.path(), "bad", prompts)), tmp / "bad.txt"), std::chrono::seconds(120)), 0);
  const std::string bad = Slurp(tmp / "bad.txt");
  EXPECT_NE(bad.find(prompts.string() + ":7"), std::string::npos) << bad;
  auto none = MetricsWriter::ReadAll(tmp / "bad" / "metrics.jsonl");
  EXPECT_TRUE(!none.ok() || none->empty());

  // With job.skip_bad_dataset_lines the line is skipped and counted.
  std::vector<std::string> skip = JsonlJob(tmp.path(), "skip", prompts);
  skip.push_back("--set");
  skip.push_back("job.skip_bad_dataset_lines=true");
  ASSERT_EQ(Wait(Spawn(RunArgs(skip), tmp / "skip.txt"), std::chrono::seconds(300)), 0) << Slurp(tmp / "skip.txt");
  EXPECT_NE(Slurp(tmp / "skip.txt").find("skipped 1 bad line(s)"), std::string::npos) << Slurp(tmp / "skip.txt");
}

TEST(QuickstartE2E, AMisspeltRewardRuleFailsBeforeAnythingIsWritten) {
  testing::TempDir tmp;
  std::vector<std::string> args = ShortJob(tmp.path(), "typo");
  args.push_back("--set");
  args.push_back("reward.rules=[{name: format_verdikt, weight: 0.2}]");
  EXPECT_NE(Wait(Spawn(RunArgs(args), tmp / "typo.txt"), std::chrono::seconds(120)), 0);
  const std::string out = Slurp(tmp / "typo.txt");
  EXPECT_NE(out.find("config reward"), std::string::npos) << out;
  EXPECT_NE(out.find("format_verdikt"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "typo")) << "a run directory was created for a job that cannot start";
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
