// M-DPO pair building from hand-made graded branches: each set of the §2.3 table, the
// ambiguous comparison left out, replay mismatches, unusable branches, prompts without pairs.
#include "scorch/orchestrator/mdpo_pairs.h"

#include <gtest/gtest.h>

#include "scorch/orchestrator/job_runner.h"

namespace scorch::orchestrator {
namespace {

using proto::Verdict;

const std::vector<MdpoSet> kAll = {MdpoSet::kD1, MdpoSet::kD2, MdpoSet::kD3};

// A branch of base `base` of prompt `prompt` whose a¹ is right or wrong; "Yes" branches end
// with a¹ (final = a¹), "No" branches carry an a² that is right or wrong.
MdpoBranch Yes(int64_t prompt, int32_t base, bool a1_right) {
  MdpoBranch b;
  b.prompt_id = prompt;
  b.base = base;
  b.verdict = Verdict::kCorrect;
  b.has_verdict = true;
  b.first_correct = a1_right;
  b.final_correct = a1_right;
  b.prefix = {1, 2, 3, static_cast<int32_t>(10 * prompt + base)};
  return b;
}

MdpoBranch No(int64_t prompt, int32_t base, bool a1_right, bool a2_right) {
  MdpoBranch b = Yes(prompt, base, a1_right);
  b.verdict = Verdict::kWrong;
  b.has_second_attempt = true;
  b.final_correct = a2_right;
  return b;
}

bool HasPair(const MdpoPairReport& r, MdpoSet set, size_t chosen, size_t rejected) {
  for (const auto& p : r.pairs) {
    if (p.set == set && p.chosen == chosen && p.rejected == rejected) return true;
  }
  return false;
}

TEST(MdpoPairsTest, WrongFirstAttemptGivesD1AndD3AndLeavesTheAmbiguousComparisonOut) {
  // 0: (wrong, No, right)  1: (wrong, No, wrong)  2: (wrong, Yes)
  const std::vector<MdpoBranch> b = {No(7, 0, false, true), No(7, 0, false, false), Yes(7, 0, false)};
  const MdpoPairReport r = BuildMdpoPairs(b, kAll);
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_TRUE(HasPair(r, MdpoSet::kD1, 0, 1));
  EXPECT_TRUE(HasPair(r, MdpoSet::kD3, 0, 2));
  // (wrong, No, wrong) vs (wrong, Yes) is never a pair, in either direction.
  EXPECT_FALSE(HasPair(r, MdpoSet::kD3, 1, 2));
  EXPECT_FALSE(HasPair(r, MdpoSet::kD3, 2, 1));
  EXPECT_EQ(r.ambiguous_left_out, 1);
  EXPECT_EQ(r.per_set.at("d1"), 1);
  EXPECT_EQ(r.per_set.at("d2"), 0);
  EXPECT_EQ(r.per_set.at("d3"), 1);
  EXPECT_EQ(r.prompts, 1);
  EXPECT_EQ(r.prompts_without_pairs, 0);
}

TEST(MdpoPairsTest, RightFirstAttemptGivesD2AndD3) {
  // 0: (right, No, wrong)  1: (right, No, right)  2: (right, Yes)
  const std::vector<MdpoBranch> b = {No(3, 1, true, false), No(3, 1, true, true), Yes(3, 1, true)};
  const MdpoPairReport r = BuildMdpoPairs(b, kAll);
  ASSERT_EQ(r.pairs.size(), 2u);
  EXPECT_TRUE(HasPair(r, MdpoSet::kD2, 1, 0));
  EXPECT_TRUE(HasPair(r, MdpoSet::kD3, 2, 0));
  EXPECT_EQ(r.ambiguous_left_out, 0);
  EXPECT_EQ(r.per_set.at("d1"), 0);
}

TEST(MdpoPairsTest, OnlyTheEnabledSetsArePaired) {
  const std::vector<MdpoBranch> b = {No(7, 0, false, true), No(7, 0, false, false), Yes(7, 0, false),
                                     No(8, 0, true, true),  No(8, 0, true, false),  Yes(8, 0, true)};
  const MdpoPairReport d3 = BuildMdpoPairs(b, {MdpoSet::kD3});
  ASSERT_EQ(d3.pairs.size(), 2u);
  EXPECT_TRUE(HasPair(d3, MdpoSet::kD3, 0, 2));
  EXPECT_TRUE(HasPair(d3, MdpoSet::kD3, 5, 4));
  EXPECT_EQ(d3.per_set.size(), 1u);
  const MdpoPairReport d12 = BuildMdpoPairs(b, {MdpoSet::kD1, MdpoSet::kD2});
  ASSERT_EQ(d12.pairs.size(), 2u);
  EXPECT_TRUE(HasPair(d12, MdpoSet::kD1, 0, 1));
  EXPECT_TRUE(HasPair(d12, MdpoSet::kD2, 3, 4));
}

TEST(MdpoPairsTest, PromptsWithoutAContrastGiveNoPairAndAreCounted) {
  const std::vector<MdpoBranch> b = {
      // prompt 1: a¹ wrong, every continuation wrong, "Yes" wrong: only the ambiguous comparison.
      No(1, 0, false, false), No(1, 0, false, false), Yes(1, 0, false),
      // prompt 2: a¹ right and kept right everywhere: nothing to prefer.
      No(2, 0, true, true), Yes(2, 0, true),
      // prompt 3: two bases; only base 1 has a contrast (D1).
      No(3, 0, false, false), No(3, 1, false, true), No(3, 1, false, false)};
  const MdpoPairReport r = BuildMdpoPairs(b, kAll);
  ASSERT_EQ(r.pairs.size(), 1u);
  EXPECT_TRUE(HasPair(r, MdpoSet::kD1, 6, 7));
  EXPECT_EQ(r.prompts, 3);
  EXPECT_EQ(r.prompts_without_pairs, 2);
  EXPECT_EQ(r.ambiguous_left_out, 1);
  EXPECT_TRUE(BuildMdpoPairs({}, kAll).pairs.empty());
}

TEST(MdpoPairsTest, PairsNeverCrossBasesOrPrompts) {
  // The right a² and the wrong a² come from different a¹ (bases 0 and 1), then from different
  // prompts: no fixed-a¹ pair exists.
  const std::vector<MdpoBranch> b = {No(4, 0, false, true), No(4, 1, false, false), No(5, 0, false, false)};
  const MdpoPairReport r = BuildMdpoPairs(b, kAll);
  EXPECT_TRUE(r.pairs.empty());
  EXPECT_EQ(r.prompts_without_pairs, 2);
}

TEST(MdpoPairsTest, ReplaysWhoseFirstAttemptDifferAreDropped) {
  // Base 0 of prompt 9: the wrong-a² replay re-sampled a different a¹ (a batching effect):
  // it is dropped, so the right a² has nothing to be preferred to.
  std::vector<MdpoBranch> b = {No(9, 0, false, true), No(9, 0, false, false), No(9, 0, false, true)};
  b[1].prefix.push_back(99);
  MdpoPairReport r = BuildMdpoPairs(b, kAll);
  EXPECT_TRUE(r.pairs.empty());
  EXPECT_EQ(r.replay_mismatch, 1);
  // The majority wins even when the odd one is listed first.
  b = {No(9, 0, false, true), No(9, 0, false, false), Yes(9, 0, false)};
  b[0].prefix.push_back(99);
  r = BuildMdpoPairs(b, kAll);
  EXPECT_TRUE(r.pairs.empty());  // only (wrong, No, wrong) and (wrong, Yes) are left: ambiguous
  EXPECT_EQ(r.replay_mismatch, 1);
  EXPECT_EQ(r.ambiguous_left_out, 1);
}

TEST(MdpoPairsTest, BranchesWithoutVerdictOrSecondAttemptAreUnusable) {
  std::vector<MdpoBranch> b = {No(6, 0, false, true), No(6, 0, false, false), Yes(6, 0, false)};
  b[1].has_second_attempt = false;  // cut off after the verdict
  b[2].has_verdict = false;         // a¹ cut off: no verdict at all
  const MdpoPairReport r = BuildMdpoPairs(b, kAll);
  EXPECT_TRUE(r.pairs.empty());
  EXPECT_EQ(r.unusable, 2);
}

TEST(MdpoPairsTest, AtMostOnePairPerSetAndBase) {
  const std::vector<MdpoBranch> b = {No(2, 0, false, false), No(2, 0, false, true), No(2, 0, false, true),
                                     No(2, 0, false, false)};
  const MdpoPairReport r = BuildMdpoPairs(b, kAll);
  ASSERT_EQ(r.pairs.size(), 1u);
  EXPECT_TRUE(HasPair(r, MdpoSet::kD1, 1, 0));  // the first right and the first wrong
}

TEST(MdpoPairsTest, SetNamesParseAndBadOnesAreNamed) {
  auto sets = ParseMdpoSets({"d3", "d1"});
  ASSERT_TRUE(sets.ok()) << sets.status();
  EXPECT_EQ(*sets, (std::vector<MdpoSet>{MdpoSet::kD3, MdpoSet::kD1}));
  EXPECT_STREQ(MdpoSetName(MdpoSet::kD2), "d2");
  auto bad = ParseMdpoSets({"d1", "D2"});
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("mdpo_sets[1]: \"D2\""), std::string::npos) << bad.status();
  EXPECT_FALSE(ParseMdpoSets({"d1", "d1"}).ok());
  EXPECT_FALSE(ParseMdpoSets({}).ok());
}

TEST(MdpoValidateJobTest, TheJobLoopRunsMdpoStagesThatCanFormPairs) {
  config::RunConfig c;
  config::StageConfig s;
  s.name = "mdpo";
  s.kind = config::StageKind::kMdpo;
  s.protocol = "self_correct";
  c.stages = {s};
  EXPECT_TRUE(ValidateJob(c).ok()) << ValidateJob(c);
  c.stages[0].protocol = "two_turn";
  EXPECT_TRUE(ValidateJob(c).ok()) << ValidateJob(c);
  c.stages[0].protocol = "single_turn";
  EXPECT_NE(ValidateJob(c).message().find("protocol must be self_correct or two_turn"), std::string::npos);
  c.stages[0].protocol = "self_correct";
  c.rollout.max_turns = 1;  // no a²: nothing after a¹ to prefer
  const Status st = ValidateJob(c);
  EXPECT_TRUE(st.IsInvalidArgument()) << st;
  EXPECT_NE(st.message().find("stages[0] (mdpo): an mdpo stage under self_correct needs rollout.max_turns >= 2"),
            std::string::npos)
      << st;
}

}  // namespace
}  // namespace scorch::orchestrator
