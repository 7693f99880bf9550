// Multi-process test of the learner group, run under mpirun with 2 and 3 ranks (ctest
// learner_mpi_learner_group_test and ..._np3). main() splits MPI_COMM_WORLD with the rank
// order reversed and hands it to SetCommunicatorWorld, so the learner communicator's ranks
// are not the world's (the leader is the last world rank).
//
// Each test: every rank starts from DIFFERENT random weights (SyncWeights must make them the
// leader's), the leader steps fixed batches through LearnerGroup::Step while the others run
// RunFollower; in the same process the leader also trains a plain Trainer (no communicator)
// on the WHOLE batches from the same initial weights. Then: the parameters match the single
// process ones within kParamTol, the leader's metrics match the single-process metrics (same
// names, values within kMetricTol), and every rank holds exactly the leader's weights.
// Covered: GRPO groups of different sizes/lengths (off-policy, KL), SFT, a batch of one group
// (the other ranks get empty shards), PPO (global whitening; an empty shard on 3 ranks), and a
// bad sample on a follower's shard (every rank refuses the step, nobody deadlocks, and the
// next step is still exact).
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "scorch/learner/communicator.h"
#include "scorch/learner/learner_group.h"
#include "scorch/learner/mpi_world.h"
#include "scorch/learner/shard_batch.h"
#include "scorch/learner/trainer.h"
#include "scorch/model/policy.h"
#include "tiny_model.h"

