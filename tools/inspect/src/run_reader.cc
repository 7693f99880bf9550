// LoadRun: reads a run directory tolerantly. See run_report.h.
#include <algorithm>
#include <fstream>
#include <regex>
#include <sstream>
#include <system_error>

#include "scorch/inspect/run_report.h"

namespace scorch::inspect {
namespace {

namespace fs = std::filesystem;

bool ReadText(const fs::path& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::stringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

void ReadMetrics(const fs::path& path, RunData* run) {
  std::string text;
  if (!ReadText(path, &text)) {
    run->warnings.push_back("cannot read " + path.string());
    return;
  }
  size_t pos = 0;
  int line_no = 0;
  int64_t last_step = -1;
  while (pos < text.size()) {
    size_t nl = text.find('\n', pos);
    const bool torn = nl == std::string::npos;
    std::string line = text.substr(pos, torn ? std::string::npos : nl - pos);
    pos = torn ? text.size() : nl + 1;
    ++line_no;
    if (line.empty()) continue;
    auto j = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    const std::string where = "metrics.jsonl:" + std::to_string(line_no);
    if (j.is_discarded()) {
      run->warnings.push_back(where + (torn ? ": torn last line (the run may still be writing it)"
                                            : ": not valid JSON; line skipped"));
      continue;
    }
    if (!j.is_object() || !j.contains("step") || !j["step"].is_number_integer()) {
      run->warnings.push_back(where + ": record without an integer \"step\"; skipped");
      continue;
    }
    int64_t step = j["step"].get<int64_t>();
    if (step <= last_step) {
      run->warnings.push_back(where + ": step " + std::to_string(step) +
                              " does not increase (previous " + std::to_string(last_step) + ")");
    }
    last_step = std::max(last_step, step);
    run->metrics.push_back(std::move(j));
  }
}

void ReadEvals(const fs::path& dir, RunData* run) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.is_regular_file() && e.path().extension() == ".json") files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  for (const auto& f : files) {
    std::string text;
    nlohmann::json j;
    if (ReadText(f, &text)) j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      run->warnings.push_back("eval/" + f.filename().string() + ": not a JSON object; skipped");
      continue;
    }
    run->evals.push_back({f.filename().string(), std::move(j)});
  }
}

void ReadCheckpoints(const fs::path& dir, RunData* run) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  std::string latest;
  if (ReadText(dir / "latest", &latest)) {
    while (!latest.empty() && std::isspace(static_cast<unsigned char>(latest.back()))) latest.pop_back();
  }
  static const std::regex kName(R"(step-(\d+))");
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (!e.is_directory()) continue;
    const std::string name = e.path().filename().string();
    if (name.find(".tmp-") != std::string::npos) {
      run->warnings.push_back("checkpoints/" + name +
                              ": unfinished checkpoint (a write was interrupted or is running)");
      continue;
    }
    std::smatch m;
    if (!std::regex_match(name, m, kName)) continue;
    CheckpointInfo info;
    info.name = name;
    info.step = std::stoll(m[1].str());
    if (!fs::exists(e.path() / "MANIFEST.json")) {
      run->warnings.push_back("checkpoints/" + name + ": no MANIFEST.json (incomplete)");
      continue;
    }
    std::string manifest_text;
    if (ReadText(e.path() / "MANIFEST.json", &manifest_text)) {
      auto mj = nlohmann::json::parse(manifest_text, nullptr, false);
      if (mj.is_object() && mj.contains("step") && mj["step"].is_number_integer()) {
        info.step = mj["step"].get<int64_t>();
      }
    }
    for (const auto& f : fs::recursive_directory_iterator(e.path(), ec)) {
      if (f.is_regular_file()) {
        info.bytes += f.file_size();
        ++info.files;
      }
    }
    info.latest = (name == latest);
    run->checkpoints.push_back(std::move(info));
  }
  std::sort(run->checkpoints.begin(), run->checkpoints.end(),
            [](const CheckpointInfo& a, const CheckpointInfo& b) { return a.step < b.step; });
  if (!latest.empty() &&
      std::none_of(run->checkpoints.begin(), run->checkpoints.end(),
                   [](const CheckpointInfo& c) { return c.latest; })) {
    run->warnings.push_back("checkpoints/latest names \"" + latest +
                            "\", which is not a complete checkpoint");
  }
}

void ListRollouts(const fs::path& dir, RunData* run) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) return;
  static const std::regex kName(R"(step-(\d+)\.jsonl)");
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    std::smatch m;
    const std::string name = e.path().filename().string();
    if (e.is_regular_file() && std::regex_match(name, m, kName)) {
      run->rollout_steps.push_back(std::stoll(m[1].str()));
    }
  }
  std::sort(run->rollout_steps.begin(), run->rollout_steps.end());
}

}  // namespace

StatusOr<RunData> LoadRun(const fs::path& root) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return Status::NotFound("run directory " + root.string() + " does not exist");
  }
  const bool has_metrics = fs::exists(root / "metrics.jsonl", ec);
  if (!has_metrics && !fs::is_directory(root / "eval", ec) &&
      !fs::is_directory(root / "checkpoints", ec) && !fs::exists(root / "RUN_INFO.json", ec)) {
    return Status::InvalidArgument(root.string() +
                                   " does not look like a run directory (no metrics.jsonl, "
                                   "eval/, checkpoints/ or RUN_INFO.json)");
  }
  RunData run;
  run.root = root;
  std::string info;
  if (ReadText(root / "RUN_INFO.json", &info)) {
    run.run_info = nlohmann::json::parse(info, nullptr, false);
    if (run.run_info.is_discarded()) {
      run.run_info = nullptr;
      run.warnings.push_back("RUN_INFO.json is not valid JSON");
    }
  }
  if (has_metrics) {
    ReadMetrics(root / "metrics.jsonl", &run);
  } else {
    run.warnings.push_back("no metrics.jsonl yet");
  }
  ReadEvals(root / "eval", &run);
  ReadCheckpoints(root / "checkpoints", &run);
  ListRollouts(root / "rollouts", &run);
  return run;
}

}  // namespace scorch::inspect
