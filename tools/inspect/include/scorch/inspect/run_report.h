// Reading a run directory and summarising it: the logic behind `scorch inspect`.
//
// LoadRun reads what the job loop leaves in runs/NAME (see common/include/scorch/common/
// run_dir.h and /work/notes/RUN_DIR.md): metrics.jsonl, eval/*.json, checkpoints/, rollouts/,
// RUN_INFO.json. It is tolerant: a live run may have a torn last metrics line, a stage may lack
// keys, and a folder may be missing; such problems become `warnings` rather than errors.
// SummarizeRun condenses a RunData into JSON (the `--json` output), FormatSummary and
// FormatComparison render that JSON for a terminal.
//
// Pure functions over files read once; thread-compatible. Errors: NotFound when the folder
// does not exist, InvalidArgument when it holds none of a run's files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::inspect {

struct CheckpointInfo {
  std::string name;     // folder name, e.g. "step-000100"
  int64_t step = -1;    // from the manifest (or the name)
  uint64_t bytes = 0;   // all files under the folder
  int64_t files = 0;
  bool latest = false;  // `checkpoints/latest` names it
};

struct EvalFile {
  std::string file;     // e.g. "02-eval_math.json"
  nlohmann::json data;  // EvalSummary::ToJson() plus "stage" and "step"
};

struct RunData {
  std::filesystem::path root;
  nlohmann::json run_info;                // RUN_INFO.json, or null
  std::vector<nlohmann::json> metrics;    // well-formed records, file order
  std::vector<EvalFile> evals;            // eval/*.json, sorted by file name
  std::vector<CheckpointInfo> checkpoints;  // complete ones, oldest first
  std::vector<int64_t> rollout_steps;     // rollouts/step-N.jsonl, ascending
  std::vector<std::string> warnings;      // problems met while reading
};

StatusOr<RunData> LoadRun(const std::filesystem::path& root);

// The `--json` summary: run, steps, stages (with time split and throughput), evals (+ best,
// last), last metrics, checkpoints, rollouts, warnings (reading problems plus grader/format
// errors and the like found in the data).
nlohmann::json SummarizeRun(const RunData& run);

// Terminal renderings of SummarizeRun's JSON.
std::string FormatSummary(const nlohmann::json& summary);
std::string FormatComparison(const nlohmann::json& a, const nlohmann::json& b);

// The metrics plotted in the HTML report and compared by --compare, in display order.
const std::vector<std::string>& KeyMetrics();

// "12.3 MiB", "1h02m", "0.512" helpers shared by the renderers.
std::string HumanBytes(uint64_t bytes);
std::string HumanDuration(double seconds);
std::string FormatNumber(double v);

}  // namespace scorch::inspect
