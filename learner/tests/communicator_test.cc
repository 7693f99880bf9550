// Single-process communicator tests: bucket planning and packing, the local backend, config
// and factory errors, and the watchdog ending the process on a timed-out collective.
// (Multi-rank MPI behaviour is in mpi_communicator_test.cc, run under mpirun.)
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "../src/comm/comm_internal.h"
#include "scorch/learner/communicator.h"

namespace scorch::learner {
namespace {

using internal::PlanBuckets;

TEST(BucketTest, GroupsByDtypeAndSize) {
  // 1024-byte buckets: 100 floats (400 B) + 100 floats fit; a third does not.
  std::vector<torch::Tensor> t = {torch::zeros({100}), torch::zeros({100}), torch::zeros({100}),
                                  torch::zeros({10}, torch::kDouble), torch::zeros({1000}), torch::zeros({1})};
  auto b = PlanBuckets(t, 1024);
  ASSERT_EQ(b.size(), 5u);
  EXPECT_EQ(b[0].members, (std::vector<size_t>{0, 1}));
  EXPECT_EQ(b[1].members, (std::vector<size_t>{2}));
  EXPECT_EQ(b[2].members, (std::vector<size_t>{3}));  // dtype change starts a bucket
  EXPECT_EQ(b[3].members, (std::vector<size_t>{4}));  // larger than a bucket: alone
  EXPECT_EQ(b[4].members, (std::vector<size_t>{5}));
  EXPECT_EQ(b[0].numel, 200);
}

TEST(BucketTest, PackUnpackRoundTripsNonContiguousAndBf16) {
  auto a = torch::arange(12, torch::kFloat).view({3, 4}).t();  // non-contiguous
  auto h = torch::tensor({1.5f, -2.0f}).to(torch::kBFloat16);
  std::vector<torch::Tensor> t = {a, torch::arange(5, torch::kFloat)};
  auto buckets = PlanBuckets(t, 1 << 20);
  ASSERT_EQ(buckets.size(), 1u);
  auto flat = internal::PackBucket(t, buckets[0]);
  EXPECT_TRUE(flat.is_contiguous());
  EXPECT_EQ(flat.numel(), 17);
  flat.mul_(2);
  internal::UnpackBucket(flat, t, buckets[0]);
  EXPECT_TRUE(torch::equal(a, torch::arange(12, torch::kFloat).view({3, 4}).t() * 2));

  std::vector<torch::Tensor> hb = {h};
  auto hbuckets = PlanBuckets(hb, 1 << 20);
  auto hflat = internal::PackBucket(hb, hbuckets[0]);
  EXPECT_EQ(hflat.scalar_type(), torch::kFloat);  // bf16 travels as float32
  hflat.add_(1);
  internal::UnpackBucket(hflat, hb, hbuckets[0]);
  EXPECT_EQ(h.scalar_type(), torch::kBFloat16);
  EXPECT_EQ(h[0].item<float>(), 2.5f);
}

TEST(BucketTest, LoneContiguousTensorIsReducedInPlace) {
  // One contiguous float tensor in its wire dtype: the flat buffer IS the tensor (no copies).
  auto g = torch::arange(6, torch::kFloat).view({2, 3});
  std::vector<torch::Tensor> t = {g};
  auto b = PlanBuckets(t, 8);  // larger than a bucket: travels alone
  ASSERT_EQ(b.size(), 1u);
  auto flat = internal::PackBucket(t, b[0]);
  EXPECT_TRUE(flat.is_alias_of(g));
  EXPECT_EQ(flat.dim(), 1);
  flat.mul_(3);
  internal::UnpackBucket(flat, t, b[0]);
  EXPECT_TRUE(torch::equal(g, torch::arange(6, torch::kFloat).view({2, 3}) * 3));

  // Copies are kept where aliasing would be wrong: non-contiguous, bf16 (wire float32),
  // tensors that require grad, and buckets of several tensors.
  auto nc = torch::zeros({3, 2}).t();
  auto bf = torch::zeros({4}, torch::kBFloat16);
  auto leaf = torch::zeros({4}, torch::requires_grad());
  for (const auto& x : {nc, bf, leaf}) {
    std::vector<torch::Tensor> one = {x};
    EXPECT_FALSE(internal::PackBucket(one, PlanBuckets(one, 1 << 20)[0]).is_alias_of(x));
  }
  std::vector<torch::Tensor> two = {torch::zeros({4}), torch::zeros({4})};
  auto b2 = PlanBuckets(two, 1 << 20);
  ASSERT_EQ(b2.size(), 1u);
  auto f2 = internal::PackBucket(two, b2[0]);
  EXPECT_FALSE(f2.is_alias_of(two[0]));
  f2.fill_(5);
  internal::UnpackBucket(f2, two, b2[0]);
  EXPECT_TRUE(torch::all(two[1] == 5).item<bool>());
}

TEST(LocalCommunicatorTest, IdentityCollectives) {
  auto comm = CreateCommunicator(CommunicatorConfig{});
  ASSERT_TRUE(comm.ok()) << comm.status();
  auto& c = **comm;
  EXPECT_EQ(c.rank(), 0);
  EXPECT_EQ(c.size(), 1);
  EXPECT_EQ(c.backend(), "local");
  std::vector<torch::Tensor> t = {torch::tensor({1.f, 2.f})};
  ASSERT_TRUE(c.AllReduce(t, ReduceOp::kAvg).ok());
  EXPECT_TRUE(torch::equal(t[0], torch::tensor({1.f, 2.f})));
  ASSERT_TRUE(c.Broadcast(t, 0).ok());
  EXPECT_FALSE(c.Broadcast(t, 1).ok());
  ASSERT_TRUE(c.Barrier().ok());
  auto s = c.AllReduceScalar(3.5, ReduceOp::kSum);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, 3.5);
}

TEST(LocalCommunicatorTest, BadTensorsAreNamed) {
  auto comm = CreateCommunicator(CommunicatorConfig{});
  ASSERT_TRUE(comm.ok());
  std::vector<torch::Tensor> undefined = {torch::zeros({1}), torch::Tensor()};
  auto s = (*comm)->AllReduce(undefined, ReduceOp::kSum);
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("tensor 1"), std::string::npos);
  std::vector<torch::Tensor> boolean = {torch::zeros({1}, torch::kBool)};
  EXPECT_FALSE((*comm)->AllReduce(boolean, ReduceOp::kSum).ok());
}

