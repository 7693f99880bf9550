// The math grader: answer extraction and math equivalence exactly as ALGORITHMS §9 decides.
//
// Grade(gold, pred) says whether two answers are the same mathematical object: exact
// rationals (never floats) for numbers, ordered tuples, unordered sets and bare lists,
// intervals with open/closed ends and unions, matrices, equations up to a non-zero factor,
// inequalities, `\pm`, text and multiple-choice letters, and GiNaC for symbolic checks.
// GradeResponse(gold, response) first extracts the answer from a whole model response.
// Nothing in an answer is ever executed: answers are parsed by scorch's own LaTeX parser
// (bounded depth, no recursion beyond `max_depth`), powers and factorials whose exact value
// would exceed `max_digits` are refused before anything is computed, and the deadline is
// checked cooperatively throughout. For hard isolation (a worker that can be killed), use
// GraderPool (grader_pool.h); servers use the pool.
//
// Thread-safety: Grader is immutable after construction; Grade* may be called from many
// threads at once. Errors: every outcome, including malformed or hostile input, is a
// Verdict (`error` with a machine-readable reason), never an exception or a crash.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace scorch::reward {

// Grader settings. Defaults are ALGORITHMS §9's.
struct GraderOptions {
  bool strict = false;              // true: only \boxed{}/\fbox{} answers count (no fallbacks)
  bool fallback_answer_markers = true;  // "final answer is", "the answer is", "Answer:" ...
  bool fallback_math_span = true;   // the last $..$ / \(..\) / \[..\] / $$..$$ span
  bool fallback_last_number = true; // the last number in the response
  bool percent_rule = true;         // one side with % matches value or value/100 (§9.4)
  bool allow_set_relation_comp = true;  // `x \in [a,b]` may equal `a \le x \le b`
  double rel_tol = 1e-6;            // relative tolerance when a decimal meets a non-terminating value
  int float_rounding = -1;          // >= 0: such values also match when equal rounded to this many places
  double symbolic_rel_tol = 1e-9;   // tolerance of the random-point numeric check (§9.7)
  int deadline_ms = 100;            // wall-clock budget per Grade call (cooperative)
  int64_t max_answer_bytes = 64 * 1024;  // longer answers (after extraction) -> error/too_large
  int64_t max_response_bytes = 8 * 1024 * 1024;  // longer responses -> error/too_large
  int max_depth = 200;              // deeper nesting -> error/too_deep
  int max_digits = 10000;           // a power/factorial with more exact digits -> error/too_large
  int max_nodes = 20000;            // larger parse trees -> error/too_large
};

enum class Outcome { kCorrect, kWrong, kError };

const char* OutcomeName(Outcome outcome);  // "correct", "wrong", "error"

// The result of one grading call. `reason` is machine-readable (snake_case), e.g.
// string_equal, numeric_equal, symbolic_equal, set_equal, not_equal, no_answer,
// parse_error, too_large, too_deep, deadline, invalid_input.
struct Verdict {
  Outcome outcome = Outcome::kError;
  std::string reason;
  std::string detail;        // human-readable detail (may be empty)
  std::string gold_answer;   // the answers actually compared (after extraction)
  std::string pred_answer;
  int64_t micros = 0;        // time spent grading

  bool correct() const { return outcome == Outcome::kCorrect; }
};

// How an answer was found in a response.
struct Extraction {
  bool found = false;
  std::string answer;   // the extracted answer text (not yet normalised)
  std::string method;   // boxed, final_answer_is, answer_is, answer_marker, math_span, last_number
};

// Extracts the final answer of a whole response (§9.1). Never throws.
Extraction ExtractAnswer(std::string_view response, const GraderOptions& options = {});

// One grading request (as carried by GraderPool and the servers).
struct GradeRequest {
  std::string gold;
  std::string pred;
  bool pred_is_full_response = false;  // extract the answer from pred first
  bool gold_is_full_response = false;  // extract the answer from gold first
};

class Grader {
 public:
  explicit Grader(GraderOptions options = {});

  // Both arguments are answers (possibly `$`-delimited or containing \boxed{}).
  Verdict Grade(std::string_view gold, std::string_view pred) const;
  // `response` is a whole model response: its answer is extracted first.
  Verdict GradeResponse(std::string_view gold, std::string_view response) const;
  Verdict Grade(const GradeRequest& request) const;

  const GraderOptions& options() const { return options_; }

 private:
  GraderOptions options_;
};

}  // namespace scorch::reward
