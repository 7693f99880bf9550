// Scalar comparison (private to the grader): exact rationals first, then GiNaC under a
// process-wide lock (GiNaC is not thread-safe). Throws GradeFailure on too_large/deadline.
#pragma once

#include <string>

#include "scorch/reward/latex.h"
#include "scorch/reward/math_value.h"

namespace scorch::reward {

// a == b as numbers/expressions. `reason`: numeric_equal, symbolic_equal, numeric_close, ...
bool ScalarEqual(const Ast& a, int na, const Ast& b, int nb, const CompareContext& ctx, std::string* reason);

// Whether (l1 - r1) = c * (l2 - r2) for a constant c != 0 (c > 0 when `positive`).
bool DifferencesProportional(const Ast& a, int l1, int r1, const Ast& b, int l2, int r2, bool positive,
                             const CompareContext& ctx);

// Whether the scalar node mentions no symbol (only numbers and constants like \pi).
bool IsConstantNode(const Ast& ast, int node);

}  // namespace scorch::reward
