// Multi-process test, run under mpirun with 2 and 3 ranks (ctest learner_mpi_communicator_test
// and ..._np3). Every rank runs every test; the exit code is the max over ranks.
//  * all-reduce (sum, avg) and broadcast are correct over several buckets and dtypes;
//  * data-parallel training: each rank trains a tiny Policy on its shard of a global batch
//    (loss normalised by the global token count, gradients SUM-all-reduced) for several
//    steps; the weights equal those of one process training on the whole batch, within
//    kDataParallelTol (float32; only the summation order of the gradient differs).
#include <gtest/gtest.h>
// The C API only: OpenMPI's deprecated C++ bindings need libmpi_cxx, which we do not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include "scorch/learner/communicator.h"
#include "scorch/learner/losses.h"
#include "scorch/learner/optimizer.h"
#include "scorch/model/policy.h"

namespace scorch::learner {
namespace {

// Max |Δw| allowed between data-parallel and single-process weights after kSteps steps of
// AdamW at lr 1e-2 (weights move by ~2e-2). Only the float32 summation order of the
// gradient differs; Adam's per-coordinate normalisation amplifies that for near-zero
// gradients. Measured ~2e-6 with 2 and 3 ranks; the tolerance leaves 5x headroom.
constexpr double kDataParallelTol = 1e-5;
constexpr int kSteps = 4;

std::unique_ptr<Communicator> MakeMpi(size_t bucket_bytes = 32u << 20) {
  CommunicatorConfig c;
  c.backend = "mpi";
  c.bucket_bytes = bucket_bytes;
  c.timeout = std::chrono::seconds(60);  // a rank that dies mid-test ends the job, not a hang
  auto comm = CreateCommunicator(c);
  EXPECT_TRUE(comm.ok()) << comm.status();
  return comm.ok() ? std::move(comm).value() : nullptr;
}

TEST(MpiCommunicatorTest, AllReduceSumAndAvgOverBuckets) {
  auto comm = MakeMpi(/*bucket_bytes=*/1024);  // forces several buckets
  ASSERT_NE(comm, nullptr);
  const int r = comm->rank(), n = comm->size();
  ASSERT_GE(n, 2);
  const double v = r + 1;  // Σ (r+1) = n(n+1)/2
  const double sum = n * (n + 1) / 2.0;
  std::vector<torch::Tensor> t = {
      torch::full({300}, v),                                    // 1200 B: alone
      torch::full({3, 5}, v, torch::kDouble).t(),               // non-contiguous double
      torch::full({7}, static_cast<int64_t>(r + 1), torch::kLong),
      torch::full({4}, v).to(torch::kBFloat16),
      torch::arange(50, torch::kFloat) * v,
  };
  ASSERT_TRUE(comm->AllReduce(t, ReduceOp::kSum).ok());
  EXPECT_TRUE(torch::all(t[0] == sum).item<bool>());
  EXPECT_TRUE(torch::all(t[1] == sum).item<bool>());
  EXPECT_TRUE(torch::all(t[2] == static_cast<int64_t>(sum)).item<bool>());
  EXPECT_EQ(t[3].scalar_type(), torch::kBFloat16);
  EXPECT_TRUE(torch::all(t[3].to(torch::kFloat) == sum).item<bool>());
  EXPECT_TRUE(torch::allclose(t[4], torch::arange(50, torch::kFloat) * sum));

  std::vector<torch::Tensor> a = {torch::full({10}, v)};
  ASSERT_TRUE(comm->AllReduce(a, ReduceOp::kAvg).ok());
  EXPECT_NEAR(a[0][3].item<double>(), sum / n, 1e-6);
  auto s = comm->AllReduceScalar(r, ReduceOp::kSum);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, n * (n - 1) / 2.0);
}

TEST(MpiCommunicatorTest, BroadcastFromLastRankAndBarrier) {
  auto comm = MakeMpi(1024);
  ASSERT_NE(comm, nullptr);
  const int root = comm->size() - 1;
  std::vector<torch::Tensor> t = {torch::full({600}, static_cast<float>(comm->rank())),
                                  torch::full({2}, static_cast<int32_t>(comm->rank()), torch::kInt)};
  ASSERT_TRUE(comm->Broadcast(t, root).ok());
  EXPECT_TRUE(torch::all(t[0] == root).item<bool>());
  EXPECT_TRUE(torch::all(t[1] == root).item<bool>());
  EXPECT_FALSE(comm->Broadcast(t, comm->size()).ok());  // bad root: refused locally
  EXPECT_TRUE(comm->Barrier().ok());
}

// ---- data-parallel training ------------------------------------------------------------------

model::ModelConfig TinyConfig() {
  model::ModelConfig c;
  c.vocab_size = 29;
  c.hidden_size = 16;
  c.intermediate_size = 32;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.attention_bias = true;
  return c;
}

struct GlobalBatch {
  torch::Tensor ids, mask, old_logp, adv;
};

// The same global batch on every rank: 6 rows (divisible by 2 and 3 ranks), seeded by step.
GlobalBatch MakeBatch(int step) {
  torch::manual_seed(1000 + step);
  GlobalBatch b;
  b.ids = torch::randint(0, 29, {6, 10}, torch::kLong);
  b.mask = (torch::rand({6, 10}) > 0.3).to(torch::kFloat);
  b.mask.select(1, 0).zero_();
  b.old_logp = -torch::rand({6, 10}) * 4;
  b.adv = torch::randn({6});
  return b;
}

StatusOr<LossResult> Loss(model::Policy& policy, const GlobalBatch& g, int64_t begin, int64_t end, double tokens) {
  auto ids = g.ids.slice(0, begin, end);
  auto logits = policy->forward(ids).logits;
  SCORCH_ASSIGN_OR_RETURN(auto logp, TokenLogProbs(logits, ids));
  PolicyBatch pb{logp, g.old_logp.slice(0, begin, end), {}, g.adv.slice(0, begin, end), g.mask.slice(0, begin, end),
                 {}};
  SCORCH_ASSIGN_OR_RETURN(auto r, GrpoLoss(pb, {.normalizer = tokens}));
  SCORCH_ASSIGN_OR_RETURN(auto s, SftLoss(logp, g.mask.slice(0, begin, end), {.normalizer = tokens}));
  r.loss = r.loss + 0.3 * s.loss;
  return r;
}

model::Policy MakePolicy() {
  model::Policy p(TinyConfig());
  model::InitializeWeights(*p, 0.2, 11);
  return p;
}

OptimizerConfig Opt() {
  OptimizerConfig c;
  c.lr = 1e-2;
  c.warmup_steps = 1;
  c.total_steps = kSteps;
  c.max_grad_norm = 0.5;  // exercises clipping on the reduced gradient
  return c;
}

TEST(MpiDataParallelTest, ShardedTrainingMatchesOneProcessOnTheWholeBatch) {
  auto comm = MakeMpi();
  ASSERT_NE(comm, nullptr);
  const int r = comm->rank(), n = comm->size();
  const int64_t rows = 6, per = rows / n;

  auto dp = MakePolicy();
  auto dp_opt = std::move(Optimizer::Create(dp->parameters(), Opt()).value());
  auto ref = MakePolicy();
  auto ref_opt = std::move(Optimizer::Create(ref->parameters(), Opt()).value());

  for (int step = 0; step < kSteps; ++step) {
    auto g = MakeBatch(step);
    // Data parallel: my shard, global token count, SUM of gradients.
    const int64_t b = r * per, e = b + per;
    auto local_tokens = g.mask.slice(0, b, e).sum().item<double>();
    auto global_tokens = comm->AllReduceScalar(local_tokens, ReduceOp::kSum);
    ASSERT_TRUE(global_tokens.ok());
    EXPECT_DOUBLE_EQ(*global_tokens, g.mask.sum().item<double>());
    auto l = Loss(dp, g, b, e, *global_tokens);
    ASSERT_TRUE(l.ok()) << l.status();
    l->loss.backward();
    ASSERT_TRUE(AllReduceGradients(*comm, dp->parameters()).ok());
    ASSERT_TRUE(dp_opt->Step().ok());
    // Reference: this process alone on the whole batch.
    auto lr = Loss(ref, g, 0, rows, 0.0);
    ASSERT_TRUE(lr.ok());
    lr->loss.backward();
    ASSERT_TRUE(ref_opt->Step().ok());
  }

  double max_diff = 0.0, max_change = 0.0;
  auto fresh = MakePolicy();
  auto dpp = dp->parameters(), refp = ref->parameters(), fp = fresh->parameters();
  for (size_t i = 0; i < dpp.size(); ++i) {
    max_diff = std::max(max_diff, (dpp[i] - refp[i]).abs().max().item<double>());
    max_change = std::max(max_change, (refp[i] - fp[i]).abs().max().item<double>());
  }
  EXPECT_LT(max_diff, kDataParallelTol) << "rank " << r;
  EXPECT_GT(max_change, 1e-3) << "training must actually move the weights";

  // Every rank holds the same weights: compare with rank 0's.
  std::vector<torch::Tensor> mine;
  for (auto& p : dpp) mine.push_back(p.detach().clone());
  auto root = mine;
  for (auto& t : root) t = t.clone();
  ASSERT_TRUE(comm->Broadcast(root, 0).ok());
  double rank_diff = 0.0;
  for (size_t i = 0; i < mine.size(); ++i) {
    rank_diff = std::max(rank_diff, (mine[i] - root[i]).abs().max().item<double>());
  }
  EXPECT_LT(rank_diff, 1e-7);
  if (r == 0) {
    std::printf("[data-parallel] ranks=%d steps=%d max|w_dp - w_single|=%.3g max|w - w0|=%.3g\n", n, kSteps,
                max_diff, max_change);
  }
}

}  // namespace
}  // namespace scorch::learner

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rc = RUN_ALL_TESTS();
  int worst = 0;
  MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  MPI_Finalize();
  return worst;
}
