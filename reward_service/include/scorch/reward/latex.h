// scorch's own LaTeX parser for answers: tokens -> an arena of AST nodes. No external parser,
// nothing evaluated. Recursion happens only when a bracket, command argument or exponent
// opens a new nesting level, and that depth is checked against `Budget::max_depth`; flat
// chains (1+1+...+1, a*b*c..., ----x) are parsed iteratively into n-ary nodes. The node count
// and the deadline are checked as the parser goes. Failures throw GradeFailure (internal to
// the grader; caught by Grader and turned into a Verdict). Not thread-safe per instance;
// separate instances are independent.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace scorch::reward {

// Why grading stopped early (reason is a Verdict reason: too_deep, too_large, deadline,
// parse_error, ...). Thrown inside the grader only.
struct GradeFailure {
  std::string reason;
  std::string detail;
};

// Limits and the deadline shared by one grading call.
struct Budget {
  std::chrono::steady_clock::time_point deadline;
  int max_depth = 200;
  int max_digits = 10000;
  int max_nodes = 20000;
  // Throws GradeFailure{"deadline"} once the deadline has passed.
  void Check() const;
  bool Expired() const { return std::chrono::steady_clock::now() > deadline; }
};

enum class NodeKind : uint8_t {
  kNumber,     // text: digits with optional '.', decimal = has '.'
  kSymbol,     // text: name ("x", "alpha", "pi", "infty", "F_{n-1}")
  kText,       // text: literal text (base-subscripted numbers, unknown words)
  kAdd,        // kids: terms
  kNeg,        // kids[0]
  kMul,        // kids: factors (kRecip marks a divisor)
  kRecip,      // kids[0]: 1/x
  kPow,        // kids: base, exponent
  kFactorial,  // kids[0]
  kFunc,       // text: name; kids: args
  kSqrt,       // kids: radicand [, index]
  kAbs,        // kids[0]
  kGroup,      // open/close: bracket chars; kids: items (2+, or 1 with [ ] brackets)
  kSet,        // \{ ... \}; kids: items
  kList,       // bare list (top level, or plain braces); kids: items
  kMatrix,     // rows x cols cells in kids (row-major)
  kRelation,   // kids: sides; ops: relation codes between them
  kPlusMinus,  // kids: a, b -> {a+b, a-b}
  kUnion,      // kids: sets/intervals joined by \cup
  kRatio,      // kids: parts of a:b[:c]
};

enum RelOp : int { kEq = 0, kLt, kLe, kGt, kGe, kNe, kApprox, kIn };

struct Node {
  NodeKind kind = NodeKind::kNumber;
  bool decimal = false;
  char open = 0, close = 0;
  int rows = 0, cols = 0;
  int depth = 1;
  std::string text;
  std::vector<int> kids;
  std::vector<int> ops;
};

// A parsed answer. `root` indexes `nodes`; `nodes` may grow when the grader builds derived
// expressions (matrix sums, equation sides).
struct Ast {
  std::vector<Node> nodes;
  int root = -1;

  int Add(Node node);
  const Node& at(int i) const { return nodes[static_cast<size_t>(i)]; }
};

// Parses normalised answer text. Throws GradeFailure (parse_error, too_deep, too_large,
// deadline).
Ast ParseLatex(std::string_view text, const Budget& budget);

// Canonical text of a subtree (used for subscripts, text and string comparison).
std::string NodeText(const Ast& ast, int node);

}  // namespace scorch::reward
