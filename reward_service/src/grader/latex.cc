// scorch's LaTeX answer parser. See latex.h for the contract (bounded depth, n-ary chains).
#include "scorch/reward/latex.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace scorch::reward {

void Budget::Check() const {
  if (Expired()) throw GradeFailure{"deadline", "grading deadline passed"};
}

int Ast::Add(Node node) {
  nodes.push_back(std::move(node));
  return static_cast<int>(nodes.size()) - 1;
}

namespace {

enum class Tok : uint8_t {
  kEnd, kNumber, kLetter, kCommand, kOp, kRel, kOpen, kClose, kSep, kRowSep, kAmp, kOther
};

struct Token {
  Tok type = Tok::kEnd;
  std::string_view text;  // number digits, letter, command name, op char, bracket
  int rel = 0;            // for kRel
  char ch = 0;            // for kOp/kOpen/kClose/kSep: the char ('{'/'}' for \{ \} is 's'/'S')
};

bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }

struct RelName {
  const char* name;
  int op;
};
const RelName kRelCommands[] = {{"le", kLe},      {"leq", kLe},     {"leqslant", kLe}, {"ge", kGe},
                                {"geq", kGe},     {"geqslant", kGe}, {"ne", kNe},      {"neq", kNe},
                                {"lt", kLt},      {"gt", kGt},      {"approx", kApprox}, {"simeq", kApprox},
                                {"equiv", kEq},   {"in", kIn},      {"sim", kApprox}};

std::vector<Token> Lex(std::string_view s, const Budget& budget) {
  std::vector<Token> toks;
  toks.reserve(s.size() / 2 + 4);
  size_t i = 0;
  const size_t n = s.size();
  while (i < n) {
    char c = s[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      ++i;
      continue;
    }
    Token t;
    if (IsDigit(c) || (c == '.' && i + 1 < n && IsDigit(s[i + 1]))) {
      size_t j = i;
      while (j < n && IsDigit(s[j])) ++j;
      if (j + 1 < n + 1 && j < n && s[j] == '.' && j + 1 < n && IsDigit(s[j + 1])) {
        ++j;
        while (j < n && IsDigit(s[j])) ++j;
      }
      t.type = Tok::kNumber;
      t.text = s.substr(i, j - i);
      i = j;
    } else if (IsAlpha(c)) {
      size_t j = i;
      while (j < n && IsAlpha(s[j])) ++j;
      std::string_view word = s.substr(i, j - i);
      if (word == "and" || word == "or" || word == "und" || word == "et") {
        t.type = Tok::kSep;
        t.ch = ',';
        t.text = word;
        i = j;
      } else {
        t.type = Tok::kLetter;
        t.text = s.substr(i, 1);
        ++i;
      }
    } else if (c == '\\') {
      if (i + 1 >= n) {
        ++i;
        continue;  // a lone trailing backslash
      }
      char d = s[i + 1];
      if (IsAlpha(d)) {
        size_t j = i + 1;
        while (j < n && IsAlpha(s[j])) ++j;
        std::string_view name = s.substr(i + 1, j - i - 1);
        i = j;
        bool is_rel = false;
        for (const RelName& r : kRelCommands) {
          if (name == r.name) {
            t.type = Tok::kRel;
            t.rel = r.op;
            is_rel = true;
            break;
          }
        }
        if (!is_rel) {
          if (name == "cdot" || name == "times" || name == "ast") {
            t.type = Tok::kOp;
            t.ch = '*';
          } else if (name == "div") {
            t.type = Tok::kOp;
            t.ch = '/';
          } else if (name == "colon") {
            t.type = Tok::kOp;
            t.ch = ':';
          } else if (name == "lbrace") {
            t.type = Tok::kOpen;
            t.ch = 's';
          } else if (name == "rbrace") {
            t.type = Tok::kClose;
            t.ch = 'S';
          } else if (name == "langle") {
            t.type = Tok::kOpen;
            t.ch = '(';
          } else if (name == "rangle") {
            t.type = Tok::kClose;
            t.ch = ')';
          } else {
            t.type = Tok::kCommand;
            t.text = name;
          }
        }
      } else if (d == '\\') {
        t.type = Tok::kRowSep;
        i += 2;
      } else if (d == '{') {
        t.type = Tok::kOpen;
        t.ch = 's';
        i += 2;
      } else if (d == '}') {
        t.type = Tok::kClose;
        t.ch = 'S';
        i += 2;
      } else if (d == '|') {
        t.type = Tok::kOp;
        t.ch = '|';
        i += 2;
      } else {
        i += 2;  // \, \; \! and friends were normalised away; ignore the rest
        continue;
      }
    } else {
      ++i;
      switch (c) {
        case '+': case '-': case '*': case '/': case '^': case '_': case '!': case '\'': case '|': case ':':
          t.type = Tok::kOp;
          t.ch = c;
          if (c == '!' && i < n && s[i] == '=') {
            t.type = Tok::kRel;
            t.rel = kNe;
            ++i;
          }
          break;
        case '=':
          t.type = Tok::kRel;
          t.rel = kEq;
          if (i < n && s[i] == '<') { t.rel = kLe; ++i; }
          else if (i < n && s[i] == '>') { t.rel = kGe; ++i; }
          else if (i < n && s[i] == '=') { ++i; }
          break;
        case '<':
          t.type = Tok::kRel;
          t.rel = kLt;
          if (i < n && s[i] == '=') { t.rel = kLe; ++i; }
          break;
        case '>':
          t.type = Tok::kRel;
          t.rel = kGt;
          if (i < n && s[i] == '=') { t.rel = kGe; ++i; }
          break;
        case '(': case '[': case '{':
          t.type = Tok::kOpen;
          t.ch = c;
          break;
        case ')': case ']': case '}':
          t.type = Tok::kClose;
          t.ch = c;
          break;
        case ',': case ';':
          t.type = Tok::kSep;
          t.ch = c;
          break;
        case '&':
          t.type = Tok::kAmp;
          break;
        default:
          t.type = Tok::kOther;
          t.text = s.substr(i - 1, 1);
          break;
      }
    }
    toks.push_back(t);
    if ((toks.size() & 1023) == 0) budget.Check();
  }
  toks.push_back(Token{});
  return toks;
}

