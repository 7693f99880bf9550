// Trainer, mdpo objective: a few steps on a fixed pair batch raise the implicit reward margin
// η(ℓ_w − ℓ_l) on a tiny Policy; micro-batching does not change the step (whole-batch pair
// normaliser); malformed pair batches are refused by name.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "scorch/learner/trainer.h"
#include "tiny_model.h"
#include "scorch/model/policy.h"

namespace scorch::learner {
namespace {

using proto::ChatRole;
using proto::SegmentKind;

model::ModelConfig TinyConfig() { return testing::TinyTrainerConfig(); }

// A self-correction trajectory: prompt [0,4), a¹ [4,8), y¹ [8,10), and, when `a2` is given,
// the correction instruction [10,12) and a² [12,16).
proto::Trajectory Traj(int64_t prompt_id, std::vector<int32_t> verdict, std::vector<int32_t> a2) {
  proto::Trajectory t;
  t.prompt_id = prompt_id;
  t.token_ids = {1, 2, 3, static_cast<int32_t>(4 + prompt_id), 5, 6, 7, 8};
  t.token_ids.insert(t.token_ids.end(), verdict.begin(), verdict.end());
  t.segments = {{ChatRole::kUser, 0, SegmentKind::kPrompt, 0, 4, ""},
                {ChatRole::kAssistant, 0, SegmentKind::kAttempt, 4, 8, ""},
                {ChatRole::kAssistant, 0, SegmentKind::kVerify, 8, 10, ""}};
  if (!a2.empty()) {
    t.token_ids.insert(t.token_ids.end(), {20, 21});
    t.token_ids.insert(t.token_ids.end(), a2.begin(), a2.end());
    t.segments.push_back({ChatRole::kUser, 1, SegmentKind::kInstruction, 10, 12, ""});
    t.segments.push_back({ChatRole::kAssistant, 1, SegmentKind::kAttempt, 12, 16, ""});
  }
  t.logprobs.assign(t.token_ids.size(), 0.0f);
  t.trainable_mask.assign(t.token_ids.size(), 1);
  return t;
}

proto::TrainSample Side(proto::Trajectory t, int32_t pair, bool chosen) {
  proto::TrainSample s;
  s.trajectory = std::move(t);
  s.pair_index = pair;
  s.pair_chosen = chosen;
  return s;
}

// Pair 0 (D1): same a¹ and "No", a² right vs wrong. Pair 1 (D3): (a¹, No, a² right) vs (a¹, Yes).
// The rejected side of pair 0 comes first: order must not matter.
proto::TrainBatch PairBatch() {
  proto::TrainBatch b;
  b.stage = "mdpo";
  b.samples.push_back(Side(Traj(0, {9, 10}, {11, 12, 13, 14}), 0, false));
  b.samples.push_back(Side(Traj(0, {9, 10}, {15, 16, 17, 18}), 0, true));
  b.samples.push_back(Side(Traj(1, {9, 10}, {15, 16, 17, 18}), 1, true));
  b.samples.push_back(Side(Traj(1, {19, 10}, {}), 1, false));
  return b;
}

StageTraining MdpoStage(int64_t micro_rows, double lr = 2e-2) {
  StageTraining s;
  s.stage = "mdpo";
  s.objective = Objective::kMdpo;
  s.optimizer.lr = lr;
  s.optimizer.warmup_steps = 0;
  s.optimizer.total_steps = 100;
  s.micro_batch_rows = micro_rows;
  s.mdpo.eta = 0.5;
  return s;
}

model::Policy SeededPolicy() {
  torch::manual_seed(7);
  return model::Policy(TinyConfig());
}

TEST(TrainerMdpoTest, StepsRaiseTheRewardMarginOnAFixedPairBatch) {
  torch::set_num_threads(1);
  Trainer trainer(SeededPolicy());
  ASSERT_TRUE(trainer.BeginStage(MdpoStage(16)).ok());
  const proto::TrainBatch batch = PairBatch();
  std::vector<std::map<std::string, double>> steps;
  for (int i = 0; i < 6; ++i) {
    auto m = trainer.Step(batch);
    ASSERT_TRUE(m.ok()) << m.status();
    steps.push_back(*m);
  }
  // Step 1 sees the policy equal to its reference: ℓ = 0 on both sides.
  EXPECT_NEAR(steps[0].at("mdpo/margin"), 0.0, 1e-6);
  EXPECT_NEAR(steps[0].at("loss"), std::log(2.0), 1e-5);
  EXPECT_EQ(steps[0].at("mdpo/pairs"), 2.0);
  for (const char* key : {"mdpo/reward_accuracy", "mdpo/reward_chosen", "mdpo/reward_rejected", "mdpo/nll",
                          "tokens", "lr", "grad_norm"}) {
    EXPECT_TRUE(steps[0].count(key)) << key;
  }
  // Later steps: the chosen sides gain on the rejected ones, and the loss falls.
  EXPECT_GT(steps[2].at("mdpo/margin"), steps[0].at("mdpo/margin"));
  EXPECT_GT(steps[5].at("mdpo/margin"), steps[2].at("mdpo/margin"));
  EXPECT_GT(steps.back().at("mdpo/margin"), 0.05);
  EXPECT_DOUBLE_EQ(steps.back().at("mdpo/reward_accuracy"), 1.0);
  EXPECT_GT(steps.back().at("mdpo/reward_chosen"), steps.back().at("mdpo/reward_rejected"));
  EXPECT_LT(steps.back().at("loss"), steps[0].at("loss"));
  EXPECT_EQ(trainer.version(), 6);
}

TEST(TrainerMdpoTest, MicroBatchingGivesTheSameStep) {
  torch::set_num_threads(1);
  Trainer whole(SeededPolicy());
  Trainer split(SeededPolicy());
  StageTraining big = MdpoStage(16);
  StageTraining small = MdpoStage(2);  // one pair per micro-batch
  big.mdpo.nll_coef = small.mdpo.nll_coef = 0.3;  // its token normaliser must be the batch's too
  ASSERT_TRUE(whole.BeginStage(big).ok());
  ASSERT_TRUE(split.BeginStage(small).ok());
  auto a = whole.Step(PairBatch());
  auto b = split.Step(PairBatch());
  ASSERT_TRUE(a.ok()) << a.status();
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_NEAR(a->at("loss"), b->at("loss"), 1e-6);
  EXPECT_NEAR(a->at("grad_norm"), b->at("grad_norm"), 1e-5);
  auto pa = whole.policy()->named_parameters();
  auto pb = split.policy()->named_parameters();
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::allclose(item.value(), pb[item.key()], 1e-5, 1e-6)) << item.key();
  }
}

