// Oracle defaults and FunctionOracle. See reward_oracle.h.
#include "scorch/reward/reward_oracle.h"

#include <exception>

namespace scorch::reward {

std::string_view OracleVerdictName(OracleVerdict v) {
  switch (v) {
    case OracleVerdict::kCorrect: return "correct";
    case OracleVerdict::kWrong: return "wrong";
    case OracleVerdict::kError: return "error";
  }
  return "error";
}

std::vector<OracleResult> Oracle::GradeBatch(std::span<const OracleQuery> queries) {
  std::vector<OracleResult> out;
  out.reserve(queries.size());
  for (const OracleQuery& q : queries) out.push_back(Grade(q));
  return out;
}

OracleResult FunctionOracle::Grade(const OracleQuery& query) {
  // The wrapped function is user code: an exception becomes an `error` grade, never a crash.
  try {
    return fn_(query);
  } catch (const std::exception& e) {
    return OracleResult{OracleVerdict::kError, std::string("oracle_exception: ") + e.what(), 0.0};
  } catch (...) {
    return OracleResult{OracleVerdict::kError, "oracle_exception", 0.0};
  }
}

}  // namespace scorch::reward