namespace scorch::learner {
namespace {

// Parameters after a few AdamW steps (lr 1e-2): only the float32 summation order of the
// gradient (and of micro-batches) differs between the group and one process.
constexpr double kParamRtol = 1e-5;
constexpr double kParamAtol = 1e-5;
// Metrics: float32 per-micro-batch statistics summed in another order, on weights that differ
// by ~1e-6 after the first step.
constexpr double kMetricRtol = 1e-4;
constexpr double kMetricAtol = 1e-5;

std::unique_ptr<Communicator> MakeMpi() {
  CommunicatorConfig c;
  c.backend = "mpi";
  c.timeout = std::chrono::seconds(60);  // a hang ends the job with a message, not a ctest timeout
  auto comm = CreateCommunicator(c);
  EXPECT_TRUE(comm.ok()) << comm.status();
  return comm.ok() ? std::move(comm).value() : nullptr;
}

// Deterministic pseudo-random ints without touching torch's RNG.
struct Lcg {
  uint64_t s;
  int Next(int mod) {
    s = s * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<int>((s >> 33) % static_cast<uint64_t>(mod));
  }
};

proto::TrainSample MakeSample(int64_t prompt_id, int len, double reward, Lcg& rng, bool off_policy) {
  proto::TrainSample s;
  s.trajectory.prompt_id = prompt_id;
  s.trajectory.policy_version = off_policy ? -1 : 0;  // -1: never the trainer's: recorded log-probs count
  for (int i = 0; i < len; ++i) s.trajectory.token_ids.push_back(rng.Next(23));
  s.trajectory.trainable_mask.assign(static_cast<size_t>(len), 1);
  for (int i = 0; i < 3 && i < len; ++i) s.trajectory.trainable_mask[static_cast<size_t>(i)] = 0;  // the prompt
  s.trajectory.logprobs.assign(static_cast<size_t>(len), 0.0f);
  for (int i = 1; i < len; ++i) s.trajectory.logprobs[static_cast<size_t>(i)] = -2.0f - 0.1f * static_cast<float>(rng.Next(20));
  s.reward = reward;
  return s;
}

// GRPO groups of sizes 2,3,4,2,3 and lengths 6..20, interleaved.
proto::TrainBatch GrpoBatch(const std::string& stage, int groups = 5) {
  proto::TrainBatch b;
  b.step = 1;
  b.stage = stage;
  Lcg rng{42};
  const int sizes[] = {2, 3, 4, 2, 3};
  for (int g = 0; g < groups; ++g) {
    for (int k = 0; k < sizes[g]; ++k) {
      b.samples.push_back(MakeSample(100 + g, 6 + (g * 3 + k * 2) % 15, (k % 2 == 0 ? 1.0 : 0.0) + 0.1 * k, rng, true));
    }
  }
  return b;
}

proto::TrainBatch SftBatch() {
  proto::TrainBatch b;
  b.step = 1;
  b.stage = "sft";
  Lcg rng{7};
  for (int i = 0; i < 7; ++i) b.samples.push_back(MakeSample(i, 5 + (i * 5) % 13, 0.0, rng, false));
  return b;
}

StageTraining Stage(const std::string& name, Objective objective) {
  StageTraining s;
  s.stage = name;
  s.objective = objective;
  s.optimizer.lr = 1e-2;
  s.optimizer.total_steps = 100;
  s.micro_batch_rows = 2;  // several micro-batches, split differently than in one process
  if (objective == Objective::kGrpo) s.kl_beta = 0.05;
  if (objective == Objective::kPpo) {
    s.kl_beta = 0.02;
    s.ppo.critic_optimizer = s.optimizer;
  }
  return s;
}

std::vector<torch::Tensor> Params(model::Policy& p) {
  std::vector<torch::Tensor> out;
  for (auto& t : p->parameters()) out.push_back(t.detach().clone());
  return out;
}

void ExpectMetricsMatch(const std::map<std::string, double>& group, const std::map<std::string, double>& single,
                        const std::string& where) {
  for (const auto& [k, v] : single) {
    auto it = group.find(k);
    ASSERT_NE(it, group.end()) << where << ": the group does not report " << k;
    EXPECT_NEAR(it->second, v, kMetricAtol + kMetricRtol * std::abs(v)) << where << ": " << k;
  }
  for (const auto& [k, v] : group) EXPECT_TRUE(single.count(k)) << where << ": extra metric " << k << " = " << v;
}

struct Outcome {
  std::vector<Status> statuses;  // leader: each Step's status
};

// Runs `batches` through a learner group on every rank; the leader checks parameters and
// metrics against one process training on the whole batches (`expect_ok[i]` false: batch i
// must be refused by every rank, and the single process skips it). `required` names metrics
// that must be reported.
void RunAndCompare(const StageTraining& stage, const std::vector<proto::TrainBatch>& batches,
                   const std::vector<bool>& expect_ok, const std::vector<std::string>& required) {
  auto comm = MakeMpi();
  ASSERT_NE(comm, nullptr);
  const int rank = comm->rank(), size = comm->size();
  ASSERT_GE(size, 2);
  torch::manual_seed(1000 + rank);  // different weights on every rank: SyncWeights must fix that
  model::Policy policy(testing::TinyTrainerConfig());
  Trainer trainer(policy, comm.get());
  LearnerGroupConfig gc;
  gc.keepalive_interval = std::chrono::milliseconds(0);  // every KeepAlive sends one
  LearnerGroup group(trainer, *comm, [stage](const std::string&) -> StatusOr<StageTraining> { return stage; }, gc);

  if (group.is_leader()) {
    ASSERT_TRUE(group.SyncWeights().ok());
    // The single-process reference starts from the leader's (synced) weights.
    model::Policy single_policy(testing::TinyTrainerConfig());
    {
      torch::NoGradGuard no_grad;
      auto src = Params(policy);
      auto dst = single_policy->parameters();
      for (size_t i = 0; i < src.size(); ++i) dst[i].copy_(src[i]);
    }
    Trainer single(single_policy);
    ASSERT_TRUE(trainer.BeginStage(stage).ok());
    ASSERT_TRUE(single.BeginStage(stage).ok());
    for (size_t i = 0; i < batches.size(); ++i) {
      ASSERT_TRUE(group.KeepAlive().ok());
      auto got = group.Step(batches[i]);
      if (!expect_ok[i]) {
        ASSERT_FALSE(got.ok()) << "batch " << i << " should have been refused";
        EXPECT_TRUE(got.status().IsInvalidArgument()) << got.status();
        EXPECT_NE(got.status().message().find("outside the vocabulary"), std::string::npos) << got.status();
        continue;
      }
      ASSERT_TRUE(got.ok()) << "batch " << i << ": " << got.status();
      auto want = single.Step(batches[i]);
      ASSERT_TRUE(want.ok()) << want.status();
      for (const auto& name : required) EXPECT_TRUE(want->count(name)) << "single process lacks " << name;
      ExpectMetricsMatch(*got, *want, stage.stage + " step " + std::to_string(i) + " ranks " + std::to_string(size));
    }
    ASSERT_TRUE(group.Shutdown().ok());
    EXPECT_EQ(trainer.version(), single.version());
    auto dp = Params(policy), one = Params(single_policy);
    double max_diff = 0.0, max_change = 0.0;
    for (size_t i = 0; i < dp.size(); ++i) {
      EXPECT_TRUE(torch::allclose(dp[i], one[i], kParamRtol, kParamAtol)) << "parameter " << i;
      max_diff = std::max(max_diff, (dp[i] - one[i]).abs().max().item<double>());
    }
    std::printf("[learner-group] %s ranks=%d max|w_group - w_single|=%.3g\n", stage.stage.c_str(), size, max_diff);
    (void)max_change;
  } else {
    ASSERT_TRUE(group.RunFollower().ok());
  }
  // Every rank holds exactly the leader's weights (same global gradient, same AdamW state).
  auto mine = Params(policy);
  auto leaders = mine;
  for (auto& t : leaders) t = t.clone();
  ASSERT_TRUE(comm->Broadcast(leaders, 0).ok());
  for (size_t i = 0; i < mine.size(); ++i) EXPECT_TRUE(torch::equal(mine[i], leaders[i])) << "rank " << rank << " parameter " << i;
}

TEST(MpiLearnerGroupTest, CommunicatorUsesTheLearnerWorld) {
  auto comm = MakeMpi();
  ASSERT_NE(comm, nullptr);
  int world_rank = 0, world_size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  EXPECT_EQ(comm->size(), world_size);
  EXPECT_EQ(comm->rank(), world_size - 1 - world_rank);  // main() reversed the order
}

TEST(MpiLearnerGroupTest, GrpoMatchesOneProcess) {
  const proto::TrainBatch b = GrpoBatch("grpo");
  RunAndCompare(Stage("grpo", Objective::kGrpo), {b, b, b}, {true, true, true},
                {"loss", "entropy", "tokens", "kl/k1", "kl/k3", "clip_fraction", "grad_norm", "policy_loss"});
}

TEST(MpiLearnerGroupTest, SftMatchesOneProcess) {
  const proto::TrainBatch b = SftBatch();
  RunAndCompare(Stage("sft", Objective::kSft), {b, b, b}, {true, true, true}, {"loss", "nll", "entropy", "tokens", "grad_norm"});
}

TEST(MpiLearnerGroupTest, EmptyShardsTakePart) {
  // One GRPO group: every rank but one gets an empty shard, and must still step.
  const proto::TrainBatch one = GrpoBatch("grpo", 1);
  auto comm = MakeMpi();
  ASSERT_NE(comm, nullptr);
  int empty = 0;
  for (int r = 0; r < comm->size(); ++r) empty += ShardBatch(one, r, comm->size()).samples.empty() ? 1 : 0;
  ASSERT_EQ(empty, comm->size() - 1);
  comm.reset();
  RunAndCompare(Stage("grpo", Objective::kGrpo), {one, GrpoBatch("grpo", 2), one}, {true, true, true},
                {"loss", "entropy", "tokens", "clip_fraction", "grad_norm"});
}

TEST(MpiLearnerGroupTest, PpoMatchesOneProcess) {
  // Two prompts: with 3 ranks one shard is empty. Whitening uses the global batch.
  const proto::TrainBatch two = GrpoBatch("ppo", 2);
  RunAndCompare(Stage("ppo", Objective::kPpo), {two, two}, {true, true},
                {"loss", "value_loss", "entropy", "tokens", "kl/k1", "grad_norm", "value/explained_variance"});
}

TEST(MpiLearnerGroupTest, BadShardIsRefusedEverywhere) {
  proto::TrainBatch bad = GrpoBatch("grpo");
  // The smallest group (prompt 100: 14 tokens) goes last and lands on rank 1 with 2 and with
  // 3 ranks (LPT): the refusal comes from a follower and must reach the leader.
  for (auto& s : bad.samples) {
    if (s.trajectory.prompt_id == 100) s.trajectory.token_ids[4] = 99;
  }
  ASSERT_TRUE(ShardBatch(bad, 0, 2).samples.front().trajectory.prompt_id != 100);
  const proto::TrainBatch good = GrpoBatch("grpo");
  RunAndCompare(Stage("grpo", Objective::kGrpo), {bad, good}, {false, true}, {"loss", "grad_norm"});
}

}  // namespace
}  // namespace scorch::learner

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_FUNNELED, &provided);
  int world_rank = 0, world_size = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  // The launcher's split: here every rank is a learner, ordered backwards.
  MPI_Comm learners = MPI_COMM_NULL;
  MPI_Comm_split(MPI_COMM_WORLD, 0, world_size - 1 - world_rank, &learners);
  scorch::learner::SetCommunicatorWorld(learners);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  scorch::learner::SetCommunicatorWorld(MPI_COMM_NULL);
  MPI_Comm_free(&learners);
  MPI_Finalize();
  return worst;
}