TEST(TrainerMdpoTest, MalformedPairBatchesAreRefusedByName) {
  Trainer trainer(SeededPolicy());
  ASSERT_TRUE(trainer.BeginStage(MdpoStage(16)).ok());
  auto expect_error = [&](const proto::TrainBatch& b, const std::string& needle) {
    auto m = trainer.Step(b);
    ASSERT_FALSE(m.ok()) << "expected an error containing: " << needle;
    EXPECT_TRUE(m.status().IsInvalidArgument()) << m.status();
    EXPECT_NE(m.status().message().find(needle), std::string::npos) << m.status();
  };
  proto::TrainBatch b = PairBatch();
  b.samples[2].pair_index = -1;
  expect_error(b, "samples[2] is not part of a preference pair");
  b = PairBatch();
  b.samples.pop_back();
  expect_error(b, "3 samples is an odd number");
  b = PairBatch();
  b.samples[3].pair_chosen = true;
  expect_error(b, "pair 1 already has a chosen side");
  b = PairBatch();
  b.samples[1].trajectory = Traj(1, {9, 10}, {15, 16, 17, 18});  // another prompt's a¹
  expect_error(b, "pair 0: the sides do not share (x, a¹)");
  EXPECT_EQ(trainer.version(), 0) << "a refused batch takes no step";

  // Pairs sent to a stage that does not train on them.
  Trainer sft(SeededPolicy());
  StageTraining s = MdpoStage(16);
  s.objective = Objective::kSft;
  ASSERT_TRUE(sft.BeginStage(s).ok());
  auto m = sft.Step(PairBatch());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("only mdpo does"), std::string::npos) << m.status();
}

}  // namespace
}  // namespace scorch::learner
