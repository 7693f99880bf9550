// End to end: an mdpo stage inside a real `scorch run` job (every role embedded). A short
// SFT (solve, then the self-correction format) on a tiny task, then 2 M-DPO steps whose pairs are built online from sampled and
// graded trajectories; every step's metrics line carries the pair counts and the accuracy
// summary, and a step with pairs carries the learner's DPO statistics.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <csignal>
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

// Runs `scorch ARGS...` and returns its exit code (-1 if it ran past `limit`).
int RunScorch(const std::vector<std::string>& args, const fs::path& log, std::chrono::seconds limit) {
  return e2e::Wait(e2e::Spawn(args, log), limit);
}

TEST(MdpoStageE2E, TwoStepsWritePairAndDpoMetrics) {
  testing::TempDir tmp;
  // The quickstart's model and prompts; a task small enough that a briefly warmed-up model is
  // sometimes right, so corrections differ and pairs form.
  const std::string job = R"(job: {name: mdpo, threads: 2}
model: {init_config: configs/models/tiny.json, tokenizer: char}
task: {min_ops: 1, max_ops: 1, max_operand: 3, allow_multiply: false, word_problems: false}
prompts: {srr_system_prompt: "Solve step by step.", srr_user_suffix: " Box the answer.",
          self_eval_instruction: "Check it.", correction_instruction: "Fix it.",
          eval_system_prompt: "Solve step by step.", eval_user_suffix: " Box the answer."}
rollout: {slots: 64, max_seq_len: 384, max_turns: 2, temperature: 1.0, max_new_tokens: 48}
learner: {micro_batch_rows: 32}
stages:
  - {name: solve, kind: sft, protocol: single_turn, steps: 100, batch_prompts: 8, lr: 3.0e-3, warmup_steps: 10}
  - {name: warmup, kind: sft, protocol: self_correct, steps: 20, batch_prompts: 8, lr: 1.0e-3}
  - {name: mdpo, kind: mdpo, protocol: self_correct, steps: 2, batch_prompts: 8, samples_per_prompt: 2,
     mdpo_continuations: 2, lr: 1.0e-4, mdpo_eta: 0.1, mdpo_sets: [d1, d2, d3]}
)";
  const fs::path config = tmp / "mdpo.yaml";
  std::ofstream(config) << job;
  const int rc = RunScorch({"run", config.string(), "--set", "job.runs_dir=" + tmp.path().string()}, tmp / "log.txt",
                           std::chrono::seconds(240));
  ASSERT_EQ(rc, 0) << Slurp(tmp / "log.txt");

  auto records = MetricsWriter::ReadAll(tmp / "mdpo" / "metrics.jsonl");
  ASSERT_TRUE(records.ok()) << records.status();
  ASSERT_EQ(records->size(), 122u);
  double pairs_total = 0.0;
  for (size_t i = 120; i < 122; ++i) {
    const json& r = (*records)[i];
    SCOPED_TRACE(r.dump());
    EXPECT_EQ(r["stage"], "mdpo");
    EXPECT_EQ(r["stage_kind"], "mdpo");
    EXPECT_EQ(r["stage_step"].get<int64_t>(), static_cast<int64_t>(i - 119));
    for (const char* key : {"mdpo/pairs", "mdpo/pairs_d1", "mdpo/pairs_d2", "mdpo/pairs_d3",
                            "mdpo/prompts_without_pairs", "mdpo/ambiguous_left_out", "acc/turn1", "acc/final",
                            "delta/t1_t2", "reward/mean"}) {
      ASSERT_TRUE(r.contains(key)) << key;
    }
    const double pairs = r["mdpo/pairs"].get<double>();
    EXPECT_EQ(pairs, r["mdpo/pairs_d1"].get<double>() + r["mdpo/pairs_d2"].get<double>() +
                         r["mdpo/pairs_d3"].get<double>());
    EXPECT_LE(r["mdpo/prompts_without_pairs"].get<double>(), 8.0);
    pairs_total += pairs;
    if (pairs > 0) {
      // The learner trained on them: its DPO statistics come back in the same line.
      for (const char* key : {"loss", "mdpo/reward_accuracy", "mdpo/margin", "mdpo/reward_chosen",
                              "mdpo/reward_rejected", "mdpo/nll", "grad_norm"}) {
        ASSERT_TRUE(r.contains(key)) << key;
      }
      EXPECT_TRUE(std::isfinite(r["loss"].get<double>()));
    } else {
      EXPECT_FALSE(r.contains("loss")) << "a step without pairs takes no learner step";
      EXPECT_EQ(r["mdpo/prompts_without_pairs"].get<double>(), 8.0);
    }
  }
  // The task is tuned so the 2 steps yield pairs; if this fails, the learner path went untested.
  EXPECT_GT(pairs_total, 0.0) << Slurp(tmp / "log.txt");
  EXPECT_TRUE(fs::exists(tmp / "mdpo" / "rollouts" / "step-121.jsonl"));
}

}  // namespace
}  // namespace scorch
