// `scorch grade`: grade one answer pair, or a JSONL file of labelled cases (agreement report).
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "commands.h"
#include "scorch/reward/grader.h"

namespace scorch::app {
namespace {

struct GradeArgs {
  std::string gold, pred, cases;
  bool full_response = false;
  bool json = false;
  bool strict = false;
  int deadline_ms = 100;
};

reward::GraderOptions CaseOptions(const GradeArgs& a, const nlohmann::json& c) {
  reward::GraderOptions opt;
  opt.strict = a.strict;
  opt.deadline_ms = a.deadline_ms;
  if (!c.contains("config") || !c["config"].is_object()) return opt;
  const auto& cfg = c["config"];
  if (cfg.contains("float_rounding") && cfg["float_rounding"].is_number_integer()) {
    opt.float_rounding = cfg["float_rounding"].get<int>();
  }
  if (cfg.contains("allow_set_relation_comp") && cfg["allow_set_relation_comp"].is_boolean()) {
    opt.allow_set_relation_comp = cfg["allow_set_relation_comp"].get<bool>();
  }
  if (cfg.contains("match_types") && cfg["match_types"].is_array()) {
    bool expr = false;
    for (const auto& m : cfg["match_types"]) expr |= m.is_string() && m.get<std::string>() == "expr";
    opt.fallback_last_number = expr;
  }
  return opt;
}

std::string Feature(const nlohmann::json& c) {
  std::string note = c.value("note", "");
  size_t at = note.find("test=");
  if (at != std::string::npos) {
    std::string f = note.substr(at + 5);
    return f.substr(0, f.find(';'));
  }
  return c.value("pred_format", "unknown");
}

void RunCases(const GradeArgs& a) {
  std::ifstream in(a.cases);
  if (!in) {
    std::fprintf(stderr, "scorch grade: cannot open %s\n", a.cases.c_str());
    throw CommandExit{2};
  }
  std::map<std::string, std::pair<int, int>> by_source, by_feature;
  std::vector<std::string> disagreements;
  int agree = 0, total = 0, labelled = 0, line_no = 0;
  std::string line;
  while (std::getline(in, line)) {
    ++line_no;
    if (line.empty()) continue;
    nlohmann::json c;
    try {
      c = nlohmann::json::parse(line);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "scorch grade: %s:%d: malformed JSON: %s\n", a.cases.c_str(), line_no, e.what());
      throw CommandExit{2};
    }
    if (!c.contains("gold") || !c.contains("pred") || !c["gold"].is_string() || !c["pred"].is_string()) {
      std::fprintf(stderr, "scorch grade: %s:%d: a case needs string fields gold and pred\n", a.cases.c_str(), line_no);
      throw CommandExit{2};
    }
    reward::GradeRequest req;
    req.gold = c["gold"].get<std::string>();
    req.pred = c["pred"].get<std::string>();
    req.pred_is_full_response = c.value("pred_is_full_response", a.full_response);
    req.gold_is_full_response = c.value("gold_is_full_response", false);
    reward::Grader grader(CaseOptions(a, c));
    reward::Verdict v = grader.Grade(req);
    std::string id = c.contains("id") ? c["id"].dump() : std::to_string(line_no);
    if (a.json) {
      nlohmann::json out = {{"id", c.contains("id") ? c["id"] : nlohmann::json(line_no)},
                            {"verdict", reward::OutcomeName(v.outcome)},
                            {"reason", v.reason},
                            {"micros", v.micros}};
      std::printf("%s\n", out.dump().c_str());
    }
    ++total;
    if (!c.contains("equal") || !c["equal"].is_boolean()) continue;
    ++labelled;
    bool ok = v.correct() == c["equal"].get<bool>();
    std::string source = c.value("source", "unknown");
    source = source.substr(0, source.find(':'));
    auto& s = by_source[source];
    auto& f = by_feature[Feature(c)];
    s.second++;
    f.second++;
    if (ok) {
      ++agree;
      s.first++;
      f.first++;
    } else {
      disagreements.push_back("  id " + id + ": label " + (c["equal"].get<bool>() ? "equal" : "different") +
                              ", scorch " + reward::OutcomeName(v.outcome) + "/" + v.reason + "  gold=[" +
                              v.gold_answer.substr(0, 60) + "] pred=[" + v.pred_answer.substr(0, 60) + "]");
    }
  }
  if (a.json) return;
  std::printf("graded %d cases, %d labelled\n\nagreement by source:\n", total, labelled);
  for (const auto& [k, v] : by_source) std::printf("  %-40s %4d / %4d\n", k.c_str(), v.first, v.second);
  std::printf("\nagreement by feature:\n");
  for (const auto& [k, v] : by_feature) std::printf("  %-40s %4d / %4d\n", k.c_str(), v.first, v.second);
  std::printf("\ndisagreements (%zu):\n", disagreements.size());
  for (const auto& d : disagreements) std::printf("%s\n", d.c_str());
  std::printf("\noverall: %d / %d agree\n", agree, labelled);
}

}  // namespace

void RegisterGradeCommand(CLI::App& app) {
  auto args = std::make_shared<GradeArgs>();
  auto* cmd = app.add_subcommand("grade", "Grade a math answer against a gold answer (ALGORITHMS §9)");
  cmd->add_option("--gold", args->gold, "Gold answer (LaTeX)");
  cmd->add_option("--pred", args->pred, "Predicted answer, or a whole response with --full-response");
  cmd->add_flag("--full-response", args->full_response, "Extract the answer from --pred first");
  cmd->add_option("--cases", args->cases, "JSONL file of cases {id, gold, pred, equal?, pred_is_full_response?}");
  cmd->add_flag("--json", args->json, "With --cases: one JSON line per case {id, verdict, reason, micros}");
  cmd->add_flag("--strict", args->strict, "Boxed answers only (no fallbacks)");
  cmd->add_option("--deadline-ms", args->deadline_ms, "Deadline per case in milliseconds")->check(CLI::PositiveNumber);
  cmd->callback([args] {
    if (!args->cases.empty()) {
      RunCases(*args);
      return;
    }
    if (args->gold.empty() || args->pred.empty()) {
      std::fprintf(stderr, "scorch grade: give --gold and --pred, or --cases FILE.jsonl\n");
      throw CommandExit{2};
    }
    reward::GraderOptions opt;
    opt.strict = args->strict;
    opt.deadline_ms = args->deadline_ms;
    reward::Grader grader(opt);
    reward::Verdict v = args->full_response ? grader.GradeResponse(args->gold, args->pred)
                                            : grader.Grade(args->gold, args->pred);
    std::printf("%s %s\n", reward::OutcomeName(v.outcome), v.reason.c_str());
    std::printf("  gold answer: %s\n  pred answer: %s\n  %lld us\n", v.gold_answer.c_str(), v.pred_answer.c_str(),
                static_cast<long long>(v.micros));
    if (!v.detail.empty()) std::printf("  detail: %s\n", v.detail.c_str());
  });
}

}  // namespace scorch::app