TEST(LocalCommunicatorTest, AllReduceGradientsFillsMissingGrads) {
  auto comm = CreateCommunicator(CommunicatorConfig{});
  ASSERT_TRUE(comm.ok());
  auto p = torch::ones({2}, torch::requires_grad());
  ASSERT_TRUE(AllReduceGradients(**comm, {p}).ok());
  ASSERT_TRUE(p.grad().defined());
  EXPECT_EQ(p.grad().sum().item<float>(), 0.0f);
}

TEST(CommunicatorConfigTest, ValidateAndFactory) {
  CommunicatorConfig c;
  c.backend = "gloo";
  auto s = c.Validate();
  ASSERT_FALSE(s.ok());
  EXPECT_NE(s.message().find("gloo"), std::string::npos);
  c = CommunicatorConfig{};
  c.bucket_bytes = 10;
  EXPECT_FALSE(c.Validate().ok());
  EXPECT_TRUE(CommunicatorBackendAvailable("local"));
#ifdef SCORCH_HAVE_MPI
  EXPECT_TRUE(CommunicatorBackendAvailable("mpi"));
#else
  CommunicatorConfig m;
  m.backend = "mpi";
  EXPECT_EQ(CreateCommunicator(m).status().code(), StatusCode::kUnimplemented);
#endif
#if !(defined(SCORCH_HAVE_MPI) && defined(SCORCH_HAVE_NCCL))
  CommunicatorConfig n;
  n.backend = "nccl";
  EXPECT_EQ(CreateCommunicator(n).status().code(), StatusCode::kUnimplemented);
#endif
}

TEST(WatchdogDeathTest, TimedOutCollectiveEndsTheProcessWithAMessage) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        internal::CollectiveWatchdog w(std::chrono::milliseconds(50), "mpi", 1, 3);
        w.Begin("AllReduce");
        std::this_thread::sleep_for(std::chrono::seconds(2));  // a peer that never answers (40x timeout)
        w.End();
      },
      ::testing::ExitedWithCode(kCollectiveFailureExitCode), "rank 1/3.*collective AllReduce #1 timed out");
}

TEST(WatchdogDeathTest, FinishedCollectivesDoNotTrip) {
  internal::CollectiveWatchdog w(std::chrono::milliseconds(200), "mpi", 0, 2);
  for (int i = 0; i < 20; ++i) {
    internal::WatchdogScope scope(w, "Barrier");
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // idle: no deadline armed
  SUCCEED();
}

}  // namespace
}  // namespace scorch::learner
