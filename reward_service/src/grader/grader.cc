// Grader: extraction, normalisation, parsing and comparison glued together with the bounds
// of ALGORITHMS §9.9. See grader.h.
#include "scorch/reward/grader.h"

#include <chrono>
#include <string>
#include <utility>

#include "scorch/reward/extract.h"
#include "scorch/reward/latex.h"
#include "scorch/reward/math_value.h"
#include "scorch/reward/normalize.h"

namespace scorch::reward {
namespace {

using Clock = std::chrono::steady_clock;

Verdict Make(Outcome outcome, std::string reason, std::string detail = {}) {
  Verdict v;
  v.outcome = outcome;
  v.reason = std::move(reason);
  v.detail = std::move(detail);
  return v;
}

bool IsErrorReason(const std::string& reason) {
  return reason == "too_large" || reason == "too_deep" || reason == "deadline";
}

struct Side {
  NormalizedAnswer norm;
  Ast ast;
  Value value;
};

// Parses and builds one side; scale_percent divides the value by 100.
void Prepare(Side* side, const std::string& text, bool scale_percent, const Budget& budget) {
  side->ast = ParseLatex(text, budget);
  if (scale_percent) {
    Node hundred;
    hundred.kind = NodeKind::kNumber;
    hundred.text = "100";
    int h = side->ast.Add(hundred);
    Node recip;
    recip.kind = NodeKind::kRecip;
    recip.kids = {h};
    int r = side->ast.Add(recip);
    Node mul;
    mul.kind = NodeKind::kMul;
    mul.kids = {side->ast.root, r};
    side->ast.root = side->ast.Add(mul);
  }
  side->value = BuildValue(side->ast, budget);
}

std::string CommaToPoint(std::string s) {
  for (char& c : s) {
    if (c == ',') c = '.';
  }
  return s;
}

}  // namespace

const char* OutcomeName(Outcome outcome) {
  switch (outcome) {
    case Outcome::kCorrect: return "correct";
    case Outcome::kWrong: return "wrong";
    case Outcome::kError: return "error";
  }
  return "error";
}

Grader::Grader(GraderOptions options) : options_(std::move(options)) {}

Verdict Grader::Grade(std::string_view gold, std::string_view pred) const {
  GradeRequest request;
  request.gold = std::string(gold);
  request.pred = std::string(pred);
  return Grade(request);
}

Verdict Grader::GradeResponse(std::string_view gold, std::string_view response) const {
  GradeRequest request;
  request.gold = std::string(gold);
  request.pred = std::string(response);
  request.pred_is_full_response = true;
  return Grade(request);
}

Verdict Grader::Grade(const GradeRequest& request) const {
  const auto start = Clock::now();
  Verdict verdict;
  const GraderOptions& opt = options_;
  Budget budget;
  budget.deadline = start + std::chrono::milliseconds(opt.deadline_ms);
  budget.max_depth = opt.max_depth;
  budget.max_digits = opt.max_digits;
  budget.max_nodes = opt.max_nodes;

  auto finish = [&](Verdict v) {
    v.micros = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start).count();
    return v;
  };

  // 1. Extraction.
  std::string gold_answer, pred_answer;
  for (int s = 0; s < 2; ++s) {
    const std::string& text = s == 0 ? request.gold : request.pred;
    bool full = s == 0 ? request.gold_is_full_response : request.pred_is_full_response;
    std::string& out = s == 0 ? gold_answer : pred_answer;
    if (full) {
      if (static_cast<int64_t>(text.size()) > opt.max_response_bytes) {
        return finish(Make(Outcome::kError, "too_large", s == 0 ? "gold response too long" : "response too long"));
      }
      Extraction ex = ExtractAnswer(text, opt);
      if (budget.Expired()) return finish(Make(Outcome::kError, "deadline", "deadline passed during extraction"));
      if (!ex.found) {
        if (s == 0) return finish(Make(Outcome::kError, "gold_no_answer", "no answer found in the gold response"));
        return finish(Make(Outcome::kWrong, "no_answer", "no answer found in the response"));
      }
      out = std::move(ex.answer);
    } else {
      out = text;
    }
    if (static_cast<int64_t>(out.size()) > opt.max_answer_bytes) {
      Verdict v = Make(Outcome::kError, "too_large", "answer longer than max_answer_bytes");
      return finish(v);
    }
  }
  if (budget.Expired()) return finish(Make(Outcome::kError, "deadline", "deadline passed during extraction"));