const char* const kFunctions[] = {"sin",    "cos",    "tan",    "sec",    "csc",    "cot",  "arcsin", "arccos",
                                  "arctan", "sinh",   "cosh",   "tanh",   "ln",     "log",  "exp",    "lg",
                                  "arcsec", "arccsc", "arccot", "cosec",  "det",    "gcd",  "lcm",    "max",
                                  "min",    "deg",    "Re",     "Im",     "arg",    "sgn"};

const char* const kGreek[] = {"alpha", "beta",  "gamma", "delta",  "epsilon", "varepsilon", "zeta",  "eta",
                              "theta", "vartheta", "iota", "kappa", "lambda", "mu",  "nu",    "xi",
                              "rho",   "sigma", "tau",   "upsilon", "phi",   "varphi", "chi",   "psi",
                              "omega", "Gamma", "Delta", "Theta",  "Lambda", "Xi",    "Sigma", "Phi",
                              "Psi",   "Omega", "ell",   "varpi",  "varrho", "Pi"};

const char* const kIgnoredCommands[] = {"displaystyle", "textstyle", "limits", "nolimits", "mathrm",
                                        "mathbf", "boldsymbol", "mathit", "mathcal", "mathbb"};

const char* const kWrapperCommands[] = {"overline", "vec", "hat", "bar", "tilde", "overrightarrow",
                                        "underline", "widehat", "overleftrightarrow", "dot", "ddot",
                                        "mathcal", "mathbb", "mathfrak", "boxed", "fbox", "phantom"};

