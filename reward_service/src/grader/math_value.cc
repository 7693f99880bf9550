// Structured values and their comparison (ALGORITHMS §9.5-§9.8). See math_value.h.
#include "scorch/reward/math_value.h"

#include <algorithm>
#include <cctype>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "symbolic.h"

namespace scorch::reward {
namespace {

std::string LowerNoSpace(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == ' ') continue;
    out += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  }
  return out;
}

Node MakeNode(NodeKind kind, std::vector<int> kids, std::string text = {}) {
  Node n;
  n.kind = kind;
  n.kids = std::move(kids);
  n.text = std::move(text);
  return n;
}

// A "name" on the left of `=`: no number literal and no sum (x, f(x), |AB|, A:B, (p,q)).
bool IsLoneLhs(const Ast& ast, int node) {
  std::vector<int> stack{node};
  bool any_symbol = false;
  while (!stack.empty()) {
    const Node& n = ast.at(stack.back());
    stack.pop_back();
    switch (n.kind) {
      case NodeKind::kNumber: case NodeKind::kAdd: case NodeKind::kNeg: case NodeKind::kPlusMinus:
      case NodeKind::kRelation: case NodeKind::kMatrix: case NodeKind::kText:
        return false;
      case NodeKind::kSymbol:
        if (n.text == "pi" || n.text == "infty") return false;
        any_symbol = true;
        break;
      default:
        break;
    }
    for (int k : n.kids) stack.push_back(k);
  }
  return any_symbol;
}

int FindPlusMinus(const Ast& ast, int root, std::vector<int>* path) {
  // Iterative DFS recording parents; returns the first kPlusMinus node (or -1).
  std::unordered_map<int, int> parent;
  std::vector<int> stack{root};
  parent[root] = -1;
  while (!stack.empty()) {
    int v = stack.back();
    stack.pop_back();
    if (ast.at(v).kind == NodeKind::kPlusMinus) {
      path->clear();
      for (int u = v; u != -1; u = parent[u]) path->push_back(u);
      return v;
    }
    for (int k : ast.at(v).kids) {
      if (!parent.count(k)) {
        parent[k] = v;
        stack.push_back(k);
      }
    }
  }
  return -1;
}

// Variants of `root` with each \pm replaced by + and - (at most 3 of them: 8 variants).
std::vector<int> ExpandPlusMinus(Ast& ast, int root) {
  std::vector<int> done, todo{root};
  int rounds = 0;
  while (!todo.empty()) {
    int r = todo.back();
    todo.pop_back();
    std::vector<int> path;
    int pm = FindPlusMinus(ast, r, &path);
    if (pm < 0 || rounds > 16) {
      done.push_back(r);
      continue;
    }
    ++rounds;
    int a = ast.at(pm).kids[0], b = ast.at(pm).kids[1];
    for (int sign = 0; sign < 2; ++sign) {
      int bb = sign == 0 ? b : ast.Add(MakeNode(NodeKind::kNeg, {b}));
      int cur = ast.Add(MakeNode(NodeKind::kAdd, {a, bb}));
      for (size_t k = 1; k < path.size(); ++k) {  // path[0] is pm; rebuild ancestors
        Node copy = ast.at(path[k]);
        for (int& kid : copy.kids) {
          if (kid == path[k - 1]) kid = cur;
        }
        cur = ast.Add(std::move(copy));
      }
      todo.push_back(cur);
    }
  }
  return done;
}

bool IsMatrixNode(const Ast& ast, int node) {
  const Node& n = ast.at(node);
  if (n.kind == NodeKind::kMatrix) return true;
  if (n.kind == NodeKind::kNeg) return ast.at(n.kids[0]).kind == NodeKind::kMatrix;
  return false;
}

class Builder {
 public:
  Builder(Ast& ast, const Budget& budget) : ast_(ast), budget_(budget) {}

