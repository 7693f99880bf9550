// Oracle adapters over the math grader (grader.h) and its process pool (grader_pool.h):
// what the reward rules and servers use in production.
//
//  - GraderOracle calls a Grader in-process (fast; for tools and tests; a pathological
//    answer is bounded by the grader's cooperative deadline only).
//  - GraderPoolOracle sends each batch to a GraderPool, whose worker processes are killed
//    and replaced on deadline: the servers use this one.
//
// Gold answers are graded as answers (never extracted); OracleQuery::is_full_response says
// whether the prediction is a whole response. Verdict → OracleResult keeps the grader's
// machine-readable reason and its timing.
//
// Ownership: both borrow their grader/pool, which must outlive them. Thread-safety: as safe
// as the grader (Grader and GraderPool are both safe to call from many threads).
#pragma once

#include <span>
#include <vector>

#include "scorch/reward/grader.h"
#include "scorch/reward/grader_pool.h"
#include "scorch/reward/reward_oracle.h"

namespace scorch::reward {

OracleResult ToOracleResult(const Verdict& verdict);

class GraderOracle final : public Oracle {
 public:
  explicit GraderOracle(const Grader* grader) : grader_(grader) {}
  OracleResult Grade(const OracleQuery& query) override;

 private:
  const Grader* grader_;
};

class GraderPoolOracle final : public Oracle {
 public:
  explicit GraderPoolOracle(GraderPool* pool) : pool_(pool) {}
  OracleResult Grade(const OracleQuery& query) override;
  std::vector<OracleResult> GradeBatch(std::span<const OracleQuery> queries) override;

 private:
  GraderPool* pool_;
};

}  // namespace scorch::reward
