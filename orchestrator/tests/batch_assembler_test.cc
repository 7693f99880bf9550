#include "scorch/orchestrator/batch_assembler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>

namespace scorch::orchestrator {
namespace {

proto::TrainSample Sample(int64_t prompt, int32_t idx, int64_t version) {
  proto::TrainSample s;
  s.trajectory.prompt_id = prompt;
  s.trajectory.sample_idx = idx;
  s.trajectory.policy_version = version;
  s.reward = static_cast<double>(prompt * 10 + idx);
  return s;
}

TEST(BatchAssemblerTest, BatchOrderDoesNotDependOnArrivalOrder) {
  BatchShape shape{.batch_prompts = 3, .samples_per_prompt = 4, .max_staleness = 0};
  std::vector<std::pair<int64_t, int32_t>> arrivals;
  for (int64_t p : {5, 1, 9}) {
    for (int32_t i = 0; i < 4; ++i) arrivals.emplace_back(p, i);
  }
  proto::TrainBatch first;
  std::mt19937 rng(1);
  for (int trial = 0; trial < 5; ++trial) {
    std::shuffle(arrivals.begin(), arrivals.end(), rng);
    BatchAssembler a(shape, 2);
    for (auto [p, i] : arrivals) {
      EXPECT_FALSE(a.Ready());
      EXPECT_EQ(a.Add({2, p, i}, 7, Sample(p, i, 7)), BatchAssembler::Outcome::kAdmitted);
    }
    ASSERT_TRUE(a.Ready());
    proto::TrainBatch b = a.Take("grpo");
    EXPECT_EQ(b.step, 2);
    EXPECT_EQ(a.step(), 3);
    ASSERT_EQ(b.samples.size(), 12u);
    EXPECT_EQ(b.samples.front().trajectory.prompt_id, 1);
    EXPECT_EQ(b.samples.back().trajectory.prompt_id, 9);
    if (trial == 0) first = b;
    EXPECT_EQ(b, first);
  }
}

TEST(BatchAssemblerTest, StalenessBoundDuplicatesAndWrongStep) {
  BatchAssembler a({.batch_prompts = 1, .samples_per_prompt = 2, .max_staleness = 1}, 0);
  EXPECT_EQ(a.Add({0, 1, 0}, 5, Sample(1, 0, 3)), BatchAssembler::Outcome::kStale);  // lag 2
  EXPECT_EQ(a.Add({0, 1, 0}, 5, Sample(1, 0, 4)), BatchAssembler::Outcome::kAdmitted);  // lag 1
  EXPECT_EQ(a.Add({0, 1, 0}, 5, Sample(1, 0, 5)), BatchAssembler::Outcome::kDuplicate);
  EXPECT_EQ(a.Add({1, 1, 1}, 5, Sample(1, 1, 5)), BatchAssembler::Outcome::kWrongStep);
  EXPECT_EQ(a.Add({0, 1, 2}, 5, Sample(1, 2, 5)), BatchAssembler::Outcome::kWrongStep);
  EXPECT_FALSE(a.Ready());
  EXPECT_EQ(a.Add({0, 1, 1}, 5, Sample(1, 1, 5)), BatchAssembler::Outcome::kAdmitted);
  EXPECT_TRUE(a.Ready());
  EXPECT_EQ(a.stats().stale, 1);
  EXPECT_EQ(a.stats().duplicate, 1);
  EXPECT_EQ(a.stats().max_lag, 1);
}

TEST(BatchAssemblerTest, OnPolicyRefusesAnyLag) {
  BatchAssembler a({.batch_prompts = 1, .samples_per_prompt = 1, .max_staleness = 0}, 0);
  EXPECT_EQ(a.Add({0, 0, 0}, 1, Sample(0, 0, 0)), BatchAssembler::Outcome::kStale);
  EXPECT_EQ(a.Add({0, 0, 0}, 1, Sample(0, 0, 1)), BatchAssembler::Outcome::kAdmitted);
}

TEST(BatchAssemblerTest, IncompleteGroupsDoNotCount) {
  BatchAssembler a({.batch_prompts = 2, .samples_per_prompt = 2, .max_staleness = 0}, 0);
  a.Add({0, 1, 0}, 0, Sample(1, 0, 0));
  a.Add({0, 2, 0}, 0, Sample(2, 0, 0));
  a.Add({0, 2, 1}, 0, Sample(2, 1, 0));
  a.Add({0, 3, 1}, 0, Sample(3, 1, 0));
  a.Add({0, 3, 0}, 0, Sample(3, 0, 0));
  EXPECT_EQ(a.complete_groups(), 2);
  auto b = a.Take("ppo");
  ASSERT_EQ(b.samples.size(), 4u);
  EXPECT_EQ(b.samples[0].trajectory.prompt_id, 2);
  EXPECT_EQ(b.samples[3].trajectory.prompt_id, 3);
}

}  // namespace
}  // namespace scorch::orchestrator
