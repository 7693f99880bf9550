#include "scorch/orchestrator/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <set>

#include "scorch/common/atomic_file.h"
#include "scorch/common/testing/temp_dir.h"
#include "scorch/orchestrator/synthetic_task.h"

namespace scorch::orchestrator {
namespace {

using ::testing::HasSubstr;

TEST(SyntheticTaskTest, DeterministicExactAndSplitsDiffer) {
  SyntheticTaskOptions opts;
  opts.min_ops = 1;
  opts.max_ops = 3;
  ASSERT_TRUE(opts.Validate().ok());
  SyntheticTask a(7, opts), b(7, opts), c(8, opts);
  int differs_by_seed = 0, differs_by_split = 0;
  for (int i = 0; i < 500; ++i) {
    Prompt p = a.Get(Split::kTrain, i);
    Prompt q = b.Get(Split::kTrain, i);
    EXPECT_EQ(p.problem, q.problem);
    EXPECT_EQ(p.answer, q.answer);
    differs_by_seed += c.Get(Split::kTrain, i).problem != p.problem;
    differs_by_split += a.Get(Split::kEval, i).problem != p.problem;
    // The solution's last step equals the answer, which is a positive integer.
    EXPECT_THAT(p.solution, HasSubstr("= " + p.answer + ". The answer is \\boxed{" + p.answer + "}."));
    EXPECT_GT(std::stoll(p.answer), 0);
  }
  EXPECT_GT(differs_by_seed, 450);
  EXPECT_GT(differs_by_split, 450);
}

TEST(SyntheticTaskTest, SolutionStepsRecomputeTheAnswer) {
  SyntheticTaskOptions opts;
  opts.max_ops = 4;
  opts.word_problems = false;
  SyntheticTask task(1, opts);
  for (int i = 0; i < 200; ++i) {
    Prompt p = task.Get(Split::kEval, i);
    // "Compute a op b op c." evaluated left to right must give the answer.
    std::istringstream in(p.problem.substr(8));
    long long value;
    in >> value;
    char op;
    long long x;
    while (in >> op >> x) {
      if (op == '+') value += x;
      else if (op == '-') value -= x;
      else if (op == '*') value *= x;
      else FAIL() << "unexpected operator " << op << " in " << p.problem;
    }
    EXPECT_EQ(std::to_string(value), p.answer) << p.problem;
  }
}

TEST(SyntheticTaskTest, OptionsAreValidated) {
  SyntheticTaskOptions bad;
  bad.min_ops = 3;
  bad.max_ops = 2;
  EXPECT_TRUE(bad.Validate().IsInvalidArgument());
}

TEST(JsonlDatasetTest, LoadsAndNamesBadLines) {
  testing::TempDir dir;
  auto path = dir / "p.jsonl";
  ASSERT_TRUE(AtomicWriteFile(path,
                              "{\"id\": 1, \"problem\": \"1+1?\", \"answer\": 2}\n"
                              "\n"
                              "{\"id\": \"b\", \"problem\": \"2+2?\", \"answer\": \"4\"}\n"
                              "{\"problem\": \"oops\"}\n"
                              "not json\n"
                              "{\"id\": \"b\", \"problem\": \"dup\", \"answer\": \"0\"}\n")
                  .ok());
  auto strict = LoadJsonlDataset(path, {});
  ASSERT_FALSE(strict.ok());
  EXPECT_THAT(strict.status().message(), HasSubstr("p.jsonl:4: missing \"answer\""));

  JsonlOptions lenient;
  lenient.skip_bad_lines = true;
  JsonlLoadReport report;
  auto ds = LoadJsonlDataset(path, lenient, &report);
  ASSERT_TRUE(ds.ok()) << ds.status();
  EXPECT_EQ((*ds)->size(), 2);
  EXPECT_EQ((*ds)->Get(0).id, "1");
  EXPECT_EQ((*ds)->Get(0).answer, "2");
  EXPECT_EQ(report.lines, 5);
  EXPECT_EQ(report.skipped, 3);
  ASSERT_EQ(report.first_errors.size(), 3u);
  EXPECT_THAT(report.first_errors[1], HasSubstr("p.jsonl:5: not valid JSON"));
  EXPECT_THAT(report.first_errors[2], HasSubstr("p.jsonl:6: duplicate id \"b\""));
  EXPECT_TRUE(LoadJsonlDataset(dir / "missing.jsonl", {}).status().IsNotFound());
}

TEST(PromptCursorTest, EachEpochIsAPermutationAndResumeContinuesExactly) {
  PromptCursor cursor(50, 99);
  std::vector<int64_t> taken;
  for (int i = 0; i < 120; ++i) taken.push_back(cursor.Next());
  for (int epoch = 0; epoch < 2; ++epoch) {
    std::set<int64_t> seen(taken.begin() + epoch * 50, taken.begin() + (epoch + 1) * 50);
    EXPECT_EQ(seen.size(), 50u);
  }
  EXPECT_NE(std::vector<int64_t>(taken.begin(), taken.begin() + 50),
            std::vector<int64_t>(taken.begin() + 50, taken.begin() + 100));

  // Stop after 73 prompts, save, restore: the next 47 are the same as straight through.
  PromptCursor first(50, 99);
  for (int i = 0; i < 73; ++i) first.Next();
  auto state = PromptCursor::StateFromJson(first.ToJson());
  ASSERT_TRUE(state.ok());
  PromptCursor resumed(50, 99, true, *state);
  for (int i = 73; i < 120; ++i) EXPECT_EQ(resumed.Next(), taken[static_cast<size_t>(i)]) << i;
  EXPECT_TRUE(PromptCursor::StateFromJson({{"epoch", "x"}}).status().IsDataLoss());
}

}  // namespace
}  // namespace scorch::orchestrator
