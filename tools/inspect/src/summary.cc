// SummarizeRun and its terminal renderings. See run_report.h.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <map>
#include <sstream>

#include "scorch/inspect/run_report.h"

namespace scorch::inspect {
namespace {

using nlohmann::json;

// Sums of these counters above zero are reported as warnings.
struct CounterWarning {
  const char* key;
  const char* meaning;
};
constexpr CounterWarning kCounterWarnings[] = {
    {"grader/errors", "the grader answered \"error\" (counted as wrong)"},
    {"verify/format_errors", "verdicts the model gave in an unparsable format"},
};

// Eval columns in display order: key, header.
const std::vector<std::pair<std::string, std::string>>& EvalColumns() {
  static const std::vector<std::pair<std::string, std::string>> cols = {
      {"turn1", "turn1"},         {"final", "final"},          {"delta", "Δ"},
      {"delta_i2c", "Δi→c"},      {"delta_c2i", "Δc→i"},       {"rm_acc_correct", "RM(a)"},
      {"rm_acc_wrong", "RM(b)"},  {"p_c2i", "p(c→i)"}};
  return cols;
}

double Num(const json& j, const std::string& key, double fallback = NAN) {
  auto it = j.find(key);
  return (it != j.end() && it->is_number()) ? it->get<double>() : fallback;
}

std::string Str(const json& j, const std::string& key, const std::string& fallback = "") {
  auto it = j.find(key);
  return (it != j.end() && it->is_string()) ? it->get<std::string>() : fallback;
}

std::string Pad(std::string s, size_t width) {
  // Width in code points, so "Δ" counts as one column.
  size_t cps = 0;
  for (unsigned char c : s) cps += (c & 0xC0) != 0x80;
  if (cps < width) s.append(width - cps, ' ');
  return s;
}

std::string Percent(const json& v) {
  if (!v.is_number()) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v.get<double>() * 100);
  return buf;
}

// Renders rows of cells as aligned columns (first row = header).
std::string Table(const std::vector<std::vector<std::string>>& rows, const std::string& indent) {
  std::vector<size_t> widths;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      size_t cps = 0;
      for (unsigned char c : r[i]) cps += (c & 0xC0) != 0x80;
      if (widths.size() <= i) widths.push_back(0);
      widths[i] = std::max(widths[i], cps);
    }
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line = indent;
    for (size_t i = 0; i < r.size(); ++i) line += Pad(r[i], widths[i] + 2);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

json StageSummaries(const std::vector<json>& metrics) {
  json stages = json::array();
  for (const auto& rec : metrics) {
    const std::string name = Str(rec, "stage", "?");
    if (stages.empty() || stages.back()["name"] != name) {
      stages.push_back({{"name", name},
                        {"kind", Str(rec, "stage_kind", "?")},
                        {"first_step", rec["step"]},
                        {"steps", 0},
                        {"time_s", json::object()},
                        {"first_time", Num(rec, "time", 0)}});
    }
    json& s = stages.back();
    s["last_step"] = rec["step"];
    s["steps"] = s["steps"].get<int64_t>() + 1;
    if (rec.contains("stage_step") && rec["stage_step"].is_number_integer()) {
      s["last_stage_step"] = rec["stage_step"];
    }
    s["last_time"] = Num(rec, "time", 0);
    for (const auto& [key, value] : rec.items()) {
      if (key.rfind("time/", 0) == 0 && value.is_number()) {
        const std::string part = key.substr(5);
        s["time_s"][part] = s["time_s"].value(part, 0.0) + value.get<double>();
      }
    }
    double tps = Num(rec, "throughput/tokens_per_s");
    if (std::isfinite(tps)) {
      s["tps_sum"] = s.value("tps_sum", 0.0) + tps;
      s["tps_n"] = s.value("tps_n", 0) + 1;
    }
    json last = json::object();
    for (const auto& [key, value] : rec.items()) {
      if (value.is_number() && key != "step" && key != "time" && key != "stage_step") last[key] = value;
    }
    s["last"] = last;
  }
  for (auto& s : stages) {
    s["wall_s"] = s["last_time"].get<double>() - s["first_time"].get<double>();
    // Prefer the measured step time when the loop reports it: the span misses the first step.
    if (s["time_s"].contains("step_s")) s["wall_s"] = s["time_s"]["step_s"];
    if (s.contains("tps_n")) {
      s["throughput_tokens_per_s"] = s["tps_sum"].get<double>() / s["tps_n"].get<double>();
      s.erase("tps_sum");
      s.erase("tps_n");
    }
    s.erase("first_time");
    s.erase("last_time");
  }
  return stages;
}

}  // namespace