bool InList(std::string_view name, const char* const* list, size_t count) {
  for (size_t i = 0; i < count; ++i) {
    if (name == list[i]) return true;
  }
  return false;
}
template <size_t N>
bool InList(std::string_view name, const char* const (&list)[N]) {
  return InList(name, list, N);
}

class Parser {
 public:
  Parser(std::vector<Token> toks, const Budget& budget) : toks_(std::move(toks)), budget_(budget) {}

  Ast Run() {
    ast_.root = ParseList(Tok::kEnd, 0);
    if (Peek().type != Tok::kEnd) Fail("unexpected token after the answer");
    return std::move(ast_);
  }

 private:
  [[noreturn]] void Fail(const std::string& what) { throw GradeFailure{"parse_error", what}; }

  const Token& Peek(size_t k = 0) const {
    size_t i = std::min(pos_ + k, toks_.size() - 1);
    return toks_[i];
  }
  const Token& Next() {
    const Token& t = toks_[pos_];
    if (pos_ + 1 < toks_.size()) ++pos_;
    if ((++steps_ & 255) == 0) budget_.Check();
    return t;
  }
  bool IsOp(char c, size_t k = 0) const { return Peek(k).type == Tok::kOp && Peek(k).ch == c; }

  int Make(Node node) {
    int d = 1;
    for (int k : node.kids) d = std::max(d, ast_.at(k).depth + 1);
    node.depth = d;
    if (d > 4 * budget_.max_depth + 16) throw GradeFailure{"too_deep", "expression nested too deeply"};
    if (static_cast<int>(ast_.nodes.size()) >= budget_.max_nodes) {
      throw GradeFailure{"too_large", "answer has too many parts"};
    }
    return ast_.Add(std::move(node));
  }
  int Leaf(NodeKind kind, std::string text, bool decimal = false) {
    Node n;
    n.kind = kind;
    n.text = std::move(text);
    n.decimal = decimal;
    return Make(std::move(n));
  }
  int Unary(NodeKind kind, int kid, std::string text = {}) {
    Node n;
    n.kind = kind;
    n.kids = {kid};
    n.text = std::move(text);
    return Make(std::move(n));
  }

  struct DepthGuard {
    Parser* p;
    explicit DepthGuard(Parser* parser) : p(parser) {
      if (++p->depth_ > p->budget_.max_depth) {
        throw GradeFailure{"too_deep", "nesting deeper than " + std::to_string(p->budget_.max_depth)};
      }
    }
    ~DepthGuard() { --p->depth_; }
  };

  static bool IsCloser(const Token& t, Tok end) {
    if (t.type == Tok::kEnd) return true;
    if (end == Tok::kClose && t.type == Tok::kClose) return true;
    if (end == Tok::kAmp && (t.type == Tok::kAmp || t.type == Tok::kRowSep)) return true;
    if (end == Tok::kAmp && t.type == Tok::kCommand && t.text == "end") return true;
    return false;
  }

  // Items separated by , ; "and" "or" until `end`. Returns one node (a kList when 2+ items).
  int ParseList(Tok end, char open) {
    std::vector<int> items;
    while (true) {
      while (Peek().type == Tok::kSep) Next();  // empty items ("19, 46, and 82")
      if (IsCloser(Peek(), end)) break;
      items.push_back(ParseRelation());
      if (Peek().type == Tok::kSep) continue;
      if (IsCloser(Peek(), end)) break;
      Fail("expected a separator");
    }
    if (items.empty()) {
      Node n;
      n.kind = open == 's' ? NodeKind::kSet : NodeKind::kList;
      return Make(std::move(n));
    }
    if (items.size() == 1 && open == 0) return items[0];
    Node n;
    n.kind = NodeKind::kList;
    n.kids = std::move(items);
    return Make(std::move(n));
  }

  int ParseRelation() {
    std::vector<int> sides{ParseSetExpr()};
    std::vector<int> ops;
    while (Peek().type == Tok::kRel) {
      ops.push_back(Next().rel);
      sides.push_back(ParseSetExpr());
    }
    if (ops.empty()) return sides[0];
    Node n;
    n.kind = NodeKind::kRelation;
    n.kids = std::move(sides);
    n.ops = std::move(ops);
    return Make(std::move(n));
  }

