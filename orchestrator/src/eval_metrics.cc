#include "scorch/orchestrator/eval_metrics.h"

#include <cstdio>
#include <unordered_map>

namespace scorch::orchestrator {

EvalSummary Summarize(const std::vector<EvalRecord>& records) {
  EvalSummary s;
  s.n = static_cast<int64_t>(records.size());
  if (s.n == 0) return s;
  int64_t c1 = 0, cf = 0, i2c = 0, c2i = 0, corrected = 0;
  int64_t first_ok_with_verdict = 0, said_correct_when_ok = 0;
  int64_t first_bad_with_verdict = 0, said_wrong_when_bad = 0;
  int64_t ok_said_wrong = 0, ok_said_wrong_final_bad = 0;
  for (const auto& r : records) {
    c1 += r.first_correct;
    cf += r.final_correct;
    i2c += !r.first_correct && r.final_correct;
    c2i += r.first_correct && !r.final_correct;
    corrected += r.corrected;
    s.grader_errors += r.grader_error;
    if (r.first_verdict == SelfVerdict::kNone) {
      ++s.verdict_missing;
      continue;
    }
    if (r.first_correct) {
      ++first_ok_with_verdict;
      said_correct_when_ok += r.first_verdict == SelfVerdict::kCorrect;
      if (r.first_verdict == SelfVerdict::kWrong) {
        ++ok_said_wrong;
        ok_said_wrong_final_bad += !r.final_correct;
      }
    } else {
      ++first_bad_with_verdict;
      said_wrong_when_bad += r.first_verdict == SelfVerdict::kWrong;
    }
  }
  const double n = static_cast<double>(s.n);
  s.turn1 = c1 / n;
  s.final = cf / n;
  s.delta_i2c = i2c / n;
  s.delta_c2i = c2i / n;
  // From the counts: the identity delta = i2c - c2i holds on integers, before rounding.
  s.delta = static_cast<double>(i2c - c2i) / n;
  if (first_ok_with_verdict > 0) s.rm_acc_correct = double(said_correct_when_ok) / first_ok_with_verdict;
  if (first_bad_with_verdict > 0) s.rm_acc_wrong = double(said_wrong_when_bad) / first_bad_with_verdict;
  if (ok_said_wrong > 0) s.p_c2i = double(ok_said_wrong_final_bad) / ok_said_wrong;
  s.samples_per_trajectory = 1.0 + corrected / n;
  return s;
}

nlohmann::json EvalSummary::ToJson() const {
  auto opt = [](const std::optional<double>& v) -> nlohmann::json {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  return {{"n", n},
          {"turn1", turn1},
          {"final", final},
          {"delta", delta},
          {"delta_i2c", delta_i2c},
          {"delta_c2i", delta_c2i},
          {"rm_acc_correct", opt(rm_acc_correct)},
          {"rm_acc_wrong", opt(rm_acc_wrong)},
          {"p_c2i", opt(p_c2i)},
          {"samples_per_trajectory", samples_per_trajectory},
          {"verdict_missing", verdict_missing},
          {"grader_errors", grader_errors}};
}

double MajorityAtN(const std::vector<EvalRecord>& records, int n) {
  struct Votes {
    std::vector<std::string> order;  // answers in first-seen order
    std::unordered_map<std::string, int> count;
    std::unordered_map<std::string, bool> correct;
    int seen = 0;
  };
  std::vector<std::string> prompts;
  std::unordered_map<std::string, Votes> by_prompt;
  for (const auto& r : records) {
    auto [it, fresh] = by_prompt.try_emplace(r.prompt_id);
    if (fresh) prompts.push_back(r.prompt_id);
    Votes& v = it->second;
    if (v.seen >= n) continue;
    ++v.seen;
    if (v.count[r.final_answer]++ == 0) v.order.push_back(r.final_answer);
    v.correct[r.final_answer] = v.correct[r.final_answer] || r.final_correct;
  }
  if (prompts.empty()) return 0;
  int right = 0;
  for (const auto& p : prompts) {
    const Votes& v = by_prompt[p];
    const std::string* best = nullptr;
    for (const auto& a : v.order) {
      if (!best || v.count.at(a) > v.count.at(*best)) best = &a;
    }
    right += best && v.correct.at(*best);
  }
  return static_cast<double>(right) / static_cast<double>(prompts.size());
}

std::string FormatEvalTable(const std::vector<std::pair<std::string, EvalSummary>>& rows) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof(line), "%-18s %6s %7s %7s %7s %7s %6s %12s %7s\n", "", "N", "Turn1",
                "Final", "Δ", "Δi→c", "Δc→i", "RM acc a/b", "p^c→i");
  out += line;
  auto pct = [](const std::optional<double>& v) {
    char b[16];
    if (v) std::snprintf(b, sizeof(b), "%.1f", 100 * *v);
    else std::snprintf(b, sizeof(b), "-");
    return std::string(b);
  };
  for (const auto& [name, s] : rows) {
    std::string rm = pct(s.rm_acc_correct) + "/" + pct(s.rm_acc_wrong);
    std::snprintf(line, sizeof(line), "%-18s %6lld %7.1f %7.1f %+7.1f %7.1f %7.1f %12s %7s\n",
                  name.c_str(), static_cast<long long>(s.n), 100 * s.turn1, 100 * s.final,
                  100 * s.delta, 100 * s.delta_i2c, 100 * s.delta_c2i, rm.c_str(),
                  pct(s.p_c2i).c_str());
    out += line;
  }
  return out;
}

}  // namespace scorch::orchestrator
