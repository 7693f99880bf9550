// Builds a realistic run directory for the inspect tests, with the same writers the job loop
// uses: metrics.jsonl through MetricsWriter, checkpoints through checkpoint_dir.h, eval/*.json
// in EvalSummary::ToJson()'s shape, rollouts/step-N.jsonl per RUN_DIR.md.
//
// Layout: stage "sft" (steps 1-10, kind sft: loss, lr, no rewards), stage "grpo" (steps
// 11-40, kind grpo: every key metric, time split), eval files after each, rollouts at
// steps 20 and 40, checkpoints at steps 10 and 40. Grader errors at steps 25 and 26.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "scorch/common/checkpoint_dir.h"
#include "scorch/common/metrics_writer.h"

namespace scorch::inspect::testing {

namespace fs = std::filesystem;
using nlohmann::json;

inline fs::path TempRunDir(const std::string& tag) {
  fs::path p = fs::temp_directory_path() /
               ("scorch_inspect_" + tag + "_" + std::to_string(::getpid()) + "_" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
  fs::remove_all(p);
  fs::create_directories(p);
  return p;
}

inline json Trajectory(int64_t step, int i) {
  const bool c1 = i % 2 == 0, c2 = i % 3 != 0;
  return {{"stage", "grpo"},
          {"step", step},
          {"prompt_id", "p" + std::to_string(100 + i)},
          {"sample_idx", i % 4},
          {"policy_version", step - 1},
          {"reward", c2 ? 1.0 : -1.0},
          {"correct", {c1, c2}},
          {"turn_answers", {c1 ? "42" : "41", c2 ? "42" : "40"}},
          {"gold", "42"},
          {"verdicts", {c1 ? "correct" : "wrong"}},
          {"segments",
           {{{"role", "user"}, {"turn", 0}, {"kind", "prompt"},
             {"text", "What is 6 * 7? <b>bold?</b> & more"}},
            {{"role", "assistant"}, {"turn", 0}, {"kind", "attempt"},
             {"text", std::string("6 * 7 = ") + (c1 ? "42" : "41") + "\nThe answer is \\boxed{" +
                          (c1 ? "42" : "41") + "}"}},
            {{"role", "assistant"}, {"turn", 0}, {"kind", "verify"},
             {"text", std::string("Let me check. VERIFY: ") + (c1 ? "[CORRECT]" : "[WRONG]")}},
            {{"role", "user"}, {"turn", 1}, {"kind", "instruction"},
             {"text", "There might be an error. Please correct it."}},
            {{"role", "assistant"}, {"turn", 1}, {"kind", "attempt"},
             {"text", std::string("Corrected: \\boxed{") + (c2 ? "42" : "40") + "}\x1b[31m"}}}}};
}

inline void WriteFixtureRun(const fs::path& root, bool torn_tail = false) {
  fs::create_directories(root / "eval");
  fs::create_directories(root / "rollouts");
  fs::create_directories(root / "checkpoints");
  std::ofstream(root / "RUN_INFO.json")
      << json{{"version", "0.1.0"}, {"git_hash", "abc1234"}, {"host", "testhost"},
              {"start_time", "2026-11-22T05:00:00Z"}}.dump();
  auto w = MetricsWriter::Open(root / "metrics.jsonl");
  ASSERT_TRUE(w.ok()) << w.status();
  double t = 1763787600;
  for (int s = 1; s <= 10; ++s) {
    t += 2;
    ASSERT_TRUE((*w)->Append({{"step", s}, {"time", t}, {"stage", "sft"}, {"stage_kind", "sft"},
                              {"stage_step", s}, {"loss", 2.0 / s}, {"lr", 1e-4},
                              {"time/train_s", 1.5}, {"time/step_s", 2.0},
                              {"throughput/tokens_per_s", 1000.0 + s}}).ok());
  }
  for (int s = 11; s <= 40; ++s) {
    const int k = s - 10;
    t += 10;
    json r = {{"step", s}, {"time", t}, {"stage", "grpo"}, {"stage_kind", "grpo"}, {"stage_step", k},
              {"loss", 0.1 * std::sin(k)}, {"reward/mean", -0.5 + k / 30.0},
              {"reward/std", 0.3}, {"acc/turn1", 0.3 + k / 100.0}, {"acc/final", 0.35 + k / 80.0},
              {"delta/t1_t2", 0.05 + k / 400.0}, {"kl/k3", 0.001 * k}, {"entropy", 1.2 - k / 50.0},
              {"response/length", 120 + 3 * k}, {"staleness/mean", 0.5 + (k % 3) * 0.25},
              {"staleness/max", 2}, {"throughput/tokens_per_s", 800 + 10 * k},
              {"time/generate_s", 6.0}, {"time/grade_s", 0.5}, {"time/train_s", 3.0},
              {"time/sync_s", 0.5}, {"time/step_s", 10.0}, {"verify/format_errors", 0},
              {"grader/errors", (s == 25 || s == 26) ? 2 : 0}};
    ASSERT_TRUE((*w)->Append(r).ok());
  }
  w->reset();
  auto eval = [&](const std::string& file, const std::string& stage, int step, double t1, double fin) {
    std::ofstream(root / "eval" / file)
        << json{{"n", 500}, {"turn1", t1}, {"final", fin}, {"delta", fin - t1},
                {"delta_i2c", fin - t1 + 0.01}, {"delta_c2i", 0.01}, {"rm_acc_correct", 0.8},
                {"rm_acc_wrong", nullptr}, {"p_c2i", 0.1}, {"samples_per_trajectory", 1.4},
                {"verdict_missing", 0}, {"grader_errors", 0}, {"stage", stage}, {"step", step}}
               .dump();
  };
  eval("02-eval_sft.json", "eval_sft", 10, 0.30, 0.32);
  eval("04-eval_grpo.json", "eval_grpo", 40, 0.45, 0.52);
  for (int step : {20, 40}) {
    std::ofstream f(root / "rollouts" / ("step-" + std::to_string(step) + ".jsonl"));
    for (int i = 0; i < 6; ++i) f << Trajectory(step, i).dump() << "\n";
  }
  for (int step : {10, 40}) {
    auto tmp = BeginCheckpoint(root / "checkpoints", step);
    ASSERT_TRUE(tmp.ok()) << tmp.status();
    fs::create_directories(*tmp / "model");
    std::ofstream(*tmp / "model" / "model.safetensors") << std::string(4096 * step, 'w');
    std::ofstream(*tmp / "optimizer.pt") << std::string(1000, 'o');
    auto done = CommitCheckpoint(*tmp, step, json{{"learner", "test"}});
    ASSERT_TRUE(done.ok()) << done.status();
  }
  if (torn_tail) {
    std::ofstream(root / "metrics.jsonl", std::ios::app) << R"({"step": 41, "time": 1.0, "sta)";
  }
}

}  // namespace scorch::inspect::testing
