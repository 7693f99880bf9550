// Trainer, PCL's mixed objective (ALGORITHMS §4.5): a grpo step whose batch also carries
// SFT-track demonstrations (TrainSample::sft_track) trains L_GRPO + Σ_track w·L_SFT-track in
// one optimizer step. Checked against the pieces alone: with zero advantages the step equals
// an SFT step on the demonstrations; with zero weights it equals the GRPO step without them
// (they take no part in the advantages or the GRPO normaliser); tracks add up; a non-grpo
// stage refuses them.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "scorch/learner/trainer.h"
#include "scorch/model/policy.h"
#include "tiny_model.h"

namespace scorch::learner {
namespace {

model::Policy TinyPolicy(uint64_t seed) {
  model::Policy p(testing::TinyTrainerConfig());
  model::InitializeWeights(*p, 0.2, seed);
  return p;
}

StageTraining Stage(Objective objective) {
  StageTraining t;
  t.stage = objective == Objective::kGrpo ? "grpo" : "sft";
  t.objective = objective;
  t.optimizer.lr = 1e-2;
  t.optimizer.weight_decay = 0.0;
  t.optimizer.total_steps = 0;
  t.micro_batch_rows = 2;  // demonstrations and samples share micro-batches
  return t;
}

// Prompt tokens 1..4, then a trained continuation.
proto::TrainSample Sample(int64_t prompt_id, std::vector<int32_t> continuation, double reward,
                          const std::string& track = "", double weight = 1.0) {
  proto::TrainSample s;
  s.trajectory.prompt_id = prompt_id;
  s.trajectory.token_ids = {1, 2, 3, 4};
  s.trajectory.trainable_mask = {0, 0, 0, 0};
  for (int32_t t : continuation) {
    s.trajectory.token_ids.push_back(t);
    s.trajectory.trainable_mask.push_back(1);
  }
  s.reward = reward;
  s.sft_track = track;
  s.sft_weight = weight;
  return s;
}

std::vector<proto::TrainSample> Demos(const std::string& track, double weight) {
  return {Sample(0, {13, 14, 15, 16}, 0.0, track, weight), Sample(1, {17, 18}, 0.0, track, weight)};
}

StatusOr<std::map<std::string, double>> OneStep(model::Policy policy, Objective objective,
                                                const std::vector<proto::TrainSample>& samples) {
  Trainer trainer(policy);
  SCORCH_RETURN_IF_ERROR(trainer.BeginStage(Stage(objective)));
  proto::TrainBatch b;
  b.stage = objective == Objective::kGrpo ? "grpo" : "sft";
  b.samples = samples;
  return trainer.Step(b);
}

double MaxDifference(model::Policy& a, model::Policy& b) {
  auto pa = a->named_parameters();
  auto pb = b->named_parameters();
  double worst = 0.0;
  for (const auto& item : pa) worst = std::max(worst, (item.value() - pb[item.key()]).abs().max().item<double>());
  return worst;
}

double MaxMove(model::Policy& trained, uint64_t seed) {
  model::Policy fresh = TinyPolicy(seed);
  return MaxDifference(trained, fresh);
}

TEST(PclMixedObjective, WithZeroAdvantagesTheStepIsTheSftStepOnTheDemonstrations) {
  // Every GRPO sample of a group has the same reward: zero advantages, no policy gradient.
  std::vector<proto::TrainSample> mixed = {Sample(0, {7, 8, 9}, 1.0), Sample(0, {10, 11, 12}, 1.0),
                                           Sample(1, {7, 9}, 0.0), Sample(1, {8, 10}, 0.0)};
  for (auto& d : Demos("reason", 1.0)) mixed.push_back(d);
  model::Policy a = TinyPolicy(1);
  auto ma = OneStep(a, Objective::kGrpo, mixed);
  ASSERT_TRUE(ma.ok()) << ma.status();
  std::vector<proto::TrainSample> sft;
  for (auto d : Demos("", 1.0)) sft.push_back(d);
  model::Policy c = TinyPolicy(1);
  auto mc = OneStep(c, Objective::kSft, sft);
  ASSERT_TRUE(mc.ok()) << mc.status();
  EXPECT_GT(MaxMove(a, 1), 1e-4);  // it trained
  EXPECT_LT(MaxDifference(a, c), 1e-6);
  EXPECT_NEAR(ma->at("pcl/sft_reason_loss"), mc->at("loss"), 1e-5);
  EXPECT_EQ(ma->at("pcl/sft_eval_loss"), 0.0);
  EXPECT_NEAR(ma->at("grad_norm"), mc->at("grad_norm"), 1e-5);
}

TEST(PclMixedObjective, ZeroWeightDemonstrationsLeaveTheGrpoStepAsItWas) {
  const std::vector<proto::TrainSample> grpo = {Sample(0, {7, 8, 9}, 1.0), Sample(0, {10, 11, 12}, 0.0),
                                                Sample(1, {7, 9}, 0.5), Sample(1, {8, 10}, 0.0)};
  std::vector<proto::TrainSample> with_demos = grpo;
  for (auto& d : Demos("reason", 0.0)) with_demos.push_back(d);
  for (auto& d : Demos("eval", 0.0)) with_demos.push_back(d);
  model::Policy a = TinyPolicy(2), b = TinyPolicy(2);
  auto ma = OneStep(a, Objective::kGrpo, grpo);
  auto mb = OneStep(b, Objective::kGrpo, with_demos);
  ASSERT_TRUE(ma.ok()) << ma.status();
  ASSERT_TRUE(mb.ok()) << mb.status();
  EXPECT_GT(MaxMove(a, 2), 1e-4);
  EXPECT_LT(MaxDifference(a, b), 1e-6) << "demonstrations changed the advantages or the GRPO normaliser";
  EXPECT_NEAR(ma->at("loss"), mb->at("loss"), 1e-6);
  EXPECT_EQ(mb->at("pcl/sft_reason_loss"), 0.0);
}

TEST(PclMixedObjective, TrackLossesAreWeightedTokenMeansThatAddUp) {
  const std::vector<proto::TrainSample> grpo = {Sample(0, {7, 8, 9}, 1.0), Sample(0, {10, 11, 12}, 0.0)};
  auto with = [&](double w_reason, double w_eval) {
    std::vector<proto::TrainSample> s = grpo;
    for (auto& d : Demos("reason", w_reason)) s.push_back(d);
    for (auto& d : Demos("eval", w_eval)) s.push_back(d);
    return OneStep(TinyPolicy(3), Objective::kGrpo, s);
  };
  auto grpo_only = with(0.0, 0.0);
  auto both = with(1.0, 0.5);
  auto half = with(0.5, 0.5);
  ASSERT_TRUE(grpo_only.ok() && both.ok() && half.ok());
  // The same demonstrations on both tracks: the eval track at weight 0.5 is half the reason
  // track at weight 1, and the total loss is GRPO's plus both.
  EXPECT_NEAR(both->at("pcl/sft_eval_loss"), 0.5 * both->at("pcl/sft_reason_loss"), 1e-6);
  EXPECT_NEAR(half->at("pcl/sft_reason_loss"), 0.5 * both->at("pcl/sft_reason_loss"), 1e-6);
  EXPECT_NEAR(both->at("loss"),
              grpo_only->at("loss") + both->at("pcl/sft_reason_loss") + both->at("pcl/sft_eval_loss"), 1e-5);
  EXPECT_GT(both->at("pcl/sft_reason_loss"), 0.0);
}

TEST(PclMixedObjective, OnlyGrpoStagesTakeDemonstrations) {
  auto r = OneStep(TinyPolicy(4), Objective::kSft, Demos("eval", 1.0));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().ToString().find("is not a grpo stage"), std::string::npos) << r.status();
}

}  // namespace
}  // namespace scorch::learner