const std::vector<std::string>& KeyMetrics() {
  static const std::vector<std::string> keys = {
      "reward/mean", "acc/turn1",       "acc/final",        "delta/t1_t2",
      "kl/k3",       "entropy",         "response/length",  "staleness/mean",
      "throughput/tokens_per_s"};
  return keys;
}

std::string HumanBytes(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

std::string HumanDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "-";
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof buf, "%.1fs", s);
  } else if (s < 3600) {
    std::snprintf(buf, sizeof buf, "%dm%02ds", static_cast<int>(s) / 60, static_cast<int>(s) % 60);
  } else {
    std::snprintf(buf, sizeof buf, "%dh%02dm", static_cast<int>(s) / 3600,
                  (static_cast<int>(s) % 3600) / 60);
  }
  return buf;
}

std::string FormatNumber(double v) {
  if (!std::isfinite(v)) return std::isnan(v) ? "nan" : (v > 0 ? "inf" : "-inf");
  char buf[32];
  double a = std::fabs(v);
  if (a != 0 && (a >= 1e6 || a < 1e-3)) {
    std::snprintf(buf, sizeof buf, "%.3g", v);
  } else if (a >= 1000) {
    std::snprintf(buf, sizeof buf, "%.0f", v);
  } else {
    std::snprintf(buf, sizeof buf, "%.4g", v);
  }
  return buf;
}

json SummarizeRun(const RunData& run) {
  json s;
  s["run"] = run.root.string();
  s["run_info"] = run.run_info;
  const auto& m = run.metrics;
  s["records"] = m.size();
  if (!m.empty()) {
    s["first_step"] = m.front()["step"];
    s["last_step"] = m.back()["step"];
    double t0 = Num(m.front(), "time"), t1 = Num(m.back(), "time");
    if (std::isfinite(t0) && std::isfinite(t1)) {
      s["wall_s"] = t1 - t0;
      s["last_time"] = t1;
      if (t1 > t0) s["steps_per_hour"] = static_cast<double>(m.size()) / (t1 - t0) * 3600;
    }
  }
  s["stages"] = StageSummaries(m);
  json last = json::object();
  if (!m.empty()) {
    last = m.back();
    for (auto it = last.begin(); it != last.end();) {
      it = it.value().is_number() ? std::next(it) : last.erase(it);
    }
  }
  s["last_metrics"] = last;

  json evals = json::array();
  int best = -1;
  for (size_t i = 0; i < run.evals.size(); ++i) {
    json e = run.evals[i].data;
    e["file"] = run.evals[i].file;
    if (!e.contains("stage")) e["stage"] = run.evals[i].file;
    if (Num(e, "final") >= (best < 0 ? -INFINITY : Num(evals[best], "final"))) best = static_cast<int>(i);
    evals.push_back(std::move(e));
  }
  s["evals"] = evals;
  s["best_eval"] = best >= 0 ? evals[best] : json(nullptr);
  s["last_eval"] = evals.empty() ? json(nullptr) : evals.back();

  json ckpts = json::array();
  uint64_t total = 0;
  for (const auto& c : run.checkpoints) {
    ckpts.push_back({{"name", c.name}, {"step", c.step}, {"bytes", c.bytes},
                     {"files", c.files}, {"latest", c.latest}});
    total += c.bytes;
  }
  s["checkpoints"] = ckpts;
  s["checkpoint_bytes"] = total;
  s["rollout_steps"] = run.rollout_steps;

  json warnings = run.warnings;
  for (const auto& cw : kCounterWarnings) {
    double sum = 0;
    int64_t steps = 0, first = -1;
    for (const auto& r : m) {
      double v = Num(r, cw.key, 0);
      if (v > 0) {
        sum += v;
        ++steps;
        if (first < 0) first = r["step"].get<int64_t>();
      }
    }
    if (sum > 0) {
      warnings.push_back(std::string(cw.key) + " > 0: " + FormatNumber(sum) + " in total over " +
                         std::to_string(steps) + " step(s), first at step " +
                         std::to_string(first) + " — " + cw.meaning);
    }
  }
  for (const auto& e : evals) {
    if (Num(e, "grader_errors", 0) > 0) {
      warnings.push_back("eval " + e["file"].get<std::string>() + ": " +
                         FormatNumber(Num(e, "grader_errors")) + " grader error(s)");
    }
    if (Num(e, "verdict_missing", 0) > 0) {
      warnings.push_back("eval " + e["file"].get<std::string>() + ": " +
                         FormatNumber(Num(e, "verdict_missing")) +
                         " trajectory(ies) without a parsable verdict");
    }
  }
  for (const auto& r : m) {
    for (const auto& [key, value] : r.items()) {
      if (value.is_null()) {
        warnings.push_back("step " + r["step"].dump() + ": " + key +
                           " is null (NaN or infinity when written?)");
      }
    }
  }
  s["warnings"] = warnings;
  return s;
}

