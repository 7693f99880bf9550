// Oracle adapters over Grader and GraderPool. See reward_grader_oracle.h.
#include "scorch/reward/reward_grader_oracle.h"

#include <string>

namespace scorch::reward {
namespace {

GradeRequest ToRequest(const OracleQuery& q) {
  GradeRequest r;
  r.gold = std::string(q.gold);
  r.pred = std::string(q.text);
  r.pred_is_full_response = q.is_full_response;
  r.gold_is_full_response = false;
  return r;
}

}  // namespace

OracleResult ToOracleResult(const Verdict& v) {
  OracleResult r;
  switch (v.outcome) {
    case Outcome::kCorrect: r.verdict = OracleVerdict::kCorrect; break;
    case Outcome::kWrong: r.verdict = OracleVerdict::kWrong; break;
    case Outcome::kError: r.verdict = OracleVerdict::kError; break;
  }
  r.reason = v.reason;
  r.micros = static_cast<double>(v.micros);
  return r;
}

OracleResult GraderOracle::Grade(const OracleQuery& query) {
  return ToOracleResult(query.is_full_response ? grader_->GradeResponse(query.gold, query.text)
                                               : grader_->Grade(query.gold, query.text));
}

OracleResult GraderPoolOracle::Grade(const OracleQuery& query) {
  return ToOracleResult(pool_->Grade(ToRequest(query)));
}

std::vector<OracleResult> GraderPoolOracle::GradeBatch(std::span<const OracleQuery> queries) {
  std::vector<GradeRequest> requests;
  requests.reserve(queries.size());
  for (const auto& q : queries) requests.push_back(ToRequest(q));
  std::vector<Verdict> verdicts = pool_->GradeBatch(requests);
  std::vector<OracleResult> out;
  out.reserve(queries.size());
  for (size_t i = 0; i < queries.size(); ++i) {
    out.push_back(i < verdicts.size() ? ToOracleResult(verdicts[i])
                                      : OracleResult{OracleVerdict::kError, "missing_verdict", 0.0});
  }
  return out;
}

}  // namespace scorch::reward