  int ParseSetExpr() {
    int first = ParseRatio();
    if (!(Peek().type == Tok::kCommand && Peek().text == "cup")) return first;
    std::vector<int> parts{first};
    while (Peek().type == Tok::kCommand && Peek().text == "cup") {
      Next();
      parts.push_back(ParseRatio());
    }
    Node n;
    n.kind = NodeKind::kUnion;
    n.kids = std::move(parts);
    return Make(std::move(n));
  }

  int ParseRatio() {
    int first = ParseAdditive();
    if (!IsOp(':')) return first;
    std::vector<int> parts{first};
    while (IsOp(':')) {
      Next();
      parts.push_back(ParseAdditive());
    }
    Node n;
    n.kind = NodeKind::kRatio;
    n.kids = std::move(parts);
    return Make(std::move(n));
  }

  bool IsPmToken() const {
    return Peek().type == Tok::kCommand && (Peek().text == "pm" || Peek().text == "mp");
  }

  int ParseAdditive() {
    std::vector<int> terms;
    int pm_index = -1;  // terms[pm_index..] follow a \pm
    while (true) {
      bool negative = false;
      bool any_sign = false;
      while (IsOp('+') || IsOp('-') || IsPmToken()) {
        const Token& t = Next();
        any_sign = true;
        if (t.type == Tok::kCommand) {
          if (pm_index >= 0) Fail("more than one \\pm");
          pm_index = static_cast<int>(terms.size());
        } else if (t.ch == '-') {
          negative = !negative;
        }
      }
      if (!StartsFactor(Peek())) {
        if (any_sign && terms.empty()) Fail("a sign without an operand");
        if (any_sign) Fail("an operator without an operand");
        if (terms.empty()) Fail("expected an expression");
        break;
      }
      int term = ParseTerm();
      terms.push_back(negative ? Unary(NodeKind::kNeg, term) : term);
      if (!(IsOp('+') || IsOp('-') || IsPmToken())) break;
    }
    auto sum = [&](size_t from, size_t to) {
      if (to - from == 1) return terms[from];
      Node n;
      n.kind = NodeKind::kAdd;
      n.kids.assign(terms.begin() + static_cast<long>(from), terms.begin() + static_cast<long>(to));
      return Make(std::move(n));
    };
    if (pm_index < 0) return sum(0, terms.size());
    int left = pm_index == 0 ? Leaf(NodeKind::kNumber, "0") : sum(0, static_cast<size_t>(pm_index));
    if (static_cast<size_t>(pm_index) >= terms.size()) Fail("\\pm without an operand");
    int right = sum(static_cast<size_t>(pm_index), terms.size());
    Node n;
    n.kind = NodeKind::kPlusMinus;
    n.kids = {left, right};
    return Make(std::move(n));
  }

  bool StartsFactor(const Token& t) const {
    switch (t.type) {
      case Tok::kNumber:
      case Tok::kLetter:
        return true;
      case Tok::kOpen:
        return true;
      case Tok::kOp:
        return t.ch == '|' && abs_depth_ == 0;
      case Tok::kCommand:
        return !(t.text == "cup" || t.text == "pm" || t.text == "mp" || t.text == "end" || t.text == "cap" ||
                 t.text == "setminus");
      default:
        return false;
    }
  }

