// Grammar-aware fuzzing of the grader: random LaTeX built from the answer grammar, plus byte
// mutations of real answers. No crash, no hang, every call answered near its deadline.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "scorch/reward/grader.h"

namespace scorch::reward {
namespace {

class LatexGen {
 public:
  explicit LatexGen(uint32_t seed) : rng_(seed) {}

  std::string Answer() {
    switch (Pick(6)) {
      case 0: return Expr(0);
      case 1: return "(" + Expr(0) + ", " + Expr(0) + ")";
      case 2: return "\\{" + Expr(0) + ", " + Expr(0) + "\\}";
      case 3: return std::string(Pick(2) ? "[" : "(") + Expr(0) + ", " + Expr(0) + (Pick(2) ? "]" : ")");
      case 4: return Expr(0) + " = " + Expr(0);
      default: return "\\begin{pmatrix}" + Expr(1) + " & " + Expr(1) + " \\\\ " + Expr(1) + " & " + Expr(1) + "\\end{pmatrix}";
    }
  }

 private:
  int Pick(int n) { return static_cast<int>(rng_() % static_cast<uint32_t>(n)); }

  std::string Atom() {
    static const char* atoms[] = {"x", "y", "\\pi", "e", "i", "\\infty", "0", "1", "2", "10", "0.5", ".25",
                                  "123456789012345678", "\\alpha", "k_1", "1,000", "3\\%", "\\text{cm}"};
    return atoms[Pick(sizeof(atoms) / sizeof(atoms[0]))];
  }

  std::string Expr(int depth) {
    if (depth > 6 || Pick(3) == 0) return Atom();
    std::string a = Expr(depth + 1), b = Expr(depth + 1);
    switch (Pick(14)) {
      case 0: return a + "+" + b;
      case 1: return a + "-" + b;
      case 2: return a + "\\cdot " + b;
      case 3: return "\\frac{" + a + "}{" + b + "}";
      case 4: return a + "^{" + b + "}";
      case 5: return "\\sqrt{" + a + "}";
      case 6: return "\\sqrt[" + b + "]{" + a + "}";
      case 7: return "(" + a + ")!";
      case 8: return "\\sin(" + a + ")";
      case 9: return "\\log_{" + b + "}" + a;
      case 10: return "|" + a + "|";
      case 11: return a + " \\pm " + b;
      case 12: return "\\left(" + a + "\\right)";
      default: return "\\boxed{" + a + "}";
    }
  }

  std::mt19937 rng_;
};

std::string Mutate(std::string s, std::mt19937& rng) {
  static const char* inserts[] = {"{", "}", "\\", "$", "^", "_", "\\frac", "\\boxed{", "(", "]", "\xff", "!", "&", "\\\\"};
  int n = 1 + static_cast<int>(rng() % 4);
  for (int k = 0; k < n; ++k) {
    size_t pos = s.empty() ? 0 : rng() % (s.size() + 1);
    switch (rng() % 3) {
      case 0:
        s.insert(pos, inserts[rng() % (sizeof(inserts) / sizeof(inserts[0]))]);
        break;
      case 1:
        if (!s.empty() && pos < s.size()) s.erase(pos, 1 + rng() % 3);
        break;
      default:
        if (!s.empty() && pos < s.size()) s[pos] = static_cast<char>(rng() % 256);
        break;
    }
  }
  return s;
}

TEST(GraderFuzz, GrammarAndMutationsNeverCrashOrHang) {
  Grader grader;  // default options: deadline 100 ms
  LatexGen gen(20240601);
  std::mt19937 rng(7);
  const std::vector<std::string> seeds = {
      "\\boxed{\\frac{1}{2}}", "(1, \\frac{9}{2})", "[-1, -\\tfrac12) \\cup (0, \\infty)", "x = 1 \\pm \\sqrt{19}",
      "\\begin{pmatrix}1 & 0 \\\\ 0 & 1\\end{pmatrix}", "28\\%", "The final answer is $14{,}916$.",
      "2^{2^{2^{2}}}", "x^2/4 + y^2/3 = 1", "\\text{Evelyn}"};
  int64_t worst_us = 0;
  int calls = 0;
  const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  while (std::chrono::steady_clock::now() < stop) {
    std::string gold = gen.Answer();
    std::string pred = (calls % 2) ? gen.Answer() : Mutate(seeds[static_cast<size_t>(calls) % seeds.size()], rng);
    if (calls % 5 == 0) pred = Mutate(gold, rng);
    auto t0 = std::chrono::steady_clock::now();
    Verdict v = grader.Grade(GradeRequest{gold, pred, calls % 3 == 0, false});
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    worst_us = std::max<int64_t>(worst_us, us);
    EXPECT_FALSE(v.reason.empty());
    // The deadline is cooperative in process; allow slack for a shared machine.
    ASSERT_LT(us, 1000000) << "gold=" << gold << " pred=" << pred;
    ++calls;
  }
  std::printf("fuzz: %d calls, worst %lld us\n", calls, static_cast<long long>(worst_us));
  EXPECT_GT(calls, 100);
}

}  // namespace
}  // namespace scorch::reward