  Value Build(int node, int depth) {
    if (depth > budget_.max_depth) throw GradeFailure{"too_deep", "structure nested too deeply"};
    budget_.Check();
    const NodeKind kind = ast_.at(node).kind;
    const std::vector<int> kids = ast_.at(node).kids;
    Value v;
    switch (kind) {
      case NodeKind::kList:
      case NodeKind::kSet: {
        v.kind = kind == NodeKind::kSet ? ValueKind::kSet : ValueKind::kList;
        for (int k : kids) AppendItem(&v, Build(k, depth + 1));
        if (v.kind == ValueKind::kList) GroupAssignments(&v);
        return v;
      }
      case NodeKind::kGroup: {
        const Node& n = ast_.at(node);
        char open = n.open, close = n.close;
        for (int k : kids) v.items.push_back(Build(k, depth + 1));
        bool scalars = v.items.size() == 2 && v.items[0].kind == ValueKind::kScalar &&
                       v.items[1].kind == ValueKind::kScalar;
        if (scalars && !(open == '(' && close == ')')) {
          v.kind = ValueKind::kInterval;
          v.lo_closed = open == '[';
          v.hi_closed = close == ']';
        } else {
          v.kind = ValueKind::kTuple;
          v.maybe_interval = scalars;
        }
        return v;
      }
      case NodeKind::kUnion:
        v.kind = ValueKind::kUnion;
        for (int k : kids) v.items.push_back(Build(k, depth + 1));
        return v;
      case NodeKind::kMatrix: {
        v.kind = ValueKind::kMatrix;
        v.rows = ast_.at(node).rows;
        v.cols = ast_.at(node).cols;
        for (int k : kids) v.items.push_back(Build(k, depth + 1));
        return v;
      }
      case NodeKind::kRatio:
        v.kind = ValueKind::kTuple;
        v.ratio = true;
        for (int k : kids) v.items.push_back(Build(k, depth + 1));
        return v;
      case NodeKind::kText:
        v.kind = ValueKind::kText;
        v.text = ast_.at(node).text;
        return v;
      case NodeKind::kRelation:
        return BuildRelation(node, depth);
      case NodeKind::kAdd:
      case NodeKind::kMul:
        for (int k : kids) {
          if (IsMatrixNode(ast_, k)) return MatrixAlgebra(node, depth);
        }
        break;
      default:
        break;
    }
    std::vector<int> variants = ExpandPlusMinus(ast_, node);
    if (variants.size() == 1) {
      v.kind = ValueKind::kScalar;
      v.node = variants[0];
      return v;
    }
    v.kind = ValueKind::kSet;
    for (int r : variants) {
      Value s;
      s.node = r;
      v.items.push_back(s);
    }
    return v;
  }

 private:
  // Nested bare lists flatten into their parent list (`\boxed{1,2}, \boxed{3}`).
  static void AppendItem(Value* list, Value item) {
    if (list->kind == ValueKind::kList && item.kind == ValueKind::kList) {
      for (auto& it : item.items) list->items.push_back(std::move(it));
    } else {
      list->items.push_back(std::move(item));
    }
  }

  // `p=5, q=2, p=7, q=2` -> {(5,2), (7,2)}: a repeated name starts a new group.
  static void GroupAssignments(Value* list) {
    if (list->items.empty()) return;
    for (auto& it : list->items) {
      if (it.kind != ValueKind::kAssign) return;
    }
    std::vector<std::vector<Value>> groups(1);
    std::vector<std::string> names;
    bool repeated = false;
    for (auto& it : list->items) {
      std::string name = LowerNoSpace(it.text);
      if (std::find(names.begin(), names.end(), name) != names.end()) {
        repeated = true;
        groups.emplace_back();
        names.clear();
      }
      names.push_back(name);
      groups.back().push_back(it);
    }
    if (!repeated) return;
    Value out;
    out.kind = ValueKind::kList;
    for (auto& g : groups) {
      if (g.size() == 1) {
        out.items.push_back(g[0].items[0]);
      } else {
        Value t;
        t.kind = ValueKind::kTuple;
        for (auto& a : g) t.items.push_back(a.items[0]);
        out.items.push_back(std::move(t));
      }
    }
    *list = std::move(out);
  }

