// LoadRun / SummarizeRun / FormatSummary / FormatComparison over a fixture run directory.
#include <gtest/gtest.h>

#include <regex>
#include <sstream>

#include "run_fixture.h"
#include "scorch/inspect/run_report.h"

namespace scorch::inspect {
namespace {

namespace fs = std::filesystem;
using testing::TempRunDir;
using testing::WriteFixtureRun;

TEST(RunReportTest, SummarizesStagesTimeSplitEvalsCheckpointsAndWarnings) {
  auto root = TempRunDir("summary");
  ASSERT_NO_FATAL_FAILURE(WriteFixtureRun(root));
  auto run = LoadRun(root);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->metrics.size(), 40u);
  EXPECT_TRUE(run->warnings.empty()) << run->warnings.front();
  nlohmann::json s = SummarizeRun(*run);

  EXPECT_EQ(s["first_step"], 1);
  EXPECT_EQ(s["last_step"], 40);
  EXPECT_NEAR(s["steps_per_hour"].get<double>(), 40.0 / 318 * 3600, 1e-6);
  ASSERT_EQ(s["stages"].size(), 2u);
  const auto& sft = s["stages"][0];
  EXPECT_EQ(sft["name"], "sft");
  EXPECT_EQ(sft["steps"], 10);
  EXPECT_DOUBLE_EQ(sft["time_s"]["train_s"].get<double>(), 15.0);
  EXPECT_DOUBLE_EQ(sft["wall_s"].get<double>(), 20.0);  // sum of time/step_s
  EXPECT_DOUBLE_EQ(sft["throughput_tokens_per_s"].get<double>(), 1005.5);
  const auto& grpo = s["stages"][1];
  EXPECT_EQ(grpo["first_step"], 11);
  EXPECT_EQ(grpo["last_step"], 40);
  EXPECT_EQ(grpo["last_stage_step"], 30);
  EXPECT_DOUBLE_EQ(grpo["time_s"]["generate_s"].get<double>(), 180.0);
  EXPECT_DOUBLE_EQ(grpo["time_s"]["sync_s"].get<double>(), 15.0);
  EXPECT_DOUBLE_EQ(grpo["throughput_tokens_per_s"].get<double>(), 800 + 10 * 15.5);
  EXPECT_DOUBLE_EQ(grpo["last"]["reward/mean"].get<double>(), 0.5);

  ASSERT_EQ(s["evals"].size(), 2u);
  EXPECT_EQ(s["best_eval"]["file"], "04-eval_grpo.json");
  EXPECT_EQ(s["last_eval"]["stage"], "eval_grpo");
  ASSERT_EQ(s["checkpoints"].size(), 2u);
  EXPECT_EQ(s["checkpoints"][0]["step"], 10);
  EXPECT_FALSE(s["checkpoints"][0]["latest"].get<bool>());
  EXPECT_TRUE(s["checkpoints"][1]["latest"].get<bool>());
  // model + optimizer + manifest; at least the bytes we wrote.
  EXPECT_GE(s["checkpoints"][1]["bytes"].get<uint64_t>(), 4096u * 40 + 1000);
  EXPECT_EQ(s["rollout_steps"], (nlohmann::json{20, 40}));

  ASSERT_EQ(s["warnings"].size(), 1u) << s["warnings"].dump();
  const std::string w = s["warnings"][0];
  EXPECT_NE(w.find("grader/errors > 0: 4 in total over 2 step(s), first at step 25"), std::string::npos) << w;

