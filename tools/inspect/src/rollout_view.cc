// Terminal rendering of sampled trajectories. See rollout_view.h.
#include "scorch/inspect/rollout_view.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <regex>
#include <sstream>

#include "scorch/inspect/run_report.h"

namespace scorch::inspect {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const char* KindColor(const std::string& kind) {
  if (kind == "prompt") return "\x1b[34m";       // blue
  if (kind == "attempt") return "\x1b[33m";      // yellow
  if (kind == "verify") return "\x1b[35m";       // magenta
  if (kind == "instruction") return "\x1b[36m";  // cyan
  if (kind == "evaluation") return "\x1b[32m";   // green
  return "\x1b[37m";
}
constexpr const char* kReset = "\x1b[0m";
constexpr const char* kBold = "\x1b[1m";

std::string Field(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null()) return "?";
  return it->is_string() ? it->get<std::string>() : it->dump();
}

}  // namespace

std::string EscapeControl(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if ((c < 0x20 && c != '\n' && c != '\t') || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02X", c);
      out += buf;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

StatusOr<RolloutFile> LoadRollouts(const fs::path& run_root, int64_t step) {
  const fs::path dir = run_root / "rollouts";
  static const std::regex kName(R"(step-(\d+)\.jsonl)");
  std::vector<int64_t> available;
  fs::path found;
  std::error_code ec;
  if (fs::is_directory(dir, ec)) {
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      std::smatch m;
      const std::string name = e.path().filename().string();
      if (!std::regex_match(name, m, kName)) continue;
      int64_t s = std::stoll(m[1].str());
      available.push_back(s);
      if (s == step) found = e.path();
    }
  }
  if (found.empty()) {
    std::sort(available.begin(), available.end());
    std::string list;
    for (size_t i = 0; i < available.size() && i < 20; ++i) list += (i ? ", " : "") + std::to_string(available[i]);
    if (available.size() > 20) list += ", ...";
    return Status::NotFound("no rollouts for step " + std::to_string(step) + " in " + dir.string() +
                            (available.empty() ? " (none recorded)" : "; steps with rollouts: " + list));
  }
  RolloutFile file;
  file.path = found;
  std::ifstream in(found);
  if (!in) return Status::IoError("cannot read " + found.string());
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) {
      ++file.bad_lines;
      continue;
    }
    file.trajectories.push_back(std::move(j));
  }
  return file;
}

std::string FormatRollouts(const RolloutFile& file, bool color, size_t limit) {
  std::ostringstream out;
  const size_t n = file.trajectories.size();
  const size_t shown = (limit == 0 || limit > n) ? n : limit;
  out << file.path.string() << ": " << n << " trajectory(ies)";
  if (shown < n) out << ", showing " << shown;
  if (file.bad_lines > 0) out << ", " << file.bad_lines << " unparsable line(s) skipped";
  out << "\n";
  if (color) {
    out << "legend: ";
    for (const char* k : {"prompt", "attempt", "verify", "instruction", "evaluation"}) {
      out << KindColor(k) << k << kReset << " ";
    }
    out << "\n";
  }
  for (size_t i = 0; i < shown; ++i) {
    const json& t = file.trajectories[i];
    out << "\n" << (color ? kBold : "") << "── #" << i + 1 << " prompt " << EscapeControl(Field(t, "prompt_id"))
        << " · sample " << Field(t, "sample_idx") << " · policy v" << Field(t, "policy_version");
    if (t.contains("reward") && t["reward"].is_number()) {
      out << " · reward " << FormatNumber(t["reward"].get<double>());
    }
    out << (color ? kReset : "");
    if (t.contains("correct") && t["correct"].is_array()) {
      out << " · turns ";
      for (const auto& c : t["correct"]) {
        const bool ok = c.is_boolean() && c.get<bool>();
        if (color) out << (ok ? "\x1b[32m" : "\x1b[31m");
        out << (ok ? "✓" : "✗");
        if (color) out << kReset;
      }
    }
    out << "\n";
    if (t.contains("gold")) out << "   gold: " << EscapeControl(Field(t, "gold"));
    if (t.contains("turn_answers") && t["turn_answers"].is_array()) {
      out << "   answers: ";
      for (size_t k = 0; k < t["turn_answers"].size(); ++k) {
        const json& a = t["turn_answers"][k];
        out << (k ? " → " : "") << EscapeControl(a.is_string() ? a.get<std::string>() : a.dump());
      }
    }
    if (t.contains("verdicts") && t["verdicts"].is_array() && !t["verdicts"].empty()) {
      out << "   verdicts: ";
      for (size_t k = 0; k < t["verdicts"].size(); ++k) {
        const json& v = t["verdicts"][k];
        out << (k ? ", " : "") << EscapeControl(v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
    out << "\n";
    if (!t.contains("segments") || !t["segments"].is_array()) {
      out << "   (no segments)\n";
      continue;
    }
    for (const auto& seg : t["segments"]) {
      const std::string kind = Field(seg, "kind");
      const std::string text = seg.contains("text") && seg["text"].is_string() ? seg["text"].get<std::string>() : "";
      if (color) out << kBold << KindColor(kind);
      out << "  [" << EscapeControl(kind) << " · " << EscapeControl(Field(seg, "role")) << " · turn "
          << Field(seg, "turn") << "]";
      if (color) out << kReset;
      out << "\n";
      if (color) out << KindColor(kind);
      std::istringstream lines(EscapeControl(text));
      std::string l;
      bool any = false;
      while (std::getline(lines, l)) {
        out << "    " << l << "\n";
        any = true;
      }
      if (!any) out << "    (empty)\n";
      if (color) out << kReset;
    }
  }
  return out.str();
}

}  // namespace scorch::inspect
