// `scorch inspect --html`: one self-contained HTML page about a run (no scripts from elsewhere,
// no network): inline SVG line charts of the key metrics (KeyMetrics(), run_report.h) with
// stage boundaries, the stage table with its time split, the eval tables, checkpoints,
// warnings, and a browsable sample of trajectories (<details> per trajectory) whose segments
// are marked by kind (prompt, attempt, verify, instruction, evaluation) with colour and label.
//
// Each chart that has data is exactly one <path class="series">; a metric with no data gets a
// "no data" placeholder instead. All text from the run is HTML-escaped.
// Pure functions; thread-compatible. WriteHtmlReport returns IoError when the file cannot be
// written (it writes a temporary file and renames it).
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/inspect/run_report.h"

namespace scorch::inspect {

struct HtmlReportOptions {
  size_t rollout_files = 3;           // sampled steps: first, middle(s), last
  size_t trajectories_per_file = 8;   // per sampled step
  size_t max_segment_chars = 20000;   // longer segment texts are cut (and say so)
};

// The page for `run` (summary = SummarizeRun(run)).
std::string RenderHtmlReport(const RunData& run, const nlohmann::json& summary,
                             const HtmlReportOptions& options = {});

// One SVG line chart of `key` over the metrics records (exposed for tests).
std::string RenderChartSvg(const std::vector<nlohmann::json>& metrics, const std::string& key);

std::string HtmlEscape(const std::string& text);

// Renders and writes `path` atomically.
Status WriteHtmlReport(const RunData& run, const std::filesystem::path& path,
                       const HtmlReportOptions& options = {});

}  // namespace scorch::inspect