std::string FormatSummary(const json& s) {
  std::ostringstream out;
  out << "run: " << s.value("run", "?");
  const json& info = s["run_info"];
  if (info.is_object()) {
    out << "  (";
    bool first = true;
    for (const char* k : {"version", "git_hash", "host", "start_time"}) {
      if (info.contains(k) && !info[k].is_null()) {
        out << (first ? "" : ", ") << k << " " << (info[k].is_string() ? info[k].get<std::string>() : info[k].dump());
        first = false;
      }
    }
    out << ")";
  }
  out << "\n";
  if (s.value("records", 0) == 0) {
    out << "steps: none recorded yet\n";
  } else {
    out << "steps: " << s["first_step"].dump() << ".." << s["last_step"].dump() << " ("
        << s["records"].dump() << " records)";
    if (s.contains("wall_s")) {
      double w = s["wall_s"].get<double>();
      out << ", wall " << HumanDuration(w);
      if (w > 0) out << ", " << FormatNumber(s["records"].get<double>() / w * 3600) << " steps/h";
    }
    out << "\n";
  }

  if (!s["stages"].empty()) {
    out << "\nstages:\n";
    std::vector<std::vector<std::string>> rows = {
        {"#", "stage", "kind", "steps", "global", "wall", "time split", "tokens/s"}};
    int i = 0;
    for (const auto& st : s["stages"]) {
      std::string split;
      const json& t = st["time_s"];
      double total = 0;
      for (const auto& [k, v] : t.items()) {
        if (k != "step_s") total += v.get<double>();
      }
      for (const auto& [k, v] : t.items()) {
        if (k == "step_s" || total <= 0) continue;
        char buf[64];
        std::snprintf(buf, sizeof buf, "%s%s %.0f%%", split.empty() ? "" : " ",
                      k.substr(0, k.size() - (k.size() > 2 && k.substr(k.size() - 2) == "_s" ? 2 : 0)).c_str(),
                      v.get<double>() / total * 100);
        split += buf;
      }
      rows.push_back({std::to_string(++i), st["name"].get<std::string>(), st["kind"].get<std::string>(),
                      st["steps"].dump(), st["first_step"].dump() + "-" + st["last_step"].dump(),
                      HumanDuration(st["wall_s"].get<double>()), split.empty() ? "-" : split,
                      st.contains("throughput_tokens_per_s")
                          ? FormatNumber(st["throughput_tokens_per_s"].get<double>())
                          : "-"});
    }
    out << Table(rows, "  ");
  }

  if (!s["evals"].empty()) {
    out << "\neval (percent):\n";
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> header = {"", "stage", "step", "n"};
    for (const auto& [k, h] : EvalColumns()) header.push_back(h);
    rows.push_back(header);
    const std::string best_file = s["best_eval"].is_object() ? s["best_eval"].value("file", "") : "";
    const std::string last_file = s["last_eval"].is_object() ? s["last_eval"].value("file", "") : "";
    for (const auto& e : s["evals"]) {
      std::string mark;
      if (e["file"] == best_file) mark += "best";
      if (e["file"] == last_file) mark += mark.empty() ? "last" : ",last";
      std::vector<std::string> row = {mark, e["stage"].is_string() ? e["stage"].get<std::string>() : e["stage"].dump(),
                                      e.contains("step") ? e["step"].dump() : "-",
                                      e.contains("n") ? e["n"].dump() : "-"};
      for (const auto& [k, h] : EvalColumns()) row.push_back(Percent(e.value(k, json(nullptr))));
      rows.push_back(row);
    }
    out << Table(rows, "  ");
  }

  const json& last = s["last_metrics"];
  if (!last.empty()) {
    out << "\nlast metrics (step " << s["last_step"].dump() << "):\n";
    std::vector<std::vector<std::string>> rows;
    std::vector<std::string> row;
    for (const auto& [k, v] : last.items()) {
      if (k == "step" || k == "time" || k == "stage_step") continue;
      row.push_back(k + " " + FormatNumber(v.get<double>()));
      if (row.size() == 4) {
        rows.push_back(row);
        row.clear();
      }
    }
    if (!row.empty()) rows.push_back(row);
    out << Table(rows, "  ");
  }

  out << "\ncheckpoints: ";
  if (s["checkpoints"].empty()) {
    out << "none\n";
  } else {
    out << s["checkpoints"].size() << " (" << HumanBytes(s["checkpoint_bytes"].get<uint64_t>())
        << ")\n";
    std::vector<std::vector<std::string>> rows;
    for (const auto& c : s["checkpoints"]) {
      rows.push_back({c["name"].get<std::string>(), "step " + c["step"].dump(),
                      HumanBytes(c["bytes"].get<uint64_t>()), c["files"].dump() + " files",
                      c["latest"].get<bool>() ? "(latest)" : ""});
    }
    out << Table(rows, "  ");
  }
  const json& rs = s["rollout_steps"];
  out << "rollouts: ";
  if (rs.empty()) {
    out << "none\n";
  } else {
    out << rs.size() << " step(s): ";
    for (size_t i = 0; i < rs.size(); ++i) {
      if (rs.size() > 12 && i == 6) {
        out << "..., ";
        i = rs.size() - 6;
      }
      out << rs[i].dump() << (i + 1 < rs.size() ? ", " : "");
    }
    out << "  (scorch inspect RUN --rollouts STEP)\n";
  }
  if (!s["warnings"].empty()) {
    out << "\nwarnings:\n";
    for (const auto& w : s["warnings"]) out << "  ! " << w.get<std::string>() << "\n";
  }
  return out.str();
}

