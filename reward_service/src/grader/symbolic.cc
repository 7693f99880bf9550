// Scalar comparison: exact rationals (__int128, overflow-checked) first; GiNaC for the rest.
// Every power and factorial is sized before GiNaC computes it (§9.9).
#include "symbolic.h"

#include <ginac/ginac.h>

#include <cmath>
#include <complex>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>

namespace scorch::reward {
namespace {

using i128 = __int128;

// ---- Exact rationals on __int128 -------------------------------------------------------

struct Rat {
  i128 num = 0;
  i128 den = 1;
  bool inexact = false;  // a decimal literal was involved
};

constexpr i128 kLimit = (static_cast<i128>(1) << 120);

i128 Abs(i128 v) { return v < 0 ? -v : v; }
i128 Gcd(i128 a, i128 b) {
  a = Abs(a);
  b = Abs(b);
  while (b) {
    i128 t = a % b;
    a = b;
    b = t;
  }
  return a;
}
bool MulOk(i128 a, i128 b, i128* out) {
  if (a == 0 || b == 0) {
    *out = 0;
    return true;
  }
  if (Abs(a) > kLimit / Abs(b)) return false;
  *out = a * b;
  return true;
}
std::optional<Rat> Make(i128 num, i128 den, bool inexact) {
  if (den == 0) return std::nullopt;
  if (den < 0) {
    num = -num;
    den = -den;
  }
  i128 g = Gcd(num, den);
  if (g > 1) {
    num /= g;
    den /= g;
  }
  if (Abs(num) > kLimit || den > kLimit) return std::nullopt;
  return Rat{num, den, inexact};
}
std::optional<Rat> RAdd(const Rat& a, const Rat& b) {
  i128 x, y, d;
  if (!MulOk(a.num, b.den, &x) || !MulOk(b.num, a.den, &y) || !MulOk(a.den, b.den, &d)) return std::nullopt;
  return Make(x + y, d, a.inexact || b.inexact);
}
std::optional<Rat> RMul(const Rat& a, const Rat& b) {
  i128 n, d;
  if (!MulOk(a.num, b.num, &n) || !MulOk(a.den, b.den, &d)) return std::nullopt;
  return Make(n, d, a.inexact || b.inexact);
}

std::optional<Rat> ParseNumber(const std::string& text, bool decimal) {
  if (text.size() > 30) return std::nullopt;
  i128 num = 0, den = 1;
  bool after_point = false;
  for (char c : text) {
    if (c == '.') {
      after_point = true;
      continue;
    }
    num = num * 10 + (c - '0');
    if (after_point) den *= 10;
  }
  return Make(num, den, decimal);
}

// Evaluates a pure-rational subtree iteratively-bounded (the AST depth is bounded).
std::optional<Rat> EvalRational(const Ast& ast, int node, int depth = 0) {
  if (depth > 64) return std::nullopt;
  const Node& n = ast.at(node);
  switch (n.kind) {
    case NodeKind::kNumber:
      return ParseNumber(n.text, n.decimal);
    case NodeKind::kNeg: {
      auto v = EvalRational(ast, n.kids[0], depth + 1);
      if (!v) return v;
      v->num = -v->num;
      return v;
    }
    case NodeKind::kRecip: {
      auto v = EvalRational(ast, n.kids[0], depth + 1);
      if (!v || v->num == 0) return std::nullopt;
      return Make(v->den, v->num, v->inexact);
    }
    case NodeKind::kAdd:
    case NodeKind::kMul: {
      std::optional<Rat> acc = Rat{n.kind == NodeKind::kAdd ? 0 : 1, 1, false};
      for (int k : n.kids) {
        auto v = EvalRational(ast, k, depth + 1);
        if (!v) return v;
        acc = n.kind == NodeKind::kAdd ? RAdd(*acc, *v) : RMul(*acc, *v);
        if (!acc) return acc;
      }
      return acc;
    }
    case NodeKind::kPow: {
      auto base = EvalRational(ast, n.kids[0], depth + 1);
      auto exp = EvalRational(ast, n.kids[1], depth + 1);
      if (!base || !exp || exp->den != 1 || Abs(exp->num) > 128) return std::nullopt;
      int e = static_cast<int>(exp->num);
      std::optional<Rat> acc = Rat{1, 1, base->inexact};
      for (int k = 0; k < (e < 0 ? -e : e); ++k) {
        acc = RMul(*acc, *base);
        if (!acc) return acc;
      }
      if (e < 0) {
        if (acc->num == 0) return std::nullopt;
        return Make(acc->den, acc->num, acc->inexact);
      }
      return acc;
    }
    case NodeKind::kFactorial: {
      auto v = EvalRational(ast, n.kids[0], depth + 1);
      if (!v || v->den != 1 || v->num < 0 || v->num > 30) return std::nullopt;
      i128 f = 1;
      for (i128 k = 2; k <= v->num; ++k) f *= k;
      return Rat{f, 1, v->inexact};
    }
    default:
      return std::nullopt;
  }
}

// A value is "terminating" when its denominator has no prime factors but 2 and 5.
bool Terminating(i128 den) {
  while (den % 2 == 0) den /= 2;
  while (den % 5 == 0) den /= 5;
  return den == 1;
}

long double ToLD(const Rat& r) { return static_cast<long double>(r.num) / static_cast<long double>(r.den); }

bool RoundedEqual(long double a, long double b, int places) {
  long double scale = std::pow(10.0L, places);
  return std::llround(a * scale) == std::llround(b * scale);
}

bool CloseEnough(long double a, long double b, double rel_tol) {
  long double diff = std::fabs(a - b);
  long double mag = std::max(std::fabs(a), std::fabs(b));
  return diff <= rel_tol * mag || diff <= 1e-300L;
}

// ---- GiNaC ------------------------------------------------------------------------------

std::mutex& GinacMutex() {
  static std::mutex mu;
  return mu;
}

struct Converter {
  const Ast& ast;
  const Budget& budget;
  std::map<std::string, GiNaC::symbol>& symbols;
  bool inexact = false;
  bool has_infinity = false;
  int steps = 0;