  Value BuildRelation(int node, int depth) {
    const std::vector<int> sides = ast_.at(node).kids;
    const std::vector<int> ops = ast_.at(node).ops;
    Value v;
    bool has_in = std::find(ops.begin(), ops.end(), kIn) != ops.end();
    if (has_in) {
      if (sides.size() != 2 || ops[0] != kIn) throw GradeFailure{"parse_error", "unsupported use of \\in"};
      v.kind = ValueKind::kMember;
      v.text = NodeText(ast_, sides[0]);
      v.node = sides[0];
      v.items.push_back(Build(sides[1], depth + 1));
      return v;
    }
    bool all_eq = std::all_of(ops.begin(), ops.end(), [](int op) { return op == kEq || op == kApprox; });
    bool all_constant = std::all_of(sides.begin(), sides.end(), [&](int side) {
      NodeKind k = ast_.at(side).kind;
      return k != NodeKind::kGroup && k != NodeKind::kList && k != NodeKind::kSet && IsConstantNode(ast_, side);
    });
    bool has_approx = std::find(ops.begin(), ops.end(), kApprox) != ops.end();
    if (all_eq && !has_approx && all_constant) return Build(sides.back(), depth + 1);  // `1/2 + 1/3 = 5/6`
    if (all_eq && (sides.size() >= 3 || has_approx)) {
      // A chain: the answer is the last exact value (before any \approx), §9.6.
      size_t idx = sides.size() - 1;
      auto first_approx = std::find(ops.begin(), ops.end(), kApprox);
      if (first_approx != ops.end()) {
        idx = static_cast<size_t>(first_approx - ops.begin());
        if (IsLoneLhs(ast_, sides[idx])) ++idx;
      }
      return Build(sides[idx], depth + 1);
    }
    if (sides.size() == 2 && ops[0] == kEq && IsLoneLhs(ast_, sides[0])) {
      v.kind = ValueKind::kAssign;
      v.text = NodeText(ast_, sides[0]);
      v.node = sides[0];
      v.items.push_back(Build(sides[1], depth + 1));
      return v;
    }
    v.kind = ValueKind::kRelation;
    v.ops = ops;
    for (int s : sides) v.items.push_back(Build(s, depth + 1));
    return v;
  }

