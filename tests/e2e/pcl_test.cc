// End to end: configs/pcl.yaml, shortened — PCL demonstrations, evaluation in training mode
// (the evaluation and <reward> list reach the reward service: consistency is scored), GRPO on
// the pcl reward, and deployment, where generation stops at the POST marker.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
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

TEST(PclE2E, EvaluationIsScoredInTrainingAndNeverWrittenWhenDeployed) {
  testing::TempDir tmp;
  const std::vector<std::string> args = {"run", std::string(SCORCH_SOURCE_DIR) + "/configs/pcl.yaml",
                                         "--set", "job.runs_dir=" + tmp.path().string(),
                                         "--set", "job.name=pcl",
                                         "--set", "job.threads=2",
                                         "--set", "stages.0.steps=60",
                                         "--set", "stages.1.steps=1",
                                         "--set", "stages.1.batch_prompts=16",
                                         "--set", "stages.2.steps=2",
                                         "--set", "stages.2.batch_prompts=4",
                                         "--set", "stages.3.steps=1",
                                         "--set", "stages.3.batch_prompts=16",
                                         "--set", "stages.4.batch_prompts=16"};
  ASSERT_EQ(Wait(Spawn(args, tmp / "out.txt"), std::chrono::seconds(400)), 0) << Slurp(tmp / "out.txt");
  const fs::path run = tmp / "pcl";
  const json before = json::parse(Slurp(run / "eval" / "02-eval-before.json"));
  for (const char* k : {"pcl_accuracy", "pcl_format_all", "pcl_consistency", "pcl_reward_parsed"}) {
    EXPECT_TRUE(before["reward_components"].contains(k)) << k << " in " << before.dump();
  }
  // Every step's metrics carry the reward's parts (reward/pcl_consistency for the curves).
  EXPECT_NE(Slurp(run / "metrics.jsonl").find("\"reward/pcl_consistency\""), std::string::npos);
  // The grpo steps train the mixed objective: both SFT tracks beside GRPO, 4 groups each.
  auto records = MetricsWriter::ReadAll(run / "metrics.jsonl");
  ASSERT_TRUE(records.ok()) << records.status();
  int mixed_steps = 0;
  for (const auto& r : *records) {
    if (r.value("stage", "") != "grpo") continue;
    ++mixed_steps;
    EXPECT_EQ(r.value("pcl/demo_groups", 0.0), 4.0) << r.dump();
    EXPECT_GT(r.value("pcl/sft_reason_loss", 0.0), 0.0) << r.dump();
    EXPECT_GT(r.value("pcl/sft_eval_loss", 0.0), 0.0) << r.dump();
  }
  EXPECT_EQ(mixed_steps, 2);

  // Deployment: no evaluation segment after the marker, in any trajectory of eval-deploy.
  int deployed = 0;
  for (const auto& entry : fs::directory_iterator(run / "rollouts")) {
    std::ifstream in(entry.path());
    for (std::string line; std::getline(in, line);) {
      const json r = json::parse(line);
      if (r["stage"] != "eval-deploy") continue;
      ++deployed;
      for (const auto& s : r["segments"]) EXPECT_NE(s["kind"], "evaluation") << line;
    }
  }
  EXPECT_EQ(deployed, 16);
}

}  // namespace
}  // namespace scorch
