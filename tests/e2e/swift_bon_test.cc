// End to end: configs/swift_bon.yaml, shortened — SFT, a swift_train stage that trains the SWIFT
// head on graded samples (written beside the run), then a bon stage whose candidates are scored
// by that head inside the rollout worker while they are generated.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
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

std::vector<std::string> Job(const fs::path& runs, const std::string& name) {
  return {"run", std::string(SCORCH_SOURCE_DIR) + "/configs/swift_bon.yaml",
          "--set", "job.runs_dir=" + runs.string(),
          "--set", "job.name=" + name,
          "--set", "job.threads=2",
          "--set", "stages.0.steps=40",
          "--set", "stages.1.steps=2",
          "--set", "stages.1.batch_prompts=12",
          "--set", "stages.2.steps=1",
          "--set", "stages.2.batch_prompts=10",
          "--set", "stages.2.samples_per_prompt=4"};
}

TEST(SwiftBonE2E, TrainsAHeadAndSelectsWithItDuringGeneration) {
  testing::TempDir tmp;
  ASSERT_EQ(Wait(Spawn(Job(tmp.path(), "sb"), tmp / "out.txt"), std::chrono::seconds(400)), 0) << Slurp(tmp / "out.txt");
  const fs::path run = tmp / "sb";
  // The head and its training report sit beside the run.
  for (const char* f : {"swift_head.safetensors", "swift_head.json", "swift_train_report.json"}) {
    EXPECT_TRUE(fs::exists(run / "swift" / "swift-train" / f)) << f;
  }
  const json report = json::parse(Slurp(run / "swift" / "swift-train" / "swift_train_report.json"));
  EXPECT_GE(report["best_epoch"].get<int64_t>(), 1);
  EXPECT_GT(report["val_examples"].get<int64_t>(), 0);

  auto records = MetricsWriter::ReadAll(run / "metrics.jsonl");
  ASSERT_TRUE(records.ok());
  bool saw_val = false;
  for (const auto& r : *records) saw_val |= r.value("stage", "") == "swift-train" && r.contains("swift/val_accuracy");
  EXPECT_TRUE(saw_val) << "the last swift-train step reports the head's validation accuracy";

  const json bon = json::parse(Slurp(run / "eval" / "03-bon.json"));
  EXPECT_EQ(bon["problems"].get<int64_t>(), 10);
  EXPECT_EQ(bon["ks"], json({1, 2, 4}));
  for (const char* s : {"swift", "majority", "likelihood", "random", "oracle", "swift+likelihood:rank",
                        "swift+likelihood:scaled"}) {
    ASSERT_TRUE(bon["accuracy"].contains(s)) << s;
    EXPECT_EQ(bon["accuracy"][s].size(), 3u) << s;
    EXPECT_TRUE(bon["selection_ms_per_candidate"].contains(s)) << s;
  }
  EXPECT_FALSE(bon["accuracy"].contains("self_verdict")) << "single_turn candidates carry no verdict";
  // At k = N the oracle is pass@N; every selector agrees at k = 1 (one candidate to pick).
  EXPECT_DOUBLE_EQ(bon["accuracy"]["oracle"][2].get<double>(), bon["pass_at_k"]["4"].get<double>());
  for (const auto& [name, acc] : bon["accuracy"].items()) {
    EXPECT_DOUBLE_EQ(acc[0].get<double>(), bon["accuracy"]["oracle"][0].get<double>()) << name;
    for (size_t k = 0; k < acc.size(); ++k) EXPECT_LE(acc[k].get<double>(), bon["accuracy"]["oracle"][k].get<double>());
  }
  const std::string out = Slurp(tmp / "out.txt");
  EXPECT_NE(out.find("accuracy@k (%)"), std::string::npos) << out;
  EXPECT_NE(out.find("SWIFT head written to"), std::string::npos) << out;
}

TEST(SwiftBonE2E, ABonStageNamingNoSwiftTrainStageFailsUpFront) {
  testing::TempDir tmp;
  std::vector<std::string> args = Job(tmp.path(), "bad");
  args.push_back("--set");
  args.push_back("stages.2.swift_head=stage:nope");
  EXPECT_NE(Wait(Spawn(args, tmp / "bad.txt"), std::chrono::seconds(120)), 0);
  const std::string out = Slurp(tmp / "bad.txt");
  EXPECT_NE(out.find("names no earlier swift_train stage"), std::string::npos) << out;
  EXPECT_FALSE(fs::exists(tmp / "bad" / "metrics.jsonl"));
}

}  // namespace
}  // namespace scorch