  GiNaC::ex Sym(const std::string& name) {
    auto it = symbols.find(name);
    if (it == symbols.end()) it = symbols.emplace(name, GiNaC::symbol(name)).first;
    return it->second;
  }

  static double Digits10(const GiNaC::numeric& v) {
    // Decimal digits of |v| for an integer, or of numerator/denominator for a rational.
    GiNaC::numeric a = GiNaC::abs(v);
    if (a.is_zero()) return 1;
    GiNaC::numeric num = a.numer(), den = a.denom();
    auto digits = [](const GiNaC::numeric& x) {
      // integer_length gives bits; bits * log10(2) ~ digits.
      return static_cast<double>(GiNaC::numeric(x).int_length()) * 0.30103 + 1;
    };
    return std::max(digits(num), digits(den));
  }

  GiNaC::ex Convert(int node) {
    if ((++steps & 63) == 0) budget.Check();
    const Node& n = ast.at(node);
    switch (n.kind) {
      case NodeKind::kNumber: {
        if (static_cast<int>(n.text.size()) > budget.max_digits) {
          throw GradeFailure{"too_large", "number has too many digits"};
        }
        std::string digits;
        int frac = 0;
        bool after = false;
        for (char c : n.text) {
          if (c == '.') {
            after = true;
            continue;
          }
          digits += c;
          if (after) ++frac;
        }
        size_t nz = digits.find_first_not_of('0');
        digits = nz == std::string::npos ? "0" : digits.substr(nz);
        if (n.decimal) inexact = true;
        GiNaC::numeric v(digits.c_str());
        if (frac) v = v.div(GiNaC::numeric(10).power(GiNaC::numeric(frac)));
        return v;
      }
      case NodeKind::kSymbol: {
        if (n.text == "pi" || n.text == "Pi") return GiNaC::Pi;
        if (n.text == "e") return GiNaC::exp(GiNaC::ex(1));
        if (n.text == "i") return GiNaC::I;
        if (n.text == "infty") has_infinity = true;
        return Sym(n.text);
      }
      case NodeKind::kText:
        return Sym("text:" + n.text);
      case NodeKind::kAdd: {
        GiNaC::ex sum = 0;
        for (int k : n.kids) sum += Convert(k);
        return sum;
      }
      case NodeKind::kMul: {
        GiNaC::ex prod = 1;
        for (int k : n.kids) prod *= Convert(k);
        return prod;
      }
      case NodeKind::kNeg:
        return -Convert(n.kids[0]);
      case NodeKind::kRecip: {
        GiNaC::ex d = Convert(n.kids[0]);
        if (d.is_zero()) throw GradeFailure{"parse_error", "division by zero"};
        return GiNaC::pow(d, -1);
      }
      case NodeKind::kPow:
        return Power(Convert(n.kids[0]), Convert(n.kids[1]));
      case NodeKind::kSqrt: {
        GiNaC::ex radicand = Convert(n.kids[0]);
        if (n.kids.size() > 1) {
          GiNaC::ex index = Convert(n.kids[1]);
          if (index.is_zero()) throw GradeFailure{"parse_error", "zeroth root"};
          return Power(radicand, GiNaC::pow(index, -1));
        }
        return Power(radicand, GiNaC::numeric(1, 2));
      }
      case NodeKind::kFactorial: {
        GiNaC::ex arg = Convert(n.kids[0]);
        if (GiNaC::is_a<GiNaC::numeric>(arg)) {
          GiNaC::numeric v = GiNaC::ex_to<GiNaC::numeric>(arg);
          if (!v.is_nonneg_integer()) throw GradeFailure{"parse_error", "factorial of a non-integer"};
          if (v > GiNaC::numeric(100000)) throw GradeFailure{"too_large", "factorial too large"};
          double digits = std::lgamma(v.to_double() + 1) / std::log(10.0);
          if (digits > budget.max_digits) throw GradeFailure{"too_large", "factorial has too many digits"};
          return GiNaC::factorial(v);
        }
        return GiNaC::factorial(arg);
      }
      case NodeKind::kAbs:
        return GiNaC::abs(Convert(n.kids[0]));
      case NodeKind::kFunc:
        return Function(n);
      default:
        throw GradeFailure{"not_scalar", "a structure inside an expression"};
    }
  }

