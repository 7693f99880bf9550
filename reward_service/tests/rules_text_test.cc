// Verdict parsing (§1.2–1.3), response splitting, format regexes and PCL parsing (§3.5).
#include <gtest/gtest.h>

#include <string>

#include "scorch/reward/reward_trajectory.h"
#include "scorch/reward/rules_format.h"
#include "scorch/reward/verdict.h"

namespace scorch::reward {
namespace {

TEST(VerifyVerdictTest, PlainAndWithReasoning) {
  auto v = ParseVerifyVerdict("Let me check: 2+2=4. [VERIFY] correct.");
  EXPECT_EQ(v.verdict, SelfVerdict::kCorrect);
  EXPECT_EQ(v.truncated, "Let me check: 2+2=4. [VERIFY] correct.");
  auto w = ParseVerifyVerdict("[VERIFY] wrong. trailing text that is cut");
  EXPECT_EQ(w.verdict, SelfVerdict::kWrong);
  EXPECT_EQ(w.truncated, "[VERIFY] wrong.");
}

TEST(VerifyVerdictTest, UnwrapsBoxedText) {
  auto v = ParseVerifyVerdict("So: \\boxed{\\text{[VERIFY] wrong.}} more");
  EXPECT_EQ(v.verdict, SelfVerdict::kWrong);
  EXPECT_EQ(v.truncated, "So: [VERIFY] wrong.");
  EXPECT_EQ(v.verdict_begin, 4u);
  auto w = ParseVerifyVerdict("\\boxed{[VERIFY] correct.}");
  EXPECT_EQ(w.verdict, SelfVerdict::kCorrect);
  EXPECT_EQ(w.truncated, "[VERIFY] correct.");
  EXPECT_EQ(w.verdict_end, std::string("\\boxed{[VERIFY] correct.}").size());
}

TEST(VerifyVerdictTest, ExactlyOnceAndWordRequired) {
  EXPECT_EQ(ParseVerifyVerdict("no tag here").reason, "no_verify_tag");
  auto twice = ParseVerifyVerdict("[VERIFY] correct. [VERIFY] wrong.");
  EXPECT_FALSE(twice.valid());
  EXPECT_EQ(twice.reason, "multiple_verify_tags");
  auto bad = ParseVerifyVerdict("[VERIFY] maybe.");
  EXPECT_FALSE(bad.valid());
  EXPECT_EQ(bad.reason, "no_verdict_word");
  // "correctly" is not the word "correct".
  EXPECT_FALSE(ParseVerifyVerdict("[VERIFY] correctly done").valid());
}

TEST(YesNoVerdictTest, Parses) {
  std::string q(kYesNoQuestion);
  EXPECT_EQ(ParseYesNoVerdict("x = 3.\n\n" + q + " Yes.").verdict, SelfVerdict::kCorrect);
  EXPECT_EQ(ParseYesNoVerdict("x = 3.\n\n" + q + " No.").verdict, SelfVerdict::kWrong);
  EXPECT_EQ(ParseYesNoVerdict("x = 3.").reason, "no_yes_no_question");
  EXPECT_EQ(ParseYesNoVerdict(q + " Perhaps").reason, "no_yes_no_answer");
  EXPECT_FALSE(ParseYesNoVerdict(q + " Nope").valid());
}

TEST(SplitResponseTest, SrrTwoTurns) {
  std::string r =
      "Sum is \\boxed{5}. Check: 2+2 is 4 \\boxed{\\text{[VERIFY] wrong.}}"
      " The mistake was ... so \\boxed{4}. [VERIFY] correct.";
  auto turns = SplitResponse(r, Protocol::kSrr);
  ASSERT_EQ(turns.size(), 4u);
  EXPECT_EQ(turns[0].kind, TurnKind::kAttempt);
  EXPECT_EQ(turns[0].text, "Sum is \\boxed{5}. Check: 2+2 is 4 ");
  EXPECT_EQ(turns[1].kind, TurnKind::kVerify);
  EXPECT_EQ(turns[1].text, "\\boxed{\\text{[VERIFY] wrong.}}");
  EXPECT_EQ(turns[2].text, " The mistake was ... so \\boxed{4}. ");
  EXPECT_EQ(turns[3].text, "[VERIFY] correct.");
}

TEST(SplitResponseTest, SrrStopAfterCorrectAndNoVerdict) {
  auto t1 = SplitResponse("\\boxed{4} [VERIFY] correct.\n", Protocol::kSrr);
  ASSERT_EQ(t1.size(), 2u);
  auto t2 = SplitResponse("just \\boxed{4}", Protocol::kSrr);
  ASSERT_EQ(t2.size(), 1u);
  EXPECT_EQ(t2[0].kind, TurnKind::kAttempt);
}

TEST(SplitResponseTest, TwoTurnAndPcl) {
  std::string q(kYesNoQuestion);
  auto t = SplitResponse("\\boxed{3}\n\n" + q + " No.\nFixed: \\boxed{4}", Protocol::kTwoTurn);
  ASSERT_EQ(t.size(), 3u);
  EXPECT_EQ(t[1].text, q + " No.");
  EXPECT_EQ(t[2].text, "\nFixed: \\boxed{4}");
  auto p = SplitResponse("<think>a</think><answer>4</answer>\n<evaluation>e</evaluation>",
                         Protocol::kPcl);
  ASSERT_EQ(p.size(), 2u);
  EXPECT_EQ(p[0].text, "<think>a</think><answer>4</answer>");
  EXPECT_EQ(p[1].kind, TurnKind::kEvaluation);
}

TEST(FormatTest, BoxedPresent) {
  EXPECT_TRUE(HasBoxedAnswer("so \\boxed{\\frac{1}{2}}."));
  EXPECT_TRUE(HasBoxedAnswer("\\fbox{3}"));
  EXPECT_TRUE(HasBoxedAnswer("$\\boxed 5$"));
  EXPECT_FALSE(HasBoxedAnswer("\\boxed{unclosed"));
  EXPECT_FALSE(HasBoxedAnswer("no box {}"));
  std::string many;
  for (int i = 0; i < 20000; ++i) many += "\\boxed{";
  EXPECT_FALSE(HasBoxedAnswer(many));
  EXPECT_TRUE(HasBoxedAnswer(many + "x}"));
}

TEST(FormatTest, PclThinkAnswerRegex) {
  EXPECT_TRUE(PclFormatMatch("<think>r</think><answer>4</answer>"));
  EXPECT_TRUE(PclFormatMatch("<think>r\nmore</think>\n<answer>4</answer> trailing"));
  EXPECT_FALSE(PclFormatMatch(" <think>r</think><answer>4</answer>"));  // anchored at start
  EXPECT_FALSE(PclFormatMatch("<think>r</think>\n\n<answer>4</answer>"));  // at most one \n
  EXPECT_FALSE(PclFormatMatch("<think>r</think><answer>4"));
  // Lazy gap may span an earlier </think> that is not followed by <answer>.
  EXPECT_TRUE(PclFormatMatch("<think>a</think> x </think><answer>4</answer>"));
}

TEST(FormatTest, PclFormatAllRegex) {
  std::string base = "<think>r</think>\n<answer>4</answer>";
  EXPECT_TRUE(PclFormatAllMatch(base + "\n<evaluation>ok</evaluation>\n<reward>[1,1]</reward>"));
  EXPECT_TRUE(PclFormatAllMatch(base + "<evaluation>ok</evaluation><reward>[1,1]</reward>tail"));
  EXPECT_FALSE(PclFormatAllMatch(base + "\n<evaluation>ok</evaluation>\n<reward>[1,1]"));
  EXPECT_FALSE(PclFormatAllMatch(base + " <evaluation>ok</evaluation><reward>[1,1]</reward>"));
  EXPECT_FALSE(PclFormatAllMatch(base));
  // The evaluation may follow a later </answer> (lazy gap inside <answer>).
  EXPECT_TRUE(PclFormatAllMatch("<think>r</think><answer>4</answer>x</answer><evaluation>e"
                                "</evaluation><reward>[0,1]</reward>"));
}

TEST(PclTest, FirstAnswerAndRewardList) {
  EXPECT_EQ(FirstPclAnswer("<answer> 42 \n</answer><answer>7</answer>").value(), "42");
  EXPECT_FALSE(FirstPclAnswer("<answer>42").has_value());
  auto p = ParseLastRewardList("<reward>[0, 0]</reward> ... <reward> [1, 0.5] </reward>");
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(*p, (std::vector<double>{1.0, 0.5}));
  EXPECT_FALSE(ParseLastRewardList("<reward>1, 1</reward>").has_value());
  EXPECT_FALSE(ParseLastRewardList("<reward>[1, x]</reward>").has_value());
  EXPECT_FALSE(ParseLastRewardList("<reward>[1,,1]</reward>").has_value());
  EXPECT_FALSE(ParseLastRewardList("<reward>[nan, 1]</reward>").has_value());
  EXPECT_FALSE(ParseLastRewardList("no reward").has_value());
  EXPECT_TRUE(ParseLastRewardList("<reward>[]</reward>")->empty());
}

TEST(PclTest, ConsistencyValues) {
  using V = std::vector<double>;
  EXPECT_DOUBLE_EQ(PclConsistency({1, 1}, V{1, 1}), 1.0);
  EXPECT_DOUBLE_EQ(PclConsistency({1, 1}, V{0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(PclConsistency({1, 0}, V{0, 1}), 0.0);
  // g_k = p_k = 0: that term scores 0 (agreement), not a division error.
  EXPECT_DOUBLE_EQ(PclConsistency({0, 1}, V{0, 1}), 1.0);
  EXPECT_DOUBLE_EQ(PclConsistency({0, 0}, V{0, 0}), 1.0);
  EXPECT_DOUBLE_EQ(PclConsistency({0, 0}, V{1, 0}), 0.5);
  // Non-binary p: |1 - 0.5| / 1 = 0.5 → C = 1 - 0.25.
  EXPECT_DOUBLE_EQ(PclConsistency({1, 1}, V{0.5, 1}), 0.75);
  // Malformed p → 0.
  EXPECT_DOUBLE_EQ(PclConsistency({1, 1}, std::nullopt), 0.0);
  EXPECT_DOUBLE_EQ(PclConsistency({1, 1}, V{1}), 0.0);
  EXPECT_DOUBLE_EQ(PclConsistency({1, 1}, V{1, 1, 1}), 0.0);
  EXPECT_DOUBLE_EQ(PclConsistency({1, 1}, V{1, -1}), 0.0);
}

TEST(PclTest, LargeInputIsLinear) {
  std::string big = "<think>" + std::string(1 << 20, 'x');
  for (int i = 0; i < 10000; ++i) big += "</think>";
  EXPECT_FALSE(PclFormatMatch(big));
  EXPECT_FALSE(PclFormatAllMatch(big));
}

}  // namespace
}  // namespace scorch::reward
