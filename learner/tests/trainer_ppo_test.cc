// Trainer, PPO objective: the critic starts from the policy's trunk with a zero head; PPO
// steps move probability towards the rewarded continuation and fit the critic to the
// returns; a checkpoint carries the critic (aux/critic) so a resumed stage continues
// bitwise; a checkpoint without it is refused for a PPO stage.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>

#include "scorch/learner/learner_checkpoint.h"
#include "scorch/learner/trainer.h"
#include "tiny_model.h"
#include "scorch/model/policy.h"

namespace scorch::learner {
namespace {
namespace fs = std::filesystem;

model::ModelConfig TinyConfig() { return testing::TinyTrainerConfig(); }

model::Policy TinyPolicy(uint64_t seed) {
  model::Policy p(TinyConfig());
  model::InitializeWeights(*p, 0.2, seed);
  return p;
}

StageTraining PpoStage(double kl_beta = 0.0) {
  StageTraining t;
  t.stage = "ppo";
  t.objective = Objective::kPpo;
  t.optimizer.lr = 3e-2;
  t.optimizer.weight_decay = 0.0;
  t.optimizer.total_steps = 0;
  t.micro_batch_rows = 2;  // several micro-batches per step
  t.kl_beta = kl_beta;
  t.ppo.critic_optimizer = t.optimizer;
  t.ppo.critic_optimizer.lr = 3e-2;
  return t;
}

// A prompt (tokens 1..4) and a continuation of 3 trained tokens.
proto::TrainSample Sample(int64_t prompt_id, std::vector<int32_t> continuation, double reward) {
  proto::TrainSample s;
  s.trajectory.prompt_id = prompt_id;
  s.trajectory.token_ids = {1, 2, 3, 4};
  s.trajectory.trainable_mask = {0, 0, 0, 0};
  for (int32_t t : continuation) {
    s.trajectory.token_ids.push_back(t);
    s.trajectory.trainable_mask.push_back(1);
  }
  s.reward = reward;
  return s;
}

proto::TrainBatch Batch() {
  proto::TrainBatch b;
  b.stage = "ppo";
  // Rewarded continuation 7 8 9; unrewarded 10 11 12 (same prompt, on-policy: version 0).
  for (int i = 0; i < 3; ++i) {
    b.samples.push_back(Sample(0, {7, 8, 9}, 1.0));
    b.samples.push_back(Sample(0, {10, 11, 12}, 0.0));
  }
  return b;
}

// log π(continuation | prompt) under `policy`.
double SequenceLogProb(model::Policy& policy, const std::vector<int64_t>& continuation) {
  torch::NoGradGuard no_grad;
  std::vector<int64_t> ids = {1, 2, 3, 4};
  ids.insert(ids.end(), continuation.begin(), continuation.end());
  auto t = torch::tensor(ids).unsqueeze(0);
  auto logp = TokenLogProbs(policy->forward(t).logits, t).value();
  return logp.narrow(1, 4, static_cast<int64_t>(continuation.size())).sum().item<double>();
}

TEST(TrainerPpoTest, CriticStartsFromThePolicyTrunkWithAZeroHead) {
  torch::manual_seed(0);
  Trainer trainer(TinyPolicy(1));
  ASSERT_TRUE(trainer.BeginStage(PpoStage()).ok());
  auto aux = trainer.AuxiliaryModules();
  ASSERT_EQ(aux.size(), 1u);  // no KL: no reference
  EXPECT_EQ(aux[0].name, "critic");
  auto policy_params = trainer.policy()->named_parameters();
  int copied = 0;
  for (const auto& item : aux[0].module->named_parameters()) {
    if (item.key().rfind("model.", 0) == 0) {
      EXPECT_TRUE(torch::equal(item.value(), policy_params[item.key()])) << item.key();
      ++copied;
    } else {
      EXPECT_EQ(item.value().abs().sum().item<double>(), 0.0) << item.key();
    }
  }
  EXPECT_GT(copied, 0);
  // sft/grpo stages train no auxiliary module.
  StageTraining sft;
  sft.stage = "sft";
  ASSERT_TRUE(trainer.BeginStage(sft).ok());
  EXPECT_TRUE(trainer.AuxiliaryModules().empty());
}

TEST(TrainerPpoTest, StepsPreferTheRewardedContinuationAndFitTheCritic) {
  torch::manual_seed(0);
  torch::set_num_threads(1);
  Trainer trainer(TinyPolicy(2));
  ASSERT_TRUE(trainer.BeginStage(PpoStage(/*kl_beta=*/0.01)).ok());
  const double good0 = SequenceLogProb(trainer.policy(), {7, 8, 9});
  const double bad0 = SequenceLogProb(trainer.policy(), {10, 11, 12});
  std::map<std::string, double> first, last;
  for (int step = 0; step < 12; ++step) {
    proto::TrainBatch b = Batch();
    for (auto& s : b.samples) s.trajectory.policy_version = trainer.version();  // on-policy
    auto m = trainer.Step(b);
    ASSERT_TRUE(m.ok()) << m.status();
    if (step == 0) first = *m;
    last = *m;
  }
  const double good = SequenceLogProb(trainer.policy(), {7, 8, 9});
  const double bad = SequenceLogProb(trainer.policy(), {10, 11, 12});
  EXPECT_GT(good - bad, good0 - bad0 + 1.0) << "good " << good0 << " -> " << good << ", bad " << bad0 << " -> " << bad;
  for (const char* k : {"loss", "policy_loss", "value_loss", "entropy", "clip_fraction", "kl/k1", "lr", "grad_norm",
                        "critic/lr", "critic/grad_norm", "value/mean", "value/returns_mean"}) {
    EXPECT_TRUE(last.count(k)) << k;
  }
  // The critic learns: its value loss falls and it explains the returns better than at start
  // (a zero head explains nothing).
  EXPECT_LT(last["value_loss"], first["value_loss"]);
  EXPECT_GT(last["value/explained_variance"], 0.5);
  EXPECT_EQ(trainer.version(), 12);
  EXPECT_EQ(trainer.stage_step(), 12);
}

TEST(TrainerPpoTest, BadDenseRewardsAreRefusedWithoutAStep) {
  Trainer trainer(TinyPolicy(3));
  ASSERT_TRUE(trainer.BeginStage(PpoStage()).ok());
  proto::TrainBatch b = Batch();
  b.samples[1].dense_rewards = {0.5f};  // 1 entry for 7 tokens
  auto m = trainer.Step(b);
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("dense_rewards"), std::string::npos) << m.status();
  EXPECT_EQ(trainer.stage_step(), 0);
}

class TrainerPpoCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);
    dir_ = fs::temp_directory_path() / ("scorch_ppo_ckpt_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(TrainerPpoCheckpointTest, ResumeWithTheCriticIsBitwise) {
  auto run_step = [](Trainer& t) {
    proto::TrainBatch b = Batch();
    b.samples[2].dense_rewards.assign(b.samples[2].trajectory.token_ids.size(), 0.1f);
    for (auto& s : b.samples) s.trajectory.policy_version = t.version();
    auto m = t.Step(b);
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? *m : std::map<std::string, double>{};
  };
  torch::manual_seed(0);
  Trainer straight(TinyPolicy(4));
  ASSERT_TRUE(straight.BeginStage(PpoStage(0.01)).ok());
  run_step(straight);
  run_step(straight);
  LearnerCheckpointInfo info;
  info.step = 2;
  info.stage = "ppo";
  info.policy_version = straight.version();
  auto saved = SaveLearnerCheckpoint(dir_, *straight.policy(), TinyConfig(), *straight.optimizer(), info, {},
                                     straight.AuxiliaryModules());
  ASSERT_TRUE(saved.ok()) << saved.status();
  EXPECT_TRUE(fs::exists(*saved / "aux" / "critic" / "optimizer.pt"));
  EXPECT_TRUE(fs::exists(*saved / "aux" / "reference" / "config.json"));
  EXPECT_FALSE(fs::exists(*saved / "aux" / "reference" / "optimizer.pt"));
  const auto after_straight = run_step(straight);

  Trainer resumed(TinyPolicy(99));  // different weights: everything must come from the checkpoint
  ASSERT_TRUE(resumed.BeginStage(PpoStage(0.01)).ok());
  auto loaded = LoadLearnerCheckpoint(*saved, *resumed.policy(), *resumed.optimizer(), resumed.AuxiliaryModules());
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  resumed.set_version(loaded->policy_version);
  const auto after_resumed = run_step(resumed);
  ASSERT_FALSE(after_straight.empty());
  for (const auto& [k, v] : after_straight) {
    ASSERT_TRUE(after_resumed.count(k)) << k;
    EXPECT_EQ(v, after_resumed.at(k)) << k;
  }
  auto a = straight.AuxiliaryModules()[0].module->named_parameters();
  for (const auto& item : resumed.AuxiliaryModules()[0].module->named_parameters()) {
    EXPECT_TRUE(torch::equal(item.value(), a[item.key()])) << item.key();
  }
}

TEST_F(TrainerPpoCheckpointTest, ACheckpointWithoutTheCriticIsRefused) {
  Trainer sft_trainer(TinyPolicy(5));
  StageTraining sft;
  sft.stage = "sft";
  ASSERT_TRUE(sft_trainer.BeginStage(sft).ok());
  LearnerCheckpointInfo info;
  info.step = 0;
  info.stage = "sft";
  auto saved = SaveLearnerCheckpoint(dir_, *sft_trainer.policy(), TinyConfig(), *sft_trainer.optimizer(), info);
  ASSERT_TRUE(saved.ok()) << saved.status();
  Trainer ppo(TinyPolicy(5));
  ASSERT_TRUE(ppo.BeginStage(PpoStage()).ok());
  auto loaded = LoadLearnerCheckpoint(*saved, *ppo.policy(), *ppo.optimizer(), ppo.AuxiliaryModules());
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kNotFound) << loaded.status();
  EXPECT_NE(loaded.status().message().find("critic"), std::string::npos) << loaded.status();
}

}  // namespace
}  // namespace scorch::learner