  // 2. Normalisation and the string fast path.
  Side gold, pred;
  gold.norm = NormalizeAnswer(gold_answer);
  pred.norm = NormalizeAnswer(pred_answer);
  verdict.gold_answer = gold.norm.text;
  verdict.pred_answer = pred.norm.text;
  auto with_answers = [&](Verdict v) {
    v.gold_answer = verdict.gold_answer;
    v.pred_answer = verdict.pred_answer;
    return finish(std::move(v));
  };
  std::string gkey = ComparisonKey(gold.norm.text), pkey = ComparisonKey(pred.norm.text);
  if (pkey.empty()) return with_answers(Make(Outcome::kWrong, "no_answer", "empty answer"));
  if (gkey.empty()) return with_answers(Make(Outcome::kError, "gold_no_answer", "empty gold answer"));
  if (gkey == pkey && gold.norm.percent == pred.norm.percent) {
    return with_answers(Make(Outcome::kCorrect, "string_equal"));
  }

  // 3. Parse, build, compare (with the percent and decimal-comma readings).
  CompareContext ctx{&opt, &budget};
  try {
    try {
      Prepare(&gold, gold.norm.text, false, budget);
    } catch (const GradeFailure& f) {
      if (IsErrorReason(f.reason)) throw;
      return with_answers(Make(Outcome::kWrong, "gold_parse_error", f.detail));
    }
    try {
      Prepare(&pred, pred.norm.text, false, budget);
    } catch (const GradeFailure& f) {
      if (IsErrorReason(f.reason)) throw;
      return with_answers(Make(Outcome::kWrong, "parse_error", f.detail));
    }
    std::string reason;
    if (Equivalent(gold.ast, gold.value, pred.ast, pred.value, ctx, &reason)) {
      return with_answers(Make(Outcome::kCorrect, reason));
    }
    std::string first_reason = reason;
    // §9.4: exactly one side with %: its value or value/100.
    if (opt.percent_rule && gold.norm.percent != pred.norm.percent) {
      Side scaled;
      bool gold_pct = gold.norm.percent;
      Prepare(&scaled, gold_pct ? gold.norm.text : pred.norm.text, true, budget);
      bool ok = gold_pct ? Equivalent(scaled.ast, scaled.value, pred.ast, pred.value, ctx, &reason)
                         : Equivalent(gold.ast, gold.value, scaled.ast, scaled.value, ctx, &reason);
      if (ok) return with_answers(Make(Outcome::kCorrect, "percent_equal"));
    }
    // `1,5` may be a decimal comma when the other side is one number.
    for (int s = 0; s < 2; ++s) {
      Side& side = s == 0 ? gold : pred;
      Side& other = s == 0 ? pred : gold;
      if (!side.norm.decimal_comma || other.value.kind != ValueKind::kScalar) continue;
      Side alt;
      try {
        Prepare(&alt, CommaToPoint(side.norm.text), false, budget);
      } catch (const GradeFailure& f) {
        if (IsErrorReason(f.reason)) throw;
        continue;
      }
      bool ok = s == 0 ? Equivalent(alt.ast, alt.value, pred.ast, pred.value, ctx, &reason)
                       : Equivalent(gold.ast, gold.value, alt.ast, alt.value, ctx, &reason);
      if (ok) return with_answers(Make(Outcome::kCorrect, "decimal_comma_equal"));
    }
    return with_answers(Make(Outcome::kWrong, first_reason.empty() ? "not_equal" : first_reason));
  } catch (const GradeFailure& f) {
    if (IsErrorReason(f.reason)) return with_answers(Make(Outcome::kError, f.reason, f.detail));
    return with_answers(Make(Outcome::kWrong, f.reason, f.detail));
  } catch (const std::exception& e) {
    return with_answers(Make(Outcome::kWrong, "parse_error", e.what()));
  }
}

}  // namespace scorch::reward