std::string FormatComparison(const json& a, const json& b) {
  std::vector<std::vector<std::string>> rows = {{"", "A", "B", "B-A"}};
  auto add = [&](const std::string& label, double va, double vb, bool pct = false) {
    auto f = [&](double v) {
      if (!std::isfinite(v)) return std::string("-");
      return pct ? Percent(json(v)) : FormatNumber(v);
    };
    rows.push_back({label, f(va), f(vb), f(vb - va)});
  };
  add("steps", Num(a, "last_step"), Num(b, "last_step"));
  add("stages", static_cast<double>(a["stages"].size()), static_cast<double>(b["stages"].size()));
  add("wall hours", Num(a, "wall_s") / 3600, Num(b, "wall_s") / 3600);
  for (const auto& k : KeyMetrics()) add(k + " (last)", Num(a["last_metrics"], k), Num(b["last_metrics"], k));
  add("loss (last)", Num(a["last_metrics"], "loss"), Num(b["last_metrics"], "loss"));
  for (const char* which : {"best_eval", "last_eval"}) {
    const json& ea = a[which];
    const json& eb = b[which];
    if (!ea.is_object() && !eb.is_object()) continue;
    for (const char* k : {"turn1", "final", "delta", "delta_i2c", "delta_c2i"}) {
      add(std::string(which) + " " + k + " %", ea.is_object() ? Num(ea, k) : NAN,
          eb.is_object() ? Num(eb, k) : NAN, true);
    }
  }
  add("checkpoints", static_cast<double>(a["checkpoints"].size()),
      static_cast<double>(b["checkpoints"].size()));
  add("warnings", static_cast<double>(a["warnings"].size()), static_cast<double>(b["warnings"].size()));
  std::ostringstream out;
  out << "A: " << a.value("run", "?") << "\nB: " << b.value("run", "?") << "\n\n" << Table(rows, "  ");
  return out.str();
}

}  // namespace scorch::inspect