  int ParseTerm() {
    std::vector<int> factors{ParseSigned()};
    while (true) {
      if (IsOp('*')) {
        Next();
        factors.push_back(ParseSigned());
      } else if (IsOp('/')) {
        Next();
        factors.push_back(Unary(NodeKind::kRecip, ParseSigned()));
      } else if (StartsFactor(Peek())) {
        int prev = factors.back();
        bool mixed = Peek().type == Tok::kCommand && Peek().text == "frac" &&
                     ast_.at(prev).kind == NodeKind::kNumber && !ast_.at(prev).decimal;
        int next = ParsePower();
        if (mixed && IsSimpleFraction(next)) {
          // A mixed number: 918\frac{1}{2} = 918 + 1/2.
          Node n;
          n.kind = NodeKind::kAdd;
          n.kids = {prev, next};
          factors.back() = Make(std::move(n));
        } else {
          factors.push_back(next);
        }
      } else {
        break;
      }
    }
    if (factors.size() == 1) return factors[0];
    Node n;
    n.kind = NodeKind::kMul;
    n.kids = std::move(factors);
    return Make(std::move(n));
  }

  bool IsSimpleFraction(int node) const {
    const Node& n = ast_.at(node);
    if (n.kind != NodeKind::kMul || n.kids.size() != 2) return false;
    const Node& a = ast_.at(n.kids[0]);
    const Node& r = ast_.at(n.kids[1]);
    if (a.kind != NodeKind::kNumber || a.decimal || r.kind != NodeKind::kRecip) return false;
    const Node& b = ast_.at(r.kids[0]);
    return b.kind == NodeKind::kNumber && !b.decimal;
  }

  // A factor with optional leading signs (after * or /).
  int ParseSigned() {
    bool negative = false;
    while (IsOp('-') || IsOp('+')) {
      if (Next().ch == '-') negative = !negative;
    }
    int f = ParsePower();
    return negative ? Unary(NodeKind::kNeg, f) : f;
  }

  // Exponent or subscript argument: a braced group, or one token.
  int ParseScriptArg() {
    DepthGuard guard(this);
    if (Peek().type == Tok::kOpen && Peek().ch == '{') {
      Next();
      int inner = ParseList(Tok::kClose, '{');
      ExpectClose();
      return UnwrapSingle(inner);
    }
    bool negative = false;
    while (IsOp('-') || IsOp('+')) {
      if (Next().ch == '-') negative = !negative;
    }
    int a;
    if (Peek().type == Tok::kNumber) {
      // x^23 means x^{23} in plain text answers; keep the whole number.
      const Token& t = Next();
      a = Leaf(NodeKind::kNumber, std::string(t.text), t.text.find('.') != std::string_view::npos);
    } else {
      a = ParsePrimary();
    }
    return negative ? Unary(NodeKind::kNeg, a) : a;
  }

  int UnwrapSingle(int node) {
    const Node& n = ast_.at(node);
    if (n.kind == NodeKind::kList && n.kids.size() == 1) return n.kids[0];
    return node;
  }

  int ParsePower() {
    int base = ParsePostfix(ParsePrimary());
    std::vector<int> exps;
    while (IsOp('^')) {
      Next();
      exps.push_back(ParsePostfix(ParseScriptArg()));
    }
    if (exps.empty()) return base;
    int e = exps.back();
    for (size_t k = exps.size() - 1; k-- > 0;) {
      Node n;
      n.kind = NodeKind::kPow;
      n.kids = {exps[k], e};
      e = Make(std::move(n));
    }
    Node n;
    n.kind = NodeKind::kPow;
    n.kids = {base, e};
    return ParsePostfix(Make(std::move(n)));
  }

  int ParsePostfix(int node) {
    while (true) {
      if (IsOp('!')) {
        Next();
        node = Unary(NodeKind::kFactorial, node);
      } else if (IsOp('\'')) {
        Next();
        Node n = ast_.at(node);
        if (n.kind == NodeKind::kSymbol) {
          ast_.nodes[static_cast<size_t>(node)].text += "'";
        } else {
          node = Unary(NodeKind::kFunc, node, "prime");
        }
      } else if (IsOp('_')) {
        Next();
        int sub = ParseScriptArg();
        const Node& b = ast_.at(node);
        std::string sub_text = NodeText(ast_, sub);
        if (b.kind == NodeKind::kSymbol) {
          node = Leaf(NodeKind::kSymbol, b.text + "_" + sub_text);
        } else if (b.kind == NodeKind::kNumber) {
          node = Leaf(NodeKind::kText, b.text + "_" + sub_text);  // base subscript: 1011_2
        } else {
          node = Leaf(NodeKind::kSymbol, NodeText(ast_, node) + "_" + sub_text);
        }
      } else {
        return node;
      }
    }
  }

