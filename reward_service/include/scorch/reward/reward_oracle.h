// The correctness oracle seen by the reward rules: "is this response's final answer equal to
// the gold answer?" answered as correct / wrong / error with a machine-readable reason.
//
// The rules never grade anything themselves; they are handed an Oracle so that tests can
// inject a fake one and production can plug in the math grader (grader.h / GraderPool) or
// any other checker (ALGORITHMS §8.8: "make the grader a plug-in"). `error` (a grader bound
// or deadline was hit) is reported apart from `wrong` everywhere but earns the wrong-answer
// reward (ALGORITHMS §9.9).
//
// Ownership: an Oracle is owned by whoever builds the RewardEngine and must outlive it.
// Thread-safety: implementations used by the servers must be safe to call from several
// threads at once (FunctionOracle is as safe as the function it wraps). Grade never throws;
// a failure inside the checker is an `error` verdict with a reason.
#pragma once

#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace scorch::reward {

// The oracle's answer for one response. Distinct from a self-verification verdict
// (verdict.h), which is what the *model* said about its own answer.
enum class OracleVerdict { kCorrect, kWrong, kError };

std::string_view OracleVerdictName(OracleVerdict v);  // "correct", "wrong", "error"

struct OracleResult {
  OracleVerdict verdict = OracleVerdict::kWrong;
  std::string reason;    // machine-readable, e.g. "symbolic_equal", "no_answer", "deadline"
  double micros = 0.0;   // grading time, for metrics (0 when unknown)

  bool correct() const { return verdict == OracleVerdict::kCorrect; }
  bool error() const { return verdict == OracleVerdict::kError; }
};

// One grading question. `text` is either a full model response (the oracle extracts the
// final answer itself) or an already-extracted answer.
struct OracleQuery {
  std::string_view gold;
  std::string_view text;
  bool is_full_response = true;
};

class Oracle {
 public:
  virtual ~Oracle() = default;
  virtual OracleResult Grade(const OracleQuery& query) = 0;
  // Grades a batch; the default grades one by one. Implementations backed by a process
  // pool override it to grade in parallel. Returns exactly queries.size() results.
  virtual std::vector<OracleResult> GradeBatch(std::span<const OracleQuery> queries);
};

// Adapts a plain function (a "CorrectnessFn") to the Oracle interface.
using CorrectnessFn = std::function<OracleResult(const OracleQuery&)>;

class FunctionOracle final : public Oracle {
 public:
  explicit FunctionOracle(CorrectnessFn fn) : fn_(std::move(fn)) {}
  OracleResult Grade(const OracleQuery& query) override;

 private:
  CorrectnessFn fn_;
};

}  // namespace scorch::reward