  GiNaC::ex Power(const GiNaC::ex& base, const GiNaC::ex& exp) {
    if (GiNaC::is_a<GiNaC::numeric>(exp)) {
      GiNaC::numeric e = GiNaC::ex_to<GiNaC::numeric>(exp);
      if (GiNaC::is_a<GiNaC::numeric>(base)) {
        GiNaC::numeric b = GiNaC::ex_to<GiNaC::numeric>(base);
        if (b.is_zero() && e.is_negative()) throw GradeFailure{"parse_error", "division by zero"};
        // Complex values are bounded through their real and imaginary parts, so (1+i)^{10^9}
        // is refused like 2^{10^9} instead of being computed.
        double mag = std::max(std::fabs(e.real().to_double()), std::fabs(e.imag().to_double()));
        double base_digits = std::max(Digits10(b.real()), Digits10(b.imag())) + (b.is_real() ? 0 : 1);
        bool unit = b.is_real() && GiNaC::abs(b) == 1;
        if (!b.is_zero() && !unit && !(mag * base_digits <= budget.max_digits)) {
          throw GradeFailure{"too_large", "power has more than " + std::to_string(budget.max_digits) + " digits"};
        }
      } else if (e.is_integer() && GiNaC::abs(e) > GiNaC::numeric(100000)) {
        throw GradeFailure{"too_large", "exponent too large"};
      }
    } else if (GiNaC::is_a<GiNaC::numeric>(base)) {
      // Symbolic exponent: fine to keep unevaluated.
    }
    return GiNaC::pow(base, exp);
  }