  void ExpectClose() {
    if (Peek().type != Tok::kClose) Fail("missing closing bracket");
    Next();
  }

  // `{...}` argument of a command, or a single token (\frac12, \sqrt3).
  int ParseArg() {
    DepthGuard guard(this);
    if (Peek().type == Tok::kOpen && Peek().ch == '{') {
      Next();
      int inner = ParseList(Tok::kClose, '{');
      if (Peek().type != Tok::kClose) Fail("missing }");
      Next();
      return UnwrapSingle(inner);
    }
    const Token& t = Peek();
    if (t.type == Tok::kNumber) {
      // \frac12: one digit per argument.
      std::string_view digits = t.text;
      if (digits.size() > 1 && digits.find('.') == std::string_view::npos) {
        // Leave the remaining digits as the current token.
        toks_[pos_].text = digits.substr(1);
        return Leaf(NodeKind::kNumber, std::string(digits.substr(0, 1)));
      }
      Next();
      return Leaf(NodeKind::kNumber, std::string(digits), digits.find('.') != std::string_view::npos);
    }
    return ParsePrimary();
  }

  // Function argument: parenthesised, or a run of implicit factors (\sin 2x).
  int ParseFunctionArg() {
    DepthGuard guard(this);
    if (Peek().type == Tok::kOpen && (Peek().ch == '(' || Peek().ch == '{' || Peek().ch == '[')) {
      return ParsePower();
    }
    std::vector<int> factors{ParsePower()};
    while (Peek().type == Tok::kNumber || Peek().type == Tok::kLetter) factors.push_back(ParsePower());
    if (factors.size() == 1) return factors[0];
    Node n;
    n.kind = NodeKind::kMul;
    n.kids = std::move(factors);
    return Make(std::move(n));
  }

  int ParseEnvironment() {
    // \begin{name} ... \end{name}
    if (!(Peek().type == Tok::kOpen && Peek().ch == '{')) Fail("\\begin without a name");
    Next();
    std::string name;
    while (Peek().type == Tok::kLetter) name += Next().text;
    if (IsOp('*')) Next();
    ExpectClose();
    bool matrix = name.find("matrix") != std::string::npos || name == "array";
    if (!matrix) Fail("unsupported environment " + name);
    if (name == "array" && Peek().type == Tok::kOpen && Peek().ch == '{') {
      // column spec
      Next();
      while (Peek().type != Tok::kClose && Peek().type != Tok::kEnd) Next();
      ExpectClose();
    }
    DepthGuard guard(this);
    std::vector<std::vector<int>> rows(1);
    while (true) {
      if (Peek().type == Tok::kEnd) Fail("unterminated \\begin{" + name + "}");
      if (Peek().type == Tok::kCommand && Peek().text == "end") {
        Next();
        if (Peek().type == Tok::kOpen && Peek().ch == '{') {
          Next();
          while (Peek().type == Tok::kLetter || IsOp('*')) Next();
          ExpectClose();
        }
        break;
      }
      if (Peek().type == Tok::kAmp) {
        Next();
        continue;
      }
      if (Peek().type == Tok::kRowSep) {
        Next();
        rows.emplace_back();
        continue;
      }
      rows.back().push_back(ParseRelation());
    }
    while (!rows.empty() && rows.back().empty()) rows.pop_back();
    if (rows.empty()) Fail("empty matrix");
    size_t cols = rows[0].size();
    Node n;
    n.kind = NodeKind::kMatrix;
    for (auto& r : rows) {
      if (r.size() != cols) Fail("ragged matrix");
      n.kids.insert(n.kids.end(), r.begin(), r.end());
    }
    n.rows = static_cast<int>(rows.size());
    n.cols = static_cast<int>(cols);
    return Make(std::move(n));
  }

