// One test per numbered point of ALGORITHMS §9 (the grading policy).
#include <gtest/gtest.h>

#include <string>

#include "scorch/reward/grader.h"

namespace scorch::reward {
namespace {

Verdict G(const std::string& gold, const std::string& pred, GraderOptions opt = {}) {
  opt.deadline_ms = 2000;
  return Grader(opt).Grade(gold, pred);
}
bool Eq(const std::string& gold, const std::string& pred) { return G(gold, pred).correct(); }

// §9.1 Extraction: last box, brace matching, \boxed X, fallbacks in order, strict.
TEST(GraderPolicy, P1Extraction) {
  EXPECT_EQ(ExtractAnswer("so \\boxed{1} then \\boxed{\\frac{1}{2}} done").answer, "\\frac{1}{2}");
  EXPECT_EQ(ExtractAnswer("x \\fbox{3}").answer, "3");
  EXPECT_EQ(ExtractAnswer("thus \\boxed{\\{1,{2}\\}}").answer, "\\{1,{2}\\}");
  EXPECT_EQ(ExtractAnswer("hence $\\boxed 7$.").answer, "7");
  Extraction e = ExtractAnswer("We get 3. The final answer is 42. The answer is 7.");
  EXPECT_EQ(e.method, "final_answer_is");
  EXPECT_EQ(e.answer, "42");
  EXPECT_EQ(ExtractAnswer("first 3, and the answer is 7. ok").answer, "7");
  EXPECT_EQ(ExtractAnswer("we computed 3 then 12 apples").answer, "12");
  EXPECT_EQ(ExtractAnswer("the pair is $(7, 6)$.").answer, "(7, 6)");
  GraderOptions strict;
  strict.strict = true;
  EXPECT_FALSE(ExtractAnswer("The answer is 7.", strict).found);
  EXPECT_TRUE(ExtractAnswer("\\boxed{7}", strict).found);
  EXPECT_EQ(ExtractAnswer("\\boxed{1} and \\boxed{2}").answer, "1, 2");
  Grader g;
  EXPECT_TRUE(g.GradeResponse("7", "Thinking... so \\boxed{7}.").correct());
  EXPECT_EQ(g.GradeResponse("7", "no digits here").reason, "no_answer");
}

// §9.2 Normalisation.
TEST(GraderPolicy, P2Normalisation) {
  EXPECT_TRUE(Eq("\\frac{1}{2}", "$\\left( \\dfrac12 \\right)$."));
  EXPECT_TRUE(Eq("90", "90^\\circ"));
  EXPECT_TRUE(Eq("90", "90^{\\circ}"));
  EXPECT_TRUE(Eq("\\sqrt{3}", "\\sqrt3"));
  EXPECT_TRUE(Eq("\\frac{1}{3}", "\\tfrac13"));
  EXPECT_TRUE(Eq("\\frac{1}{3}", "\\cfrac{1}{3}"));
  EXPECT_TRUE(Eq("1000", "1,000"));
  EXPECT_TRUE(Eq("1000", "1{,}000"));
  EXPECT_TRUE(Eq("1000", "1\\,000"));
  EXPECT_TRUE(Eq("1000", "1 000"));
  EXPECT_TRUE(Eq("1000000", "1 000 000"));
  EXPECT_TRUE(Eq("1234567", "1,234,567"));
  EXPECT_FALSE(Eq("32349", "32, 349"));
  EXPECT_TRUE(Eq("5", "five"));
  EXPECT_TRUE(Eq("10", "10\\text{ cm}"));
  EXPECT_TRUE(Eq("10", "10 meters"));
  EXPECT_TRUE(Eq("Monday", "\\text{Monday}"));
  EXPECT_TRUE(Eq("x", "\\mathrm{x}"));
  // Never strip a single letter as a unit.
  EXPECT_FALSE(Eq("11a+c", "11a"));
  EXPECT_FALSE(Eq("11", "11a"));
}

// §9.3 Numbers are exact.
TEST(GraderPolicy, P3ExactNumbers) {
  EXPECT_FALSE(Eq("123456789012345678", "123456789012345679"));
  EXPECT_TRUE(Eq("123456789012345678", "123456789012345678.0"));
  EXPECT_FALSE(Eq("\\frac{1}{2004!}", "\\frac{1}{2006!}"));
  EXPECT_TRUE(Eq("\\frac{1}{2004!}", "\\frac{2005 \\cdot 2006}{2006!}"));
  EXPECT_FALSE(Eq("1", "1.0001"));
  EXPECT_FALSE(Eq("5", "5.001"));
  EXPECT_TRUE(Eq("\\frac{1}{3}", "0.3333333"));   // non-terminating vs decimal: rel_tol 1e-6
  EXPECT_FALSE(Eq("\\frac{1}{3}", "0.33"));
  EXPECT_TRUE(Eq("\\frac{1}{8}", "0.125"));
  EXPECT_FALSE(Eq("\\frac{1}{8}", "0.12500001"));  // both terminate: exact
  EXPECT_TRUE(Eq("\\sqrt{2}", "1.4142136"));
}

// §9.4 Percent.
TEST(GraderPolicy, P4Percent) {
  EXPECT_TRUE(Eq("28\\%", "28"));
  EXPECT_TRUE(Eq("28\\%", "0.28"));
  EXPECT_TRUE(Eq("28", "28 percent"));
  EXPECT_FALSE(Eq("28", "0.28"));  // without % there is no x100 rule
  EXPECT_FALSE(Eq("0.28", "28"));
}

// §9.5 Structures.
TEST(GraderPolicy, P5Structures) {
  EXPECT_TRUE(Eq("(1,2)", "(1, 2)"));
  EXPECT_FALSE(Eq("(1,2)", "(2,1)"));
  EXPECT_TRUE(Eq("\\{1,2\\}", "\\{2,1\\}"));
  EXPECT_TRUE(Eq("1, 2", "2, 1"));
  EXPECT_FALSE(Eq("[1,2)", "[1,2]"));
  EXPECT_TRUE(Eq("[1,2)", "[1, 2)"));
  EXPECT_TRUE(Eq("(-\\infty, 0) \\cup (1, \\infty)", "(1,\\infty)\\cup(-\\infty,0)"));
  EXPECT_FALSE(Eq("(-\\infty, 0) \\cup (1, \\infty)", "(-\\infty, 0] \\cup (1, \\infty)"));
  EXPECT_TRUE(Eq("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{bmatrix}1&2\\\\3&4\\end{bmatrix}"));
  EXPECT_FALSE(Eq("\\begin{pmatrix}1&2\\\\3&4\\end{pmatrix}", "\\begin{pmatrix}1&2\\\\4&3\\end{pmatrix}"));
  EXPECT_TRUE(Eq("1 \\pm \\sqrt{2}", "\\{1+\\sqrt{2}, 1-\\sqrt{2}\\}"));
  EXPECT_FALSE(Eq("\\pm 3", "3"));
}

// §9.6 Equations.
TEST(GraderPolicy, P6Equations) {
  EXPECT_TRUE(Eq("5", "x = 5"));
  EXPECT_TRUE(Eq("x = 5", "5"));
  EXPECT_TRUE(Eq("x+y=3", "2x+2y=6"));
  EXPECT_TRUE(Eq("x+y=3", "3-x-y=0"));
  EXPECT_FALSE(Eq("x+y=3", "x-y=3"));
  EXPECT_FALSE(Eq("a+3z=0", "0"));
  EXPECT_TRUE(Eq("x \\geq 5", "5 \\le x"));
  EXPECT_FALSE(Eq("x > 5", "x \\ge 5"));
}

// §9.7 Symbolic.
TEST(GraderPolicy, P7Symbolic) {
  EXPECT_TRUE(Eq("(x+1)^2", "x^2+2x+1"));
  EXPECT_FALSE(Eq("(x+1)^2", "x^2+1"));
  EXPECT_TRUE(Eq("\\sqrt{8}", "2\\sqrt{2}"));
  EXPECT_TRUE(Eq("\\tan^2(y)+1", "\\sec^2(y)"));
  EXPECT_TRUE(Eq("e^{i\\pi}", "-1"));
  EXPECT_TRUE(Eq("\\ln(e^2)", "2"));
  EXPECT_TRUE(Eq("\\frac{\\pi}{2}", "\\frac{2\\pi}{4}"));
  EXPECT_FALSE(Eq("\\sin x", "\\cos x"));
}

// §9.8 Text, multiple choice, base subscripts.
TEST(GraderPolicy, P8Text) {
  EXPECT_TRUE(Eq("\\text{Monday}", "monday"));
  EXPECT_FALSE(Eq("\\text{Monday}", "Tuesday"));
  EXPECT_TRUE(Eq("(B)", "B"));
  EXPECT_TRUE(Eq("B", "\\text{(B)}"));
  EXPECT_FALSE(Eq("B", "C"));
  EXPECT_TRUE(Eq("1011_2", "1011_2"));
  EXPECT_FALSE(Eq("1011_2", "1011_3"));
  EXPECT_FALSE(Eq("1011_2", "11"));
}

// §9.9 Bounds: sizes, depth, digits, deadline -> error with a reason.
TEST(GraderPolicy, P9Bounds) {
  Verdict v = G("1", std::string(70 * 1024, '1'));
  EXPECT_EQ(v.outcome, Outcome::kError);
  EXPECT_EQ(v.reason, "too_large");
  v = G("1", std::string(300, '(') + "1" + std::string(300, ')'));
  EXPECT_EQ(v.outcome, Outcome::kError);
  EXPECT_EQ(v.reason, "too_deep");
  v = G("1", "2^{100000}");
  EXPECT_EQ(v.outcome, Outcome::kError);
  EXPECT_EQ(v.reason, "too_large");
  v = G("1", "5000!");
  EXPECT_EQ(v.reason, "too_large");
  EXPECT_TRUE(G("1024", "2^{10}").correct());
  GraderOptions opt;
  opt.deadline_ms = 0;
  opt.max_depth = 200;
  Verdict late = Grader(opt).Grade("x^2+2x+1", "(x+1)^2");
  EXPECT_NE(late.outcome, Outcome::kCorrect);
  EXPECT_STREQ(OutcomeName(Outcome::kError), "error");
}

}  // namespace
}  // namespace scorch::reward