  GiNaC::ex Function(const Node& n) {
    const std::string& f = n.text;
    if (f == "sum" || f == "prod") {
      // An opaque operator: the bounds become a named factor, the body stays algebraic, so
      // reordered bodies still compare equal.
      std::string name = "\\" + f + "_{" + NodeText(ast, n.kids[1]) + "}^{" + NodeText(ast, n.kids[2]) + "}";
      return Sym(name) * Convert(n.kids[0]);
    }
    if (f == "binom") {
      GiNaC::ex a = Convert(n.kids[0]), b = Convert(n.kids[1]);
      if (GiNaC::is_a<GiNaC::numeric>(a) && GiNaC::is_a<GiNaC::numeric>(b)) {
        GiNaC::numeric x = GiNaC::ex_to<GiNaC::numeric>(a);
        if (x > GiNaC::numeric(30000)) throw GradeFailure{"too_large", "binomial too large"};
      }
      return GiNaC::binomial(a, b);
    }
    GiNaC::ex x = Convert(n.kids[0]);
    if (f == "sin") return GiNaC::sin(x);
    if (f == "cos") return GiNaC::cos(x);
    if (f == "tan") return GiNaC::tan(x);
    if (f == "sec") return 1 / GiNaC::cos(x);
    if (f == "csc" || f == "cosec") return 1 / GiNaC::sin(x);
    if (f == "cot") return GiNaC::cos(x) / GiNaC::sin(x);
    if (f == "arcsin") return GiNaC::asin(x);
    if (f == "arccos") return GiNaC::acos(x);
    if (f == "arctan") return GiNaC::atan(x);
    if (f == "sinh") return GiNaC::sinh(x);
    if (f == "cosh") return GiNaC::cosh(x);
    if (f == "tanh") return GiNaC::tanh(x);
    if (f == "exp") return Power(GiNaC::exp(GiNaC::ex(1)), x);
    if (f == "ln") return GiNaC::log(x);
    if (f == "log" || f == "lg") {
      if (n.kids.size() > 1) return GiNaC::log(x) / GiNaC::log(Convert(n.kids[1]));
      return GiNaC::log(x);
    }
    // Anything else is an opaque function of its argument's text.
    return Sym(f + "(" + NodeText(ast, n.kids[0]) + ")");
  }
};

// Largest integer exponent over a sum inside `e` (expand would multiply out that many terms).
bool SafeToExpand(const GiNaC::ex& e, int depth = 0) {
  if (depth > 1000) return false;
  if (GiNaC::is_a<GiNaC::power>(e)) {
    GiNaC::ex ex = e.op(1);
    if (GiNaC::is_a<GiNaC::numeric>(ex) && GiNaC::is_a<GiNaC::add>(e.op(0))) {
      GiNaC::numeric n = GiNaC::ex_to<GiNaC::numeric>(ex);
      if (GiNaC::abs(n) > GiNaC::numeric(64)) return false;
      // Terms of (t_1 + ... + t_k)^n: C(n + k - 1, k - 1); keep expansions small.
      double k = static_cast<double>(e.op(0).nops());
      double terms = 1;
      double m = std::fabs(std::floor(n.to_double()));
      for (double j = 1; j < k && terms < 1e9; ++j) terms = terms * (m + j) / j;
      if (terms > 3000) return false;
    }
  }
  for (size_t i = 0; i < e.nops(); ++i) {
    if (!SafeToExpand(e.op(i), depth + 1)) return false;
  }
  return true;
}

void CollectSymbols(const GiNaC::ex& e, std::set<GiNaC::ex, GiNaC::ex_is_less>* out, int depth = 0) {
  if (depth > 1000) return;
  if (GiNaC::is_a<GiNaC::symbol>(e)) {
    out->insert(e);
    return;
  }
  for (size_t i = 0; i < e.nops(); ++i) CollectSymbols(e.op(i), out, depth + 1);
}

// Largest magnitude a function argument may have before numeric evaluation. CLN reduces a
// trigonometric argument modulo pi at a precision that grows with the argument's exponent, so
// sin(10^(10^9)) would allocate gigabytes and run for seconds inside one uninterruptible call
// (the grader's deadline is cooperative). No real answer needs sin of a number this large.
constexpr double kMaxFunctionArgument = 1e8;

// True when every function inside `e` has a finite, moderate numeric argument (or a symbolic
// one, which evalf leaves alone), so evalf(e) is cheap. Checks innermost functions first.
bool SafeToEvaluate(const GiNaC::ex& e, int depth = 0) {
  if (depth > 1000) return false;
  for (size_t i = 0; i < e.nops(); ++i) {
    if (!SafeToEvaluate(e.op(i), depth + 1)) return false;
  }
  if (!GiNaC::is_a<GiNaC::function>(e) || e.nops() == 0) return true;
  GiNaC::ex arg = GiNaC::evalf(e.op(0));
  if (!GiNaC::is_a<GiNaC::numeric>(arg)) return true;
  const GiNaC::numeric n = GiNaC::ex_to<GiNaC::numeric>(arg);
  const double re = GiNaC::real(n).to_double();
  const double im = GiNaC::imag(n).to_double();
  return std::isfinite(re) && std::isfinite(im) && std::fabs(re) <= kMaxFunctionArgument &&
         std::fabs(im) <= kMaxFunctionArgument;
}

std::optional<std::complex<double>> Numeric(const GiNaC::ex& e) {
  try {
    if (!SafeToEvaluate(e)) return std::nullopt;
    GiNaC::ex v = GiNaC::evalf(e);
    if (!GiNaC::is_a<GiNaC::numeric>(v)) return std::nullopt;
    GiNaC::numeric n = GiNaC::ex_to<GiNaC::numeric>(v);
    double re = GiNaC::real(n).to_double();
    double im = GiNaC::imag(n).to_double();
    if (!std::isfinite(re) || !std::isfinite(im)) return std::nullopt;
    return std::complex<double>(re, im);
  } catch (...) {
    return std::nullopt;
  }
}

bool ComplexClose(std::complex<double> a, std::complex<double> b, double tol) {
  double diff = std::abs(a - b);
  double mag = std::max(std::abs(a), std::abs(b));
  return diff <= tol * mag || diff <= 1e-12;
}

// GiNaC comparison of two expressions (caller holds the lock).
bool GinacEqual(const GiNaC::ex& a, const GiNaC::ex& b, bool inexact, bool infinite, const CompareContext& ctx,
                std::string* reason) {
  const GraderOptions& opt = *ctx.options;
  GiNaC::ex diff = a - b;
  if (diff.is_zero()) {
    *reason = "symbolic_equal";
    return true;
  }
  if (infinite) return false;  // only structural equality for expressions with \infty
  ctx.budget->Check();
  if (SafeToExpand(diff)) {
    try {
      GiNaC::ex simplified = GiNaC::normal(GiNaC::expand(diff));
      if (simplified.is_zero()) {
        *reason = "symbolic_equal";
        return true;
      }
    } catch (const std::exception&) {
      // fall through to numeric evaluation
    }
  }
  ctx.budget->Check();
  std::set<GiNaC::ex, GiNaC::ex_is_less> syms;
  CollectSymbols(a, &syms);
  CollectSymbols(b, &syms);
  double tol = inexact ? opt.rel_tol : opt.symbolic_rel_tol;
  if (syms.empty()) {
    auto va = Numeric(a), vb = Numeric(b);
    if (!va || !vb) return false;
    if (ComplexClose(*va, *vb, tol)) {
      *reason = inexact ? "numeric_close" : "numeric_equal";
      return true;
    }
    if (inexact && opt.float_rounding >= 0 && std::abs(va->imag()) < 1e-12 && std::abs(vb->imag()) < 1e-12 &&
        RoundedEqual(va->real(), vb->real(), opt.float_rounding)) {
      *reason = "numeric_rounded";
      return true;
    }
    return false;
  }
  // Free symbols: three random points (deterministic seed), all must agree.
  std::mt19937 rng(12345);
  std::uniform_real_distribution<double> dist(0.5, 2.5);
  for (int trial = 0; trial < 3; ++trial) {
    ctx.budget->Check();
    GiNaC::exmap subs;
    for (const auto& s : syms) subs[s] = GiNaC::numeric(dist(rng));
    std::optional<std::complex<double>> va, vb;
    try {
      va = Numeric(a.subs(subs));
      vb = Numeric(b.subs(subs));
    } catch (...) {
      return false;
    }
    if (!va || !vb || !ComplexClose(*va, *vb, opt.symbolic_rel_tol)) return false;
  }
  *reason = "numeric_points_equal";
  return true;
}

}  // namespace

bool IsConstantNode(const Ast& ast, int node) {
  std::vector<int> stack{node};
  while (!stack.empty()) {
    const Node& n = ast.at(stack.back());
    stack.pop_back();
    if (n.kind == NodeKind::kSymbol && !(n.text == "pi" || n.text == "e" || n.text == "i" || n.text == "infty")) {
      return false;
    }
    if (n.kind == NodeKind::kText) return false;
    for (int k : n.kids) stack.push_back(k);
  }
  return true;
}

bool ScalarEqual(const Ast& a, int na, const Ast& b, int nb, const CompareContext& ctx, std::string* reason) {
  const GraderOptions& opt = *ctx.options;
  auto ra = EvalRational(a, na);
  auto rb = EvalRational(b, nb);
  if (ra && rb) {
    if (ra->num == rb->num && ra->den == rb->den) {
      *reason = "numeric_equal";
      return true;
    }
    // Tolerance only where a decimal meets a value that no finite decimal writes (§9.3).
    bool a_dec = ra->inexact, b_dec = rb->inexact;
    bool applies = (a_dec && !Terminating(rb->den)) || (b_dec && !Terminating(ra->den));
    if (applies) {
      long double x = ToLD(*ra), y = ToLD(*rb);
      if (CloseEnough(x, y, opt.rel_tol)) {
        *reason = "numeric_close";
        return true;
      }
      if (opt.float_rounding >= 0 && RoundedEqual(x, y, opt.float_rounding)) {
        *reason = "numeric_rounded";
        return true;
      }
    }
    *reason = "not_equal";
    return false;
  }
  std::lock_guard<std::mutex> lock(GinacMutex());
  std::map<std::string, GiNaC::symbol> symbols;
  Converter ca{a, *ctx.budget, symbols};
  Converter cb{b, *ctx.budget, symbols};
  try {
    GiNaC::ex ea = ca.Convert(na);
    GiNaC::ex eb = cb.Convert(nb);
    bool inexact = ca.inexact || cb.inexact;
    // Exact rationals (big ones): same rule as above.
    if (GiNaC::is_a<GiNaC::numeric>(ea) && GiNaC::is_a<GiNaC::numeric>(eb)) {
      GiNaC::numeric x = GiNaC::ex_to<GiNaC::numeric>(ea), y = GiNaC::ex_to<GiNaC::numeric>(eb);
      if (x == y) {
        *reason = "numeric_equal";
        return true;
      }
      if (x.is_rational() && y.is_rational()) {
        auto terminating = [](GiNaC::numeric d) {
          while (GiNaC::mod(d, 2).is_zero()) d = d / 2;
          while (GiNaC::mod(d, 5).is_zero()) d = d / 5;
          return d == 1;
        };
        bool applies = (ca.inexact && !terminating(y.denom())) || (cb.inexact && !terminating(x.denom()));
        if (!applies) {
          *reason = "not_equal";
          return false;
        }
      }
    }
    bool equal = GinacEqual(ea, eb, inexact, ca.has_infinity || cb.has_infinity, ctx, reason);
    if (!equal) *reason = "not_equal";
    return equal;
  } catch (const GradeFailure&) {
    throw;
  } catch (const std::exception& e) {
    *reason = "not_equal";
    return false;
  }
}

bool DifferencesProportional(const Ast& a, int l1, int r1, const Ast& b, int l2, int r2, bool positive,
                             const CompareContext& ctx) {
  std::lock_guard<std::mutex> lock(GinacMutex());
  std::map<std::string, GiNaC::symbol> symbols;
  Converter ca{a, *ctx.budget, symbols};
  Converter cb{b, *ctx.budget, symbols};
  try {
    GiNaC::ex d1 = ca.Convert(l1) - ca.Convert(r1);
    GiNaC::ex d2 = cb.Convert(l2) - cb.Convert(r2);
    if (!SafeToExpand(d1) || !SafeToExpand(d2)) return false;
    d1 = GiNaC::normal(GiNaC::expand(d1));
    d2 = GiNaC::normal(GiNaC::expand(d2));
    if (d1.is_zero() || d2.is_zero()) return d1.is_zero() && d2.is_zero();
    GiNaC::ex q = GiNaC::normal(d1 / d2);
    if (!GiNaC::is_a<GiNaC::numeric>(q)) {
      // Constant but not a plain number (e.g. sqrt(2)): evaluate.
      std::set<GiNaC::ex, GiNaC::ex_is_less> syms;
      CollectSymbols(q, &syms);
      if (!syms.empty()) return false;
      auto v = Numeric(q);
      if (!v || std::abs(v->imag()) > 1e-12 || v->real() == 0) return false;
      return !positive || v->real() > 0;
    }
    GiNaC::numeric c = GiNaC::ex_to<GiNaC::numeric>(q);
    if (c.is_zero() || !c.is_real()) return false;
    return !positive || c.is_positive();
  } catch (const GradeFailure&) {
    throw;
  } catch (const std::exception&) {
    return false;
  }
}

}  // namespace scorch::reward