  int ParseCommand(std::string_view name) {
    if (name == "frac" || name == "over") {
      int a = ParseArg();
      int b = ParseArg();
      Node n;
      n.kind = NodeKind::kMul;
      n.kids = {a, Unary(NodeKind::kRecip, b)};
      return Make(std::move(n));
    }
    if (name == "binom" || name == "choose") {
      int a = ParseArg();
      int b = ParseArg();
      Node n;
      n.kind = NodeKind::kFunc;
      n.text = "binom";
      n.kids = {a, b};
      return Make(std::move(n));
    }
    if (name == "sqrt") {
      int index = -1;
      if (Peek().type == Tok::kOpen && Peek().ch == '[') {
        DepthGuard guard(this);
        Next();
        index = ParseAdditive();
        if (!(Peek().type == Tok::kClose && Peek().ch == ']')) Fail("bad \\sqrt[n]");
        Next();
      }
      int radicand = ParseArg();
      Node n;
      n.kind = NodeKind::kSqrt;
      n.kids = {radicand};
      if (index >= 0) n.kids.push_back(index);
      return Make(std::move(n));
    }
    if (name == "begin") return ParseEnvironment();
    if (name == "pi") return Leaf(NodeKind::kSymbol, "pi");
    if (name == "infty" || name == "infin") return Leaf(NodeKind::kSymbol, "infty");
    if (name == "emptyset" || name == "varnothing") {
      Node n;
      n.kind = NodeKind::kSet;
      return Make(std::move(n));
    }
    if (name == "dots" || name == "ldots" || name == "cdots") return Leaf(NodeKind::kSymbol, "dots");
    if (InList(name, kGreek)) return Leaf(NodeKind::kSymbol, std::string(name));
    if (InList(name, kWrapperCommands)) {
      int inner = ParseArg();
      return inner;
    }
    if (InList(name, kIgnoredCommands)) {
      if (Peek().type == Tok::kOpen && Peek().ch == '{') return ParseArg();
      DepthGuard guard(this);
      return ParsePrimary();
    }
    if (name == "sum" || name == "prod") {
      int lower = -1, upper = -1;
      for (int k = 0; k < 2; ++k) {
        if (IsOp('_')) {
          Next();
          lower = ParseScriptArg();
        } else if (IsOp('^')) {
          Next();
          upper = ParseScriptArg();
        }
      }
      int body = ParseFunctionArg();
      Node n;
      n.kind = NodeKind::kFunc;
      n.text = std::string(name);
      n.kids = {body, lower >= 0 ? lower : Leaf(NodeKind::kText, ""), upper >= 0 ? upper : Leaf(NodeKind::kText, "")};
      return Make(std::move(n));
    }
    if (InList(name, kFunctions) || name == "operatorname") {
      std::string fname(name);
      int power = -1;
      int base = -1;
      for (int k = 0; k < 2; ++k) {
        if (IsOp('^')) {
          Next();
          power = ParseScriptArg();
        } else if (IsOp('_')) {
          Next();
          base = ParseScriptArg();
        }
      }
      if (!StartsFactor(Peek())) Fail("function without an argument");
      int arg = ParseFunctionArg();
      Node f;
      f.kind = NodeKind::kFunc;
      f.text = fname;
      f.kids = {arg};
      if (base >= 0) f.kids.push_back(base);
      int call = Make(std::move(f));
      if (power >= 0) {
        Node p;
        p.kind = NodeKind::kPow;
        p.kids = {call, power};
        call = Make(std::move(p));
      }
      return call;
    }
    // Unknown command: an opaque symbol named after it.
    return Leaf(NodeKind::kSymbol, "\\" + std::string(name));
  }