  // Sums, differences and products of matrices, cell by cell (AST nodes, no evaluation).
  Value MatrixAlgebra(int node, int depth) {
    const Node n = ast_.at(node);
    auto as_matrix = [&](int k, Value* out) -> bool {
      bool neg = ast_.at(k).kind == NodeKind::kNeg;
      int m = neg ? ast_.at(k).kids[0] : k;
      if (ast_.at(m).kind != NodeKind::kMatrix) return false;
      const Node& mn = ast_.at(m);
      out->kind = ValueKind::kMatrix;
      out->rows = mn.rows;
      out->cols = mn.cols;
      out->items.clear();
      for (int c : mn.kids) {
        Value cell;
        cell.node = neg ? ast_.Add(MakeNode(NodeKind::kNeg, {c})) : c;
        out->items.push_back(cell);
      }
      return true;
    };
    if (n.kind == NodeKind::kAdd) {
      Value acc;
      if (!as_matrix(n.kids[0], &acc)) throw GradeFailure{"parse_error", "matrix plus scalar"};
      for (size_t k = 1; k < n.kids.size(); ++k) {
        Value m;
        if (!as_matrix(n.kids[k], &m) || m.rows != acc.rows || m.cols != acc.cols) {
          throw GradeFailure{"parse_error", "matrix sum of different shapes"};
        }
        for (size_t c = 0; c < acc.items.size(); ++c) {
          acc.items[c].node = ast_.Add(MakeNode(NodeKind::kAdd, {acc.items[c].node, m.items[c].node}));
        }
      }
      return acc;
    }
    // Product: scalars scale, matrices multiply.
    std::vector<int> scalars;
    Value acc;
    bool have = false;
    for (int k : n.kids) {
      Value m;
      if (!as_matrix(k, &m)) {
        if (ast_.at(k).kind == NodeKind::kRecip && ast_.at(ast_.at(k).kids[0]).kind == NodeKind::kMatrix) {
          throw GradeFailure{"parse_error", "matrix division"};
        }
        scalars.push_back(k);
        continue;
      }
      if (!have) {
        acc = std::move(m);
        have = true;
        continue;
      }
      if (acc.cols != m.rows) throw GradeFailure{"parse_error", "matrix product of incompatible shapes"};
      if (static_cast<long>(acc.rows) * m.cols * acc.cols > 4096) throw GradeFailure{"too_large", "matrix too large"};
      Value prod;
      prod.kind = ValueKind::kMatrix;
      prod.rows = acc.rows;
      prod.cols = m.cols;
      for (int i = 0; i < acc.rows; ++i) {
        for (int j = 0; j < m.cols; ++j) {
          std::vector<int> terms;
          for (int t = 0; t < acc.cols; ++t) {
            terms.push_back(ast_.Add(MakeNode(NodeKind::kMul, {acc.items[static_cast<size_t>(i * acc.cols + t)].node,
                                                               m.items[static_cast<size_t>(t * m.cols + j)].node})));
          }
          Value cell;
          cell.node = terms.size() == 1 ? terms[0] : ast_.Add(MakeNode(NodeKind::kAdd, terms));
          prod.items.push_back(cell);
        }
      }
      acc = std::move(prod);
    }
    for (auto& cell : acc.items) {
      if (scalars.empty()) break;
      std::vector<int> f = scalars;
      f.push_back(cell.node);
      cell.node = ast_.Add(MakeNode(NodeKind::kMul, f));
    }
    (void)depth;
    return acc;
  }

  Ast& ast_;
  const Budget& budget_;
};

// ---- Comparison --------------------------------------------------------------------------

struct Cmp {
  Ast& ga;
  Ast& pa;
  const CompareContext& ctx;

  static const Value& Unwrap(const Value& v) {
    const Value* cur = &v;
    while (cur->kind == ValueKind::kList && cur->items.size() == 1) cur = &cur->items[0];
    return *cur;
  }

  bool Scalar(const Value& a, const Value& b, std::string* reason) {
    return ScalarEqual(ga, a.node, pa, b.node, ctx, reason);
  }

  bool Ordered(const Value& a, const Value& b, std::string* reason) {
    if (a.items.size() != b.items.size()) {
      *reason = "length_differs";
      return false;
    }
    for (size_t i = 0; i < a.items.size(); ++i) {
      if (!Eq(a.items[i], b.items[i], reason)) return false;
    }
    return true;
  }

  bool Unordered(const Value& a, const Value& b, std::string* reason) {
    std::string r;
    for (const auto& x : a.items) {
      bool found = false;
      for (const auto& y : b.items) {
        if (Eq(x, y, &r)) {
          found = true;
          break;
        }
      }
      if (!found) {
        *reason = "set_differs";
        return false;
      }
    }
    for (const auto& y : b.items) {
      bool found = false;
      for (const auto& x : a.items) {
        if (Eq(x, y, &r)) {
          found = true;
          break;
        }
      }
      if (!found) {
        *reason = "set_differs";
        return false;
      }
    }
    *reason = "set_equal";
    return true;
  }

