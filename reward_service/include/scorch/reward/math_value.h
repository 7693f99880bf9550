// Structured answer values and their comparison (ALGORITHMS §9.3-§9.8).
//
// BuildValue turns a parsed answer (latex.h) into a Value: a scalar expression (kept as an
// AST node and turned into exact rationals or GiNaC only when compared), an ordered tuple, an
// unordered set or bare list, an interval with open/closed ends, a union, a matrix, a
// relation (equation, inequality or chain), an assignment `x = v`, a membership `x \in S`,
// or text. Equivalent() compares two Values and names the rule that decided. Building is
// recursive only over structural nesting, which the parser already bounded. Scalar
// comparison runs exact rational arithmetic first and GiNaC (under one process-wide lock:
// GiNaC is not thread-safe) only when needed. Failures (too_large, deadline) throw
// GradeFailure. Not thread-safe per Value; independent Values may be used concurrently.
#pragma once

#include <string>
#include <vector>

#include "scorch/reward/grader.h"
#include "scorch/reward/latex.h"

namespace scorch::reward {

enum class ValueKind {
  kScalar, kTuple, kList, kSet, kInterval, kUnion, kMatrix, kRelation, kAssign, kMember, kText,
};

struct Value {
  ValueKind kind = ValueKind::kScalar;
  int node = -1;                 // kScalar: AST node
  std::vector<Value> items;      // elements / sides / cells / [set] / [value]
  std::vector<int> ops;          // kRelation: RelOp between sides
  bool lo_closed = false;        // kInterval
  bool hi_closed = false;
  bool maybe_interval = false;   // kTuple written (a, b): also an open interval
  bool ratio = false;            // kTuple written a:b
  int rows = 0, cols = 0;        // kMatrix
  std::string text;              // kText: the text; kAssign/kMember: the variable
};

// Builds the value of `ast.root`. May append nodes to `ast` (± expansion, matrix algebra).
Value BuildValue(Ast& ast, const Budget& budget);

struct CompareContext {
  const GraderOptions* options = nullptr;
  const Budget* budget = nullptr;
};

// Whether `gold` and `pred` are the same answer. `reason` receives the deciding rule
// (numeric_equal, symbolic_equal, set_equal, ...) or why they differ.
bool Equivalent(Ast& gold_ast, const Value& gold, Ast& pred_ast, const Value& pred,
                const CompareContext& ctx, std::string* reason);

}  // namespace scorch::reward