  int ParsePrimary() {
    const Token t = Peek();
    switch (t.type) {
      case Tok::kNumber: {
        Next();
        return Leaf(NodeKind::kNumber, std::string(t.text), t.text.find('.') != std::string_view::npos);
      }
      case Tok::kLetter: {
        Next();
        return Leaf(NodeKind::kSymbol, std::string(t.text));
      }
      case Tok::kCommand: {
        Next();
        return ParseCommand(t.text);
      }
      case Tok::kOpen: {
        DepthGuard guard(this);
        Next();
        int inner = ParseList(Tok::kClose, t.ch);
        if (Peek().type != Tok::kClose) Fail("missing closing bracket");
        char close = Next().ch;
        Node& in = ast_.nodes[static_cast<size_t>(inner)];
        if (t.ch == 's') {
          in.kind = NodeKind::kSet;
          return inner;
        }
        if (t.ch == '{') {
          if (in.kids.size() == 1) return in.kids[0];
          return inner;  // a bare list in braces
        }
        if (in.kids.size() == 1 && t.ch == '(' && close == ')') return in.kids[0];
        if (in.kids.size() == 1) {
          // [x] or (x]: a one-element bracket; keep the value.
          return in.kids[0];
        }
        in.kind = NodeKind::kGroup;
        in.open = t.ch;
        in.close = close;
        return inner;
      }
      case Tok::kOp: {
        if (t.ch == '|') {
          DepthGuard guard(this);
          Next();
          ++abs_depth_;
          int inner = ParseAdditive();
          --abs_depth_;
          if (!IsOp('|')) Fail("missing closing |");
          Next();
          return Unary(NodeKind::kAbs, inner);
        }
        Fail(std::string("unexpected '") + t.ch + "'");
      }
      default:
        break;
    }
    if (t.type == Tok::kEnd) Fail("unexpected end of answer");
    if (t.type == Tok::kClose) Fail("unexpected closing bracket");
    if (t.type == Tok::kRel) Fail("unexpected relation");
    if (t.type == Tok::kSep) Fail("unexpected separator");
    Fail("unexpected character");
  }

  std::vector<Token> toks_;
  const Budget& budget_;
  Ast ast_;
  size_t pos_ = 0;
  size_t steps_ = 0;
  int depth_ = 0;
  int abs_depth_ = 0;
};

}  // namespace

Ast ParseLatex(std::string_view text, const Budget& budget) {
  Parser parser(Lex(text, budget), budget);
  return parser.Run();
}

std::string NodeText(const Ast& ast, int node) {
  // Iterative pre-order rendering with explicit stack (no recursion).
  std::string out;
  struct Frame {
    int node;
    size_t next;
  };
  std::vector<Frame> stack{{node, 0}};
  while (!stack.empty()) {
    Frame& f = stack.back();
    const Node& n = ast.at(f.node);
    if (f.next == 0) {
      switch (n.kind) {
        case NodeKind::kNumber: case NodeKind::kSymbol: case NodeKind::kText:
          out += n.text;
          break;
        case NodeKind::kNeg: out += "-("; break;
        case NodeKind::kRecip: out += "1/("; break;
        case NodeKind::kFactorial: out += "fact("; break;
        case NodeKind::kAbs: out += "abs("; break;
        case NodeKind::kFunc: out += n.text + "("; break;
        case NodeKind::kSqrt: out += "sqrt("; break;
        default: out += "("; break;
      }
    }
    if (f.next < n.kids.size()) {
      if (f.next > 0) {
        switch (n.kind) {
          case NodeKind::kAdd: out += "+"; break;
          case NodeKind::kMul: out += "*"; break;
          case NodeKind::kPow: out += "^"; break;
          case NodeKind::kRatio: out += ":"; break;
          case NodeKind::kRelation: out += "~" + std::to_string(n.ops[f.next - 1]) + "~"; break;
          default: out += ","; break;
        }
      }
      int kid = n.kids[f.next++];
      stack.push_back({kid, 0});
      continue;
    }
    if (!(n.kind == NodeKind::kNumber || n.kind == NodeKind::kSymbol || n.kind == NodeKind::kText)) out += ")";
    stack.pop_back();
  }
  return out;
}

}  // namespace scorch::reward