  // An inequality chain (or one-sided inequality) as an interval over its variable.
  bool ChainToInterval(Ast& ast, const Value& rel, Value* interval, std::string* var) {
    if (rel.kind != ValueKind::kRelation) return false;
    auto is_less = [](int op) { return op == kLt || op == kLe; };
    auto is_greater = [](int op) { return op == kGt || op == kGe; };
    for (const auto& s : rel.items) {
      if (s.kind != ValueKind::kScalar) return false;
    }
    interval->kind = ValueKind::kInterval;
    interval->items.clear();
    if (rel.items.size() == 3) {
      int o1 = rel.ops[0], o2 = rel.ops[1];
      if (is_less(o1) && is_less(o2)) {
        interval->items = {rel.items[0], rel.items[2]};
        interval->lo_closed = o1 == kLe;
        interval->hi_closed = o2 == kLe;
      } else if (is_greater(o1) && is_greater(o2)) {
        interval->items = {rel.items[2], rel.items[0]};
        interval->lo_closed = o2 == kGe;
        interval->hi_closed = o1 == kGe;
      } else {
        return false;
      }
      *var = LowerNoSpace(NodeText(ast, rel.items[1].node));
      return true;
    }
    if (rel.items.size() == 2) {
      int op = rel.ops[0];
      if (!(is_less(op) || is_greater(op))) return false;
      bool var_left = !IsConstantNode(ast, rel.items[0].node);
      if (var_left == !IsConstantNode(ast, rel.items[1].node)) return false;
      const Value& var_side = var_left ? rel.items[0] : rel.items[1];
      const Value& bound = var_left ? rel.items[1] : rel.items[0];
      bool upper = var_left ? is_less(op) : is_greater(op);  // x < b  or  b > x
      bool closed = op == kLe || op == kGe;
      Value inf;
      int inf_node = ast.Add(MakeNode(NodeKind::kSymbol, {}, "infty"));
      inf.node = upper ? ast.Add(MakeNode(NodeKind::kNeg, {inf_node})) : inf_node;
      if (upper) {
        interval->items = {inf, bound};
        interval->hi_closed = closed;
        interval->lo_closed = false;
      } else {
        interval->items = {bound, inf};
        interval->lo_closed = closed;
        interval->hi_closed = false;
      }
      *var = LowerNoSpace(NodeText(ast, var_side.node));
      return true;
    }
    return false;
  }

  static void Canonical(int op, bool* strict, bool* swap) {
    // l op r  ->  (hi - lo) > 0 or >= 0
    *strict = op == kLt || op == kGt;
    *swap = op == kLt || op == kLe;
  }

  bool Relations(const Value& a, const Value& b, std::string* reason) {
    for (const auto& s : a.items) {
      if (s.kind != ValueKind::kScalar) return false;
    }
    for (const auto& s : b.items) {
      if (s.kind != ValueKind::kScalar) return false;
    }
    if (a.items.size() == 2 && b.items.size() == 2) {
      int oa = a.ops[0], ob = b.ops[0];
      auto eqlike = [](int op) { return op == kEq || op == kApprox; };
      if ((eqlike(oa) && eqlike(ob)) || (oa == kNe && ob == kNe)) {
        bool ok = DifferencesProportional(ga, a.items[0].node, a.items[1].node, pa, b.items[0].node,
                                          b.items[1].node, false, ctx);
        *reason = ok ? "equation_equal" : "equation_differs";
        return ok;
      }
      if (eqlike(oa) || eqlike(ob) || oa == kNe || ob == kNe) return false;
      bool sa, wa, sb, wb;
      Canonical(oa, &sa, &wa);
      Canonical(ob, &sb, &wb);
      if (sa != sb) return false;
      int al = a.items[wa ? 1 : 0].node, ar = a.items[wa ? 0 : 1].node;
      int bl = b.items[wb ? 1 : 0].node, br = b.items[wb ? 0 : 1].node;
      bool ok = DifferencesProportional(ga, al, ar, pa, bl, br, true, ctx);
      *reason = ok ? "inequality_equal" : "inequality_differs";
      return ok;
    }
    if (a.items.size() != b.items.size()) return false;
    // Chains: side by side, or reversed with flipped relations.
    auto flip = [](int op) {
      switch (op) {
        case kLt: return static_cast<int>(kGt);
        case kGt: return static_cast<int>(kLt);
        case kLe: return static_cast<int>(kGe);
        case kGe: return static_cast<int>(kLe);
        default: return op;
      }
    };
    for (int dir = 0; dir < 2; ++dir) {
      bool ok = true;
      size_t n = a.items.size();
      for (size_t i = 0; ok && i + 1 < n; ++i) {
        int ob = dir == 0 ? b.ops[i] : flip(b.ops[n - 2 - i]);
        ok = a.ops[i] == ob;
      }
      for (size_t i = 0; ok && i < n; ++i) {
        ok = Eq(a.items[i], b.items[dir == 0 ? i : n - 1 - i], reason);
      }
      if (ok) {
        *reason = "relation_equal";
        return true;
      }
    }
    return false;
  }

