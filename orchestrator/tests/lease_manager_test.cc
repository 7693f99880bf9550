#include "scorch/orchestrator/lease_manager.h"

#include <gtest/gtest.h>

#include <random>

namespace scorch::orchestrator {
namespace {

using namespace std::chrono_literals;

struct FakeClock {
  transport::SteadyTime t{};
  transport::NowFn fn() {
    return [this] { return t; };
  }
};

WorkItem Item(int64_t prompt, int32_t sample = 0, int64_t step = 0) {
  return WorkItem{step, prompt, sample};
}

TEST(LeaseManagerTest, AssignsUpToCreditInFifoOrder) {
  FakeClock clock;
  LeaseManager m({.lease_timeout = 10s}, clock.fn());
  for (int p = 0; p < 5; ++p) m.AddWork(Item(p));
  m.AddWork(Item(0));  // already known: ignored
  EXPECT_EQ(m.pending(), 5u);
  EXPECT_TRUE(m.Assign("nobody").empty());
  m.RegisterWorker("w1", 2);
  auto leases = m.Assign("w1");
  ASSERT_EQ(leases.size(), 2u);
  EXPECT_EQ(leases[0].item.prompt_id, 0);
  EXPECT_EQ(leases[1].item.prompt_id, 1);
  EXPECT_TRUE(m.Assign("w1").empty());  // no credit left
  EXPECT_EQ(m.Complete(leases[0].id, leases[0].item), LeaseManager::Outcome::kAccepted);
  EXPECT_EQ(m.free_credit("w1"), 1);
  EXPECT_EQ(m.Assign("w1")[0].item.prompt_id, 2);
}

TEST(LeaseManagerTest, AssignRespectsMaxLeasesAndReleaseRequeuesAtTheFront) {
  FakeClock clock;
  LeaseManager m({}, clock.fn());
  for (int p = 0; p < 4; ++p) m.AddWork(Item(p));
  m.RegisterWorker("w", 3);
  auto first = m.Assign("w", 1);
  ASSERT_EQ(first.size(), 1u);
  EXPECT_EQ(m.free_credit("w"), 2);
  const Lease* found = m.FindLease(first[0].id);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->item, Item(0));
  auto released = m.Release(first[0].id);
  ASSERT_TRUE(released.has_value());
  EXPECT_EQ(m.FindLease(first[0].id), nullptr);
  EXPECT_FALSE(m.Release(first[0].id).has_value());  // no longer in flight
  EXPECT_EQ(m.free_credit("w"), 3);
  EXPECT_EQ(m.stats().released, 1);
  auto again = m.Assign("w");
  ASSERT_EQ(again.size(), 3u);
  EXPECT_EQ(again[0].item, Item(0));  // back at the front
  EXPECT_NE(again[0].id, first[0].id);
}

TEST(LeaseManagerTest, DuplicateResultsAreDroppedAndUnknownItemsRefused) {
  FakeClock clock;
  LeaseManager m({}, clock.fn());
  m.AddWork(Item(7));
  m.RegisterWorker("w", 1);
  auto lease = m.Assign("w").at(0);
  EXPECT_EQ(m.Complete(lease.id, lease.item), LeaseManager::Outcome::kAccepted);
  EXPECT_EQ(m.Complete(lease.id, lease.item), LeaseManager::Outcome::kDuplicate);
  EXPECT_EQ(m.Complete(999, Item(8)), LeaseManager::Outcome::kUnknownItem);
  EXPECT_EQ(m.stats().completed, 1);
  EXPECT_EQ(m.stats().duplicates, 1);
}

TEST(LeaseManagerTest, ExpiredLeaseIsRedoneAndTheLateOriginalIsADuplicate) {
  FakeClock clock;
  LeaseManager m({.lease_timeout = 5s}, clock.fn());
  m.AddWork(Item(1));
  m.AddWork(Item(2));
  m.RegisterWorker("slow", 1);
  m.RegisterWorker("fast", 1);
  Lease slow = m.Assign("slow").at(0);
  clock.t += 6s;
  auto expired = m.ExpireLeases();
  ASSERT_EQ(expired.size(), 1u);
  EXPECT_EQ(m.free_credit("slow"), 1);
  Lease redo = m.Assign("fast").at(0);
  EXPECT_EQ(redo.item, slow.item);  // re-queued at the front
  EXPECT_EQ(m.Complete(redo.id, redo.item), LeaseManager::Outcome::kAccepted);
  EXPECT_EQ(m.Complete(slow.id, slow.item), LeaseManager::Outcome::kDuplicate);
}

TEST(LeaseManagerTest, LateResultOfExpiredLeaseIsAcceptedIfNotRedoneYet) {
  FakeClock clock;
  LeaseManager m({.lease_timeout = 5s}, clock.fn());
  m.AddWork(Item(1));
  m.RegisterWorker("w", 1);
  Lease lease = m.Assign("w").at(0);
  clock.t += 6s;
  m.ExpireLeases();
  EXPECT_EQ(m.pending(), 1u);
  EXPECT_EQ(m.Complete(lease.id, lease.item), LeaseManager::Outcome::kAccepted);
  m.RegisterWorker("other", 4);
  EXPECT_TRUE(m.Assign("other").empty());  // the queued copy is skipped: already complete
}

TEST(LeaseManagerTest, LostWorkerLeasesAreRequeued) {
  FakeClock clock;
  LeaseManager m({}, clock.fn());
  for (int p = 0; p < 4; ++p) m.AddWork(Item(p));
  m.RegisterWorker("dies", 3);
  auto held = m.Assign("dies");
  ASSERT_EQ(held.size(), 3u);
  auto lost = m.WorkerLost("dies");
  EXPECT_EQ(lost.size(), 3u);
  EXPECT_EQ(m.in_flight(), 0u);
  EXPECT_EQ(m.pending(), 4u);
  EXPECT_TRUE(m.Assign("dies").empty());  // unregistered
  m.RegisterWorker("lives", 8);
  auto redo = m.Assign("lives");
  ASSERT_EQ(redo.size(), 4u);
  EXPECT_EQ(redo[0].item.prompt_id, 0);  // the lost work goes first, in its original order
  EXPECT_EQ(redo[3].item.prompt_id, 3);
}

// Randomised: workers die, leases expire, results are re-delivered; every item is accepted
// exactly once and nothing is lost.
TEST(LeaseManagerTest, ChaosEveryItemAcceptedExactlyOnce) {
  FakeClock clock;
  LeaseManager m({.lease_timeout = 3s}, clock.fn());
  std::mt19937 rng(5);
  const int kItems = 2000;
  for (int p = 0; p < kItems; ++p) m.AddWork(Item(p / 4, p % 4, 1));
  std::vector<Lease> outstanding;
  int accepted = 0, next_worker = 0;
  std::vector<std::string> live;
  for (int i = 0; i < 4; ++i) {
    live.push_back("w" + std::to_string(next_worker++));
    m.RegisterWorker(live.back(), 1 + static_cast<int>(rng() % 8));
  }
  for (int round = 0; round < 100000 && accepted < kItems; ++round) {
    clock.t += std::chrono::milliseconds(rng() % 400);
    for (const auto& w : live) {
      for (auto& l : m.Assign(w)) outstanding.push_back(l);
    }
    switch (rng() % 10) {
      case 0:
        if (!live.empty()) {  // a worker dies; its in-flight results may still trickle in
          size_t k = rng() % live.size();
          m.WorkerLost(live[k]);
          live.erase(live.begin() + static_cast<long>(k));
        }
        live.push_back("w" + std::to_string(next_worker++));
        m.RegisterWorker(live.back(), 1 + static_cast<int>(rng() % 8));
        break;
      case 1:
        m.ExpireLeases();
        break;
      default:
        for (int k = 0; k < 5 && !outstanding.empty(); ++k) {
          size_t j = rng() % outstanding.size();
          Lease l = outstanding[j];
          if (rng() % 4 != 0) outstanding.erase(outstanding.begin() + static_cast<long>(j));
          // (1 in 4 results is delivered again later)
          if (m.Complete(l.id, l.item) == LeaseManager::Outcome::kAccepted) ++accepted;
        }
    }
  }
  EXPECT_EQ(accepted, kItems);
  EXPECT_EQ(m.stats().completed, kItems);
  for (int p = 0; p < kItems; ++p) EXPECT_TRUE(m.IsComplete(Item(p / 4, p % 4, 1)));
  EXPECT_GT(m.stats().duplicates, 0);
  EXPECT_GT(m.stats().lost + m.stats().expired, 0);
}

}  // namespace
}  // namespace scorch::orchestrator
