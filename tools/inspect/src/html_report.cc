// The self-contained HTML run report. See html_report.h.
#include "scorch/inspect/html_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>
#include <unistd.h>

#include "scorch/inspect/rollout_view.h"

namespace scorch::inspect {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr double kW = 460, kH = 210;                       // chart size (px)
constexpr double kLeft = 58, kRight = 12, kTop = 26, kBottom = 26;

std::string Fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

const char* kCss = R"CSS(
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1d2330;background:#fafbfc}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 10px;border-bottom:1px solid #dde1e7;padding-bottom:4px}
.meta{color:#5b6475;font-size:13px}
.charts{display:flex;flex-wrap:wrap;gap:12px}
.chart{background:#fff;border:1px solid #dde1e7;border-radius:6px}
.chart text{font-size:11px;fill:#5b6475} .chart .title{font-size:13px;fill:#1d2330;font-weight:600}
.chart .series{fill:none;stroke:#2f6fdf;stroke-width:1.8}
.chart .grid{stroke:#eceff3} .chart .stage{stroke:#b9c0cc;stroke-dasharray:4 3}
table{border-collapse:collapse;font-size:13px;background:#fff}
th,td{border:1px solid #dde1e7;padding:4px 8px;text-align:right} th{background:#f0f2f5}
td.l,th.l{text-align:left} tr.best td{background:#eef8ee}
.bar{display:flex;width:220px;height:12px;border-radius:3px;overflow:hidden;background:#eee}
.bar span{display:block;height:100%}
.warn{background:#fff4e5;border:1px solid #f0c36d;border-radius:6px;padding:8px 14px}
.warn li{margin:3px 0}
details.traj{background:#fff;border:1px solid #dde1e7;border-radius:6px;margin:6px 0;padding:6px 10px}
details.traj summary{cursor:pointer;font-size:13px}
.ok{color:#1a7f37;font-weight:700} .bad{color:#cf222e;font-weight:700}
.seg{border-left:5px solid #999;margin:8px 0;padding:2px 10px;background:#f7f8fa}
.seg .tag{font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.04em}
.seg pre{white-space:pre-wrap;word-break:break-word;margin:4px 0;font-size:12.5px}
.seg-prompt{border-color:#2f6fdf} .seg-prompt .tag{color:#2f6fdf}
.seg-attempt{border-color:#d4a017;background:#fffbea} .seg-attempt .tag{color:#9a7300}
.seg-verify{border-color:#a23fc2;background:#fbf2fe} .seg-verify .tag{color:#a23fc2}
.seg-instruction{border-color:#118a9c} .seg-instruction .tag{color:#118a9c}
.seg-evaluation{border-color:#1a7f37;background:#eefbf1} .seg-evaluation .tag{color:#1a7f37}
.legend span{display:inline-block;margin-right:10px;padding:1px 8px;border-left:5px solid;font-size:12px}
)CSS";

const std::vector<std::pair<std::string, std::string>>& TimeColors() {
  static const std::vector<std::pair<std::string, std::string>> c = {
      {"generate_s", "#2f6fdf"}, {"grade_s", "#d4a017"}, {"train_s", "#1a7f37"},
      {"sync_s", "#a23fc2"}};
  return c;
}

std::string Pct(const json& v) {
  if (!v.is_number()) return "–";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v.get<double>() * 100);
  return buf;
}

std::string SegmentKindClass(const std::string& kind) {
  for (const char* k : {"prompt", "attempt", "verify", "instruction", "evaluation"}) {
    if (kind == k) return std::string("seg-") + k;
  }
  return "seg-other";
}

void RenderTrajectory(const json& t, int64_t step, bool open, const HtmlReportOptions& opt,
                      std::ostringstream& out) {
  auto str = [](const json& j, const char* k) {
    auto it = j.find(k);
    if (it == j.end() || it->is_null()) return std::string("?");
    return it->is_string() ? it->get<std::string>() : it->dump();
  };
  out << "<details class=\"traj\"" << (open ? " open" : "") << "><summary>step " << step
      << " · prompt <b>" << HtmlEscape(str(t, "prompt_id")) << "</b> · sample "
      << HtmlEscape(str(t, "sample_idx")) << " · policy v" << HtmlEscape(str(t, "policy_version"));
  if (t.contains("reward") && t["reward"].is_number()) {
    out << " · reward " << HtmlEscape(FormatNumber(t["reward"].get<double>()));
  }
  if (t.contains("correct") && t["correct"].is_array()) {
    out << " · turns ";
    for (const auto& c : t["correct"]) {
      bool ok = c.is_boolean() && c.get<bool>();
      out << (ok ? "<span class=\"ok\">✓</span>" : "<span class=\"bad\">✗</span>");
    }
  }
  out << "</summary>\n<div class=\"meta\">gold: <code>" << HtmlEscape(str(t, "gold")) << "</code>";
  if (t.contains("turn_answers") && t["turn_answers"].is_array()) {
    out << " · answers: ";
    for (size_t k = 0; k < t["turn_answers"].size(); ++k) {
      const json& a = t["turn_answers"][k];
      out << (k ? " → " : "") << "<code>" << HtmlEscape(a.is_string() ? a.get<std::string>() : a.dump())
          << "</code>";
    }
  }
  if (t.contains("verdicts") && t["verdicts"].is_array()) {
    out << " · verdicts: ";
    for (size_t k = 0; k < t["verdicts"].size(); ++k) {
      const json& v = t["verdicts"][k];
      out << (k ? ", " : "") << HtmlEscape(v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  out << "</div>\n";
  if (t.contains("segments") && t["segments"].is_array()) {
    for (const auto& seg : t["segments"]) {
      const std::string kind = str(seg, "kind");
      std::string text = seg.contains("text") && seg["text"].is_string() ? seg["text"].get<std::string>() : "";
      bool cut = false;
      if (text.size() > opt.max_segment_chars) {
        size_t n = opt.max_segment_chars;
        while (n > 0 && (static_cast<unsigned char>(text[n]) & 0xC0) == 0x80) --n;  // UTF-8 boundary
        text.resize(n);
        cut = true;
      }
      out << "<div class=\"seg " << SegmentKindClass(kind) << "\"><span class=\"tag\">"
          << HtmlEscape(kind) << " · " << HtmlEscape(str(seg, "role")) << " · turn "
          << HtmlEscape(str(seg, "turn")) << "</span><pre>" << HtmlEscape(text)
          << (cut ? "\n[… cut]" : "") << "</pre></div>\n";
    }
  }
  out << "</details>\n";
}

}  // namespace

std::string HtmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

namespace {
// Why a chart can be empty, where the reason is known.
std::string NoDataNote(const std::string& key) {
  // The learner measures KL against the frozen reference, which a stage only keeps when it
  // trains with a KL penalty.
  if (key.rfind("kl/", 0) == 0) return "not measured: no stage trained with kl_beta > 0";
  return "no data";
}
}  // namespace

std::string RenderChartSvg(const std::vector<json>& metrics, const std::string& key) {
  struct Pt {
    double x, y;
    bool break_before;
  };
  std::vector<Pt> pts;
  std::vector<std::pair<double, std::string>> stage_starts;
  std::string prev_stage;
  bool gap = true;
  double x0 = INFINITY, x1 = -INFINITY;
  for (const auto& r : metrics) {
    if (!r.is_object() || !r.contains("step") || !r["step"].is_number()) continue;
    x0 = std::min(x0, r["step"].get<double>());
    x1 = std::max(x1, r["step"].get<double>());
    const std::string stage = r.contains("stage") && r["stage"].is_string() ? r["stage"].get<std::string>() : "";
    const bool new_stage = stage != prev_stage;
    if (new_stage) stage_starts.emplace_back(r["step"].get<double>(), stage);
    prev_stage = stage;
    auto it = r.find(key);
    if (it == r.end() || !it->is_number() || !std::isfinite(it->get<double>())) {
      gap = true;  // a stage without the key leaves a gap in the line
      continue;
    }
    pts.push_back({r["step"].get<double>(), it->get<double>(), gap || new_stage});
    gap = false;
  }
  std::ostringstream svg;
  svg << "<svg class=\"chart\" width=\"" << kW << "\" height=\""
      << kH << "\" viewBox=\"0 0 " << kW << " " << kH << "\" role=\"img\" aria-label=\""
      << HtmlEscape(key) << "\">";
  svg << "<text class=\"title\" x=\"" << kLeft << "\" y=\"16\">" << HtmlEscape(key) << "</text>";
  const double pw = kW - kLeft - kRight, ph = kH - kTop - kBottom;
  if (pts.empty()) {
    svg << "<text x=\"" << kW / 2 << "\" y=\"" << kH / 2 << "\" text-anchor=\"middle\">" << HtmlEscape(NoDataNote(key)) << "</text></svg>";
    return svg.str();
  }
  double y0 = pts[0].y, y1 = pts[0].y;
  for (const auto& p : pts) {
    y0 = std::min(y0, p.y);
    y1 = std::max(y1, p.y);
  }
  if (y1 - y0 < 1e-12) {
    double pad = std::max(std::fabs(y0) * 0.1, 1e-3);
    y0 -= pad;
    y1 += pad;
  } else {
    double pad = (y1 - y0) * 0.05;
    y0 -= pad;
    y1 += pad;
  }
  if (x1 <= x0) x1 = x0 + 1;
  auto X = [&](double x) { return kLeft + (x - x0) / (x1 - x0) * pw; };
  auto Y = [&](double y) { return kTop + (1 - (y - y0) / (y1 - y0)) * ph; };
  // Grid and axis labels: 5 horizontal lines.
  for (int i = 0; i <= 4; ++i) {
    double v = y0 + (y1 - y0) * i / 4;
    svg << "<line class=\"grid\" x1=\"" << kLeft << "\" x2=\"" << kW - kRight << "\" y1=\"" << Fmt(Y(v))
        << "\" y2=\"" << Fmt(Y(v)) << "\"/><text x=\"" << kLeft - 4 << "\" y=\"" << Fmt(Y(v) + 4)
        << "\" text-anchor=\"end\">" << HtmlEscape(FormatNumber(v)) << "</text>";
  }
  svg << "<text x=\"" << kLeft << "\" y=\"" << kH - 8 << "\">step " << FormatNumber(x0)
      << "</text><text x=\"" << kW - kRight << "\" y=\"" << kH - 8 << "\" text-anchor=\"end\">"
      << FormatNumber(x1) << "</text>";
  for (size_t i = 1; i < stage_starts.size(); ++i) {
    double sx = X(stage_starts[i].first);
    svg << "<line class=\"stage\" x1=\"" << Fmt(sx) << "\" x2=\"" << Fmt(sx) << "\" y1=\"" << kTop
        << "\" y2=\"" << kTop + ph << "\"><title>" << HtmlEscape(stage_starts[i].second)
        << "</title></line>";
  }
  std::string d;
  for (size_t i = 0; i < pts.size(); ++i) {
    const bool move = pts[i].break_before || i == 0;
    d += (move ? "M" : "L") + Fmt(X(pts[i].x)) + " " + Fmt(Y(pts[i].y)) + " ";
    // A lone point would draw nothing: give it a tiny horizontal segment.
    if (move && (i + 1 == pts.size() || pts[i + 1].break_before)) d += "h1 ";
  }
  svg << "<path class=\"series\" d=\"" << d << "\"/>";
  const Pt& last = pts.back();
  svg << "<circle cx=\"" << Fmt(X(last.x)) << "\" cy=\"" << Fmt(Y(last.y))
      << "\" r=\"3\" fill=\"#2f6fdf\"><title>step " << FormatNumber(last.x) << ": "
      << FormatNumber(last.y) << "</title></circle>";
  svg << "<text x=\"" << kW - kRight << "\" y=\"16\" text-anchor=\"end\">last "
      << HtmlEscape(FormatNumber(last.y)) << "</text></svg>";
  return svg.str();
}

std::string RenderHtmlReport(const RunData& run, const json& s, const HtmlReportOptions& opt) {
  std::ostringstream out;
  const std::string name = run.root.filename().empty() ? run.root.parent_path().filename().string()
                                                       : run.root.filename().string();
  out << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
      << "<title>scorch run " << HtmlEscape(name) << "</title><style>" << kCss
      << "</style></head><body>\n";
  out << "<h1>scorch run " << HtmlEscape(name) << "</h1><div class=\"meta\">" << HtmlEscape(run.root.string());
  if (s["run_info"].is_object()) {
    for (const char* k : {"version", "git_hash", "host", "start_time"}) {
      if (s["run_info"].contains(k)) {
        const json& v = s["run_info"][k];
        out << " · " << k << " " << HtmlEscape(v.is_string() ? v.get<std::string>() : v.dump());
      }
    }
  }
  out << "<br>";
  if (s.value("records", 0) > 0) {
    out << "steps " << s["first_step"].dump() << "–" << s["last_step"].dump() << " ("
        << s["records"].dump() << " records)";
    if (s.contains("wall_s")) out << " · wall " << HumanDuration(s["wall_s"].get<double>());
  } else {
    out << "no metrics recorded yet";
  }
  out << "</div>\n";

  if (!s["warnings"].empty()) {
    out << "<h2>Warnings</h2><ul class=\"warn\">";
    for (const auto& w : s["warnings"]) out << "<li>" << HtmlEscape(w.get<std::string>()) << "</li>";
    out << "</ul>\n";
  }

  out << "<h2>Curves</h2><div class=\"charts\">\n";
  for (const auto& key : KeyMetrics()) out << RenderChartSvg(run.metrics, key) << "\n";
  out << "</div>\n";

  if (!s["stages"].empty()) {
    out << "<h2>Stages</h2><table><tr><th>#</th><th class=\"l\">stage</th><th class=\"l\">kind</th>"
        << "<th>steps</th><th>global steps</th><th>wall</th><th class=\"l\">time split "
        << "(<span style=\"color:#2f6fdf\">generate</span> <span style=\"color:#9a7300\">grade</span> "
        << "<span style=\"color:#1a7f37\">train</span> <span style=\"color:#a23fc2\">sync</span>)</th>"
        << "<th>tokens/s</th></tr>\n";
    int i = 0;
    for (const auto& st : s["stages"]) {
      const json& t = st["time_s"];
      double total = 0;
      for (const auto& [k, c] : TimeColors()) total += t.value(k, 0.0);
      out << "<tr><td>" << ++i << "</td><td class=\"l\">" << HtmlEscape(st["name"].get<std::string>())
          << "</td><td class=\"l\">" << HtmlEscape(st["kind"].get<std::string>()) << "</td><td>"
          << st["steps"].dump() << "</td><td>" << st["first_step"].dump() << "–" << st["last_step"].dump()
          << "</td><td>" << HumanDuration(st["wall_s"].get<double>()) << "</td><td class=\"l\">";
      if (total > 0) {
        out << "<div class=\"bar\">";
        for (const auto& [k, c] : TimeColors()) {
          double v = t.value(k, 0.0);
          if (v <= 0) continue;
          out << "<span style=\"width:" << Fmt(v / total * 100) << "%;background:" << c
              << "\" title=\"" << k << " " << Fmt(v) << " s\"></span>";
        }
        out << "</div>";
      } else {
        out << "–";
      }
      out << "</td><td>"
          << (st.contains("throughput_tokens_per_s") ? FormatNumber(st["throughput_tokens_per_s"].get<double>()) : "–")
          << "</td></tr>\n";
    }
    out << "</table>\n";
  }

  out << "<h2>Evaluation</h2>";
  if (s["evals"].empty()) {
    out << "<p class=\"meta\">no eval results yet</p>\n";
  } else {
    const std::string best = s["best_eval"].is_object() ? s["best_eval"].value("file", "") : "";
    out << "<table><tr><th class=\"l\">stage</th><th>step</th><th>n</th><th>turn1 %</th><th>final %</th>"
        << "<th>Δ</th><th>Δi→c</th><th>Δc→i</th><th>RM(a)</th><th>RM(b)</th><th>p(c→i)</th>"
        << "<th class=\"l\"></th></tr>\n";
    for (const auto& e : s["evals"]) {
      const bool is_best = e["file"] == best;
      out << "<tr" << (is_best ? " class=\"best\"" : "") << "><td class=\"l\">"
          << HtmlEscape(e["stage"].is_string() ? e["stage"].get<std::string>() : e["stage"].dump())
          << "</td><td>" << (e.contains("step") ? e["step"].dump() : "–") << "</td><td>"
          << (e.contains("n") ? e["n"].dump() : "–") << "</td>";
      for (const char* k : {"turn1", "final", "delta", "delta_i2c", "delta_c2i", "rm_acc_correct",
                            "rm_acc_wrong", "p_c2i"}) {
        out << "<td>" << Pct(e.value(k, json(nullptr))) << "</td>";
      }
      out << "<td class=\"l\">" << (is_best ? "best" : "") << "</td></tr>\n";
    }
    out << "</table>\n";
  }

  out << "<h2>Checkpoints</h2>";
  if (s["checkpoints"].empty()) {
    out << "<p class=\"meta\">none</p>\n";
  } else {
    out << "<table><tr><th class=\"l\">folder</th><th>step</th><th>size</th><th>files</th><th></th></tr>";
    for (const auto& c : s["checkpoints"]) {
      out << "<tr><td class=\"l\">" << HtmlEscape(c["name"].get<std::string>()) << "</td><td>"
          << c["step"].dump() << "</td><td>" << HumanBytes(c["bytes"].get<uint64_t>()) << "</td><td>"
          << c["files"].dump() << "</td><td>" << (c["latest"].get<bool>() ? "latest" : "") << "</td></tr>";
    }
    out << "</table>\n";
  }

  out << "<h2>Trajectories</h2><div class=\"legend\">"
      << "<span class=\"seg-prompt\" style=\"border-color:#2f6fdf\">prompt</span>"
      << "<span style=\"border-color:#d4a017\">attempt</span>"
      << "<span style=\"border-color:#a23fc2\">verify</span>"
      << "<span style=\"border-color:#118a9c\">instruction</span>"
      << "<span style=\"border-color:#1a7f37\">evaluation</span></div>\n";
  const auto& steps = run.rollout_steps;
  if (steps.empty() || opt.rollout_files == 0) {
    out << "<p class=\"meta\">no sampled trajectories</p>\n";
  } else {
    std::set<size_t> picks;
    const size_t k = std::min(opt.rollout_files, steps.size());
    for (size_t i = 0; i < k; ++i) picks.insert(k == 1 ? steps.size() - 1 : i * (steps.size() - 1) / (k - 1));
    bool first = true;
    for (size_t idx : picks) {
      auto file = LoadRollouts(run.root, steps[idx]);
      if (!file.ok()) {
        out << "<p class=\"meta\">" << HtmlEscape(file.status().message()) << "</p>";
        continue;
      }
      out << "<h3>step " << steps[idx] << " <span class=\"meta\">(" << file->trajectories.size()
          << " trajectories";
      if (file->trajectories.size() > opt.trajectories_per_file) {
        out << ", first " << opt.trajectories_per_file << " shown";
      }
      out << ")</span></h3>\n";
      for (size_t i = 0; i < file->trajectories.size() && i < opt.trajectories_per_file; ++i) {
        RenderTrajectory(file->trajectories[i], steps[idx], first, opt, out);
        first = false;
      }
    }
  }
  out << "<p class=\"meta\">written by scorch inspect --html</p></body></html>\n";
  return out.str();
}

Status WriteHtmlReport(const RunData& run, const fs::path& path, const HtmlReportOptions& options) {
  const std::string html = RenderHtmlReport(run, SummarizeRun(run), options);
  const fs::path tmp = path.string() + ".tmp-" + std::to_string(::getpid());
  {
    std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
    if (!f) return Status::IoError("cannot write " + tmp.string());
    f << html;
    f.close();
    if (!f) return Status::IoError("write failed for " + tmp.string());
  }
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) {
    fs::remove(tmp, ec);
    return Status::IoError("cannot rename report into " + path.string());
  }
  return Status::Ok();
}

}  // namespace scorch::inspect