  bool Intervals(const Value& a, const Value& b, std::string* reason) {
    if (a.lo_closed != b.lo_closed || a.hi_closed != b.hi_closed) {
      *reason = "interval_ends_differ";
      return false;
    }
    bool ok = Eq(a.items[0], b.items[0], reason) && Eq(a.items[1], b.items[1], reason);
    if (ok) *reason = "interval_equal";
    return ok;
  }

  bool Eq(const Value& a0, const Value& b0, std::string* reason) {
    ctx.budget->Check();
    const Value& a = Unwrap(a0);
    const Value& b = Unwrap(b0);
    using K = ValueKind;
    // Assignments and memberships unwrap to their value against anything else.
    if (a.kind == K::kAssign && b.kind == K::kAssign) {
      if (LowerNoSpace(a.text) == LowerNoSpace(b.text)) return Eq(a.items[0], b.items[0], reason);
      if (a.items[0].kind == K::kScalar && b.items[0].kind == K::kScalar) {
        bool ok = DifferencesProportional(ga, a.node, a.items[0].node, pa, b.node, b.items[0].node, false, ctx);
        *reason = ok ? "equation_equal" : "equation_differs";
        return ok;
      }
      return false;
    }
    if ((a.kind == K::kAssign && b.kind == K::kRelation) || (a.kind == K::kRelation && b.kind == K::kAssign)) {
      const Value& as = a.kind == K::kAssign ? a : b;
      const Value& rel = a.kind == K::kAssign ? b : a;
      if (rel.items.size() == 2 && (rel.ops[0] == kEq || rel.ops[0] == kApprox) && as.items[0].kind == K::kScalar &&
          rel.items[0].kind == K::kScalar && rel.items[1].kind == K::kScalar) {
        bool ok = a.kind == K::kAssign
                      ? DifferencesProportional(ga, as.node, as.items[0].node, pa, rel.items[0].node,
                                                rel.items[1].node, false, ctx)
                      : DifferencesProportional(ga, rel.items[0].node, rel.items[1].node, pa, as.node,
                                                as.items[0].node, false, ctx);
        *reason = ok ? "equation_equal" : "equation_differs";
        return ok;
      }
      return false;
    }
    if (a.kind == K::kAssign) return Eq(a.items[0], b, reason);
    if (b.kind == K::kAssign) return Eq(a, b.items[0], reason);

    if (a.kind == K::kMember || b.kind == K::kMember) {
      if (a.kind == K::kMember && b.kind == K::kMember) {
        return LowerNoSpace(a.text) == LowerNoSpace(b.text) && Eq(a.items[0], b.items[0], reason);
      }
      const Value& m = a.kind == K::kMember ? a : b;
      const Value& other = a.kind == K::kMember ? b : a;
      if (other.kind == K::kRelation) {
        if (!ctx.options->allow_set_relation_comp) {
          *reason = "set_vs_relation";
          return false;
        }
        Value interval;
        std::string var;
        Ast& other_ast = a.kind == K::kMember ? pa : ga;
        if (!ChainToInterval(other_ast, other, &interval, &var) || var != LowerNoSpace(m.text)) return false;
        return a.kind == K::kMember ? Eq(m.items[0], interval, reason) : Eq(interval, m.items[0], reason);
      }
      return a.kind == K::kMember ? Eq(m.items[0], other, reason) : Eq(other, m.items[0], reason);
    }

    if (a.kind == K::kScalar && b.kind == K::kScalar) return Scalar(a, b, reason);
    if (a.kind == K::kText || b.kind == K::kText) {
      bool ok = a.kind == b.kind && LowerNoSpace(a.text) == LowerNoSpace(b.text);
      *reason = ok ? "text_equal" : "text_differs";
      return ok;
    }
    if (a.kind == K::kRelation && b.kind == K::kRelation) return Relations(a, b, reason);
    if (a.kind == K::kRelation || b.kind == K::kRelation) {
      const Value& rel = a.kind == K::kRelation ? a : b;
      const Value& other = a.kind == K::kRelation ? b : a;
      Ast& rel_ast = a.kind == K::kRelation ? ga : pa;
      Value interval;
      std::string var;
      if ((other.kind == K::kInterval || other.kind == K::kTuple) && ChainToInterval(rel_ast, rel, &interval, &var)) {
        return a.kind == K::kRelation ? Eq(interval, other, reason) : Eq(other, interval, reason);
      }
      *reason = "type_mismatch";
      return false;
    }
    if (a.kind == K::kInterval && b.kind == K::kInterval) return Intervals(a, b, reason);
    if ((a.kind == K::kInterval && b.kind == K::kTuple && b.maybe_interval) ||
        (b.kind == K::kInterval && a.kind == K::kTuple && a.maybe_interval)) {
      const Value& in = a.kind == K::kInterval ? a : b;
      if (in.lo_closed || in.hi_closed) {
        *reason = "interval_ends_differ";
        return false;
      }
      bool ok = Eq(a.items[0], b.items[0], reason) && Eq(a.items[1], b.items[1], reason);
      if (ok) *reason = "interval_equal";
      return ok;
    }
    if (a.kind == K::kUnion && b.kind == K::kUnion) return Unordered(a, b, reason);
    if (a.kind == K::kTuple && b.kind == K::kTuple) {
      bool ok = a.ratio == b.ratio && Ordered(a, b, reason);
      if (ok) *reason = "tuple_equal";
      return ok;
    }
    if ((a.kind == K::kTuple && b.kind == K::kList) || (a.kind == K::kList && b.kind == K::kTuple)) {
      bool ok = Ordered(a, b, reason);
      if (ok) *reason = "tuple_equal";
      return ok;
    }
    if ((a.kind == K::kList || a.kind == K::kSet) && (b.kind == K::kList || b.kind == K::kSet)) {
      return Unordered(a, b, reason);
    }
    if (a.kind == K::kMatrix && b.kind == K::kMatrix) {
      if (a.rows != b.rows || a.cols != b.cols) {
        *reason = "shape_differs";
        return false;
      }
      bool ok = Ordered(a, b, reason);
      if (ok) *reason = "matrix_equal";
      return ok;
    }
    if ((a.kind == K::kMatrix && b.kind == K::kTuple) || (a.kind == K::kTuple && b.kind == K::kMatrix)) {
      const Value& m = a.kind == K::kMatrix ? a : b;
      if (m.rows != 1 && m.cols != 1) return false;
      bool ok = Ordered(a, b, reason);
      if (ok) *reason = "vector_equal";
      return ok;
    }
    *reason = "type_mismatch";
    return false;
  }
};

}  // namespace

Value BuildValue(Ast& ast, const Budget& budget) {
  Builder builder(ast, budget);
  return builder.Build(ast.root, 0);
}

bool Equivalent(Ast& gold_ast, const Value& gold, Ast& pred_ast, const Value& pred, const CompareContext& ctx,
                std::string* reason) {
  Cmp cmp{gold_ast, pred_ast, ctx};
  return cmp.Eq(gold, pred, reason);
}

}  // namespace scorch::reward
