// Conformance: scorch's grader against the 355 labelled cases of public graders' test suites
// (../shared/conformance/math_grader_cases.jsonl). Prints agreement per source and overall,
// lists every disagreement, and requires at least 347/355 (Math-Verify's own score). Each
// case's upstream settings are passed through as GraderOptions: `float_rounding`,
// `allow_set_relation_comp`, and `match_types` without "expr" (no bare-number extraction).
// Extraction follows the cases' pred_is_full_response / gold_is_full_response.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "scorch/reward/grader.h"

namespace scorch::reward {
namespace {

std::filesystem::path CasesPath() {
  return std::filesystem::path(SCORCH_SOURCE_DIR) / ".." / "shared" / "conformance" / "math_grader_cases.jsonl";
}

GraderOptions OptionsFor(const nlohmann::json& config) {
  GraderOptions opt;
  opt.deadline_ms = 2000;  // generous: this test checks verdicts, not speed
  if (config.contains("float_rounding")) opt.float_rounding = config["float_rounding"].get<int>();
  if (config.contains("allow_set_relation_comp")) {
    opt.allow_set_relation_comp = config["allow_set_relation_comp"].get<bool>();
  }
  if (config.contains("match_types")) {
    bool expr = false;
    for (const auto& m : config["match_types"]) expr |= m.get<std::string>() == "expr";
    opt.fallback_last_number = expr;
  }
  return opt;
}

TEST(GraderConformance, AgreesWithAtLeast347Of355) {
  std::ifstream in(CasesPath());
  if (!in) GTEST_SKIP() << "conformance cases not found at " << CasesPath() << "; skipping";
  std::map<std::string, std::pair<int, int>> per_source;  // source -> (agree, total)
  int agree = 0, total = 0;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    nlohmann::json c = nlohmann::json::parse(line);
    GradeRequest req;
    req.gold = c["gold"].get<std::string>();
    req.pred = c["pred"].get<std::string>();
    req.pred_is_full_response = c.value("pred_is_full_response", false);
    req.gold_is_full_response = c.value("gold_is_full_response", false);
    Grader grader(OptionsFor(c.value("config", nlohmann::json::object())));
    Verdict v = grader.Grade(req);
    bool expected = c["equal"].get<bool>();
    bool ok = v.correct() == expected;
    std::string source = c["source"].get<std::string>();
    source = source.substr(0, source.find(':'));
    auto& s = per_source[source];
    s.second++;
    total++;
    if (ok) {
      s.first++;
      agree++;
    } else {
      std::printf("DISAGREE id=%d expected=%s got=%s/%s gold=[%s] pred=[%s]\n", c["id"].get<int>(),
                  expected ? "equal" : "different", OutcomeName(v.outcome), v.reason.c_str(),
                  v.gold_answer.substr(0, 80).c_str(), v.pred_answer.substr(0, 80).c_str());
    }
  }
  for (const auto& [source, counts] : per_source) {
    std::printf("  %-40s %3d / %3d\n", source.c_str(), counts.first, counts.second);
  }
  std::printf("conformance: %d / %d agree\n", agree, total);
  EXPECT_EQ(total, 355);
  EXPECT_GE(agree, 347);
}

}  // namespace
}  // namespace scorch::reward