  const std::string text = FormatSummary(s);
  for (const char* needle :
       {"steps: 1..40 (40 records)", "sft", "grpo", "generate 60%", "train 30%", "eval (percent)",
        "eval_grpo", "52.0", "best,last", "step-000040", "(latest)", "rollouts: 2 step(s): 20, 40",
        "! grader/errors > 0", "reward/mean 0.5", "git_hash abc1234"}) {
    EXPECT_NE(text.find(needle), std::string::npos) << "missing '" << needle << "' in:\n" << text;
  }
  fs::remove_all(root);
}

TEST(RunReportTest, ToleratesATornTailBadLinesAndMissingParts) {
  auto root = TempRunDir("torn");
  ASSERT_NO_FATAL_FAILURE(WriteFixtureRun(root, /*torn_tail=*/true));
  {
    // A line in the middle that is not JSON, and a record without a step.
    std::string text;
    std::ifstream in(root / "metrics.jsonl");
    std::stringstream ss;
    ss << in.rdbuf();
    text = ss.str();
    size_t second = text.find('\n') + 1;
    text.insert(second, "garbage line\n{\"loss\": 1}\n");
    std::ofstream(root / "metrics.jsonl", std::ios::trunc) << text;
  }
  fs::create_directories(root / "checkpoints" / "step-000050.tmp-123");
  fs::create_directories(root / "checkpoints" / "step-000060");  // no manifest
  std::ofstream(root / "eval" / "09-broken.json") << "{not json";
  auto run = LoadRun(root);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->metrics.size(), 40u);
  std::string all;
  for (const auto& w : run->warnings) all += w + "\n";
  EXPECT_NE(all.find("metrics.jsonl:2: not valid JSON"), std::string::npos) << all;
  EXPECT_NE(all.find("metrics.jsonl:3: record without an integer \"step\""), std::string::npos) << all;
  EXPECT_NE(all.find("torn last line"), std::string::npos) << all;
  EXPECT_NE(all.find("step-000050.tmp-123: unfinished checkpoint"), std::string::npos) << all;
  EXPECT_NE(all.find("step-000060: no MANIFEST.json"), std::string::npos) << all;
  EXPECT_NE(all.find("eval/09-broken.json: not a JSON object"), std::string::npos) << all;
  EXPECT_EQ(run->checkpoints.size(), 2u);
  fs::remove_all(root);
}

TEST(RunReportTest, EmptyRunAndBadPathsGiveClearAnswers) {
  auto root = TempRunDir("empty");
  auto missing = LoadRun(root / "nope");
  EXPECT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find("does not exist"), std::string::npos);
  auto not_run = LoadRun(root);
  EXPECT_TRUE(not_run.status().IsInvalidArgument());
  EXPECT_NE(not_run.status().message().find("does not look like a run directory"), std::string::npos);

  std::ofstream(root / "RUN_INFO.json") << "{}";
  auto fresh = LoadRun(root);
  ASSERT_TRUE(fresh.ok());
  auto s = SummarizeRun(*fresh);
  const std::string text = FormatSummary(s);
  EXPECT_NE(text.find("steps: none recorded yet"), std::string::npos) << text;
  EXPECT_NE(text.find("no metrics.jsonl yet"), std::string::npos) << text;
  EXPECT_NE(text.find("checkpoints: none"), std::string::npos) << text;
  fs::remove_all(root);
}

TEST(RunReportTest, ComparisonPutsTwoRunsSideBySide) {
  auto a_root = TempRunDir("cmp_a");
  auto b_root = TempRunDir("cmp_b");
  ASSERT_NO_FATAL_FAILURE(WriteFixtureRun(a_root));
  std::ofstream(b_root / "RUN_INFO.json") << "{}";
  auto a = LoadRun(a_root);
  auto b = LoadRun(b_root);
  ASSERT_TRUE(a.ok() && b.ok());
  const std::string text = FormatComparison(SummarizeRun(*a), SummarizeRun(*b));
  EXPECT_NE(text.find("A: " + a_root.string()), std::string::npos) << text;
  EXPECT_NE(text.find("B: " + b_root.string()), std::string::npos) << text;
  EXPECT_NE(text.find("reward/mean (last)"), std::string::npos) << text;
  EXPECT_TRUE(std::regex_search(text, std::regex(R"(best_eval final %\s+52\.0\s+-)"))) << text;
  // Same run against itself: every difference is zero.
  const std::string self = FormatComparison(SummarizeRun(*a), SummarizeRun(*a));
  EXPECT_NE(self.find("acc/final (last)"), std::string::npos);
  std::istringstream lines(self);
  std::string line;
  int rows = 0;
  while (std::getline(lines, line)) {
    if (line.rfind("  ", 0) != 0 || line.find("B-A") != std::string::npos) continue;
    const std::string last = line.substr(line.find_last_of(' ') + 1);
    EXPECT_TRUE(last == "0" || last == "0.0") << line;
    ++rows;
  }
  EXPECT_GT(rows, 20);
  fs::remove_all(a_root);
  fs::remove_all(b_root);
}

TEST(RunReportTest, HumanUnits) {
  EXPECT_EQ(HumanBytes(512), "512 B");
  EXPECT_EQ(HumanBytes(3 * 1024 * 1024 + 512 * 1024), "3.5 MiB");
  EXPECT_EQ(HumanDuration(42.04), "42.0s");
  EXPECT_EQ(HumanDuration(3725), "1h02m");
  EXPECT_EQ(HumanDuration(125), "2m05s");
  EXPECT_EQ(FormatNumber(0.5), "0.5");
  EXPECT_EQ(FormatNumber(12345.6), "12346");
  EXPECT_EQ(FormatNumber(1e-5), "1e-05");
}

}  // namespace
}  // namespace scorch::inspect
