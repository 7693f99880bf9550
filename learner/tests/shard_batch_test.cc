// ShardBatch: GRPO groups and M-DPO pairs stay whole, every sample lands on exactly one rank,
// the split is deterministic and token-balanced, and ranks without work get empty shards.
#include "scorch/learner/shard_batch.h"

#include <gtest/gtest.h>

#include <map>
#include <set>
#include <vector>

namespace scorch::learner {
namespace {

proto::TrainSample Sample(int64_t prompt_id, int tokens, int32_t pair = -1, bool chosen = false) {
  proto::TrainSample s;
  s.trajectory.prompt_id = prompt_id;
  s.trajectory.token_ids.assign(static_cast<size_t>(tokens), 1);
  s.trajectory.trainable_mask.assign(static_cast<size_t>(tokens), 1);
  s.pair_index = pair;
  s.pair_chosen = chosen;
  s.reward = static_cast<double>(tokens);  // tells samples apart
  return s;
}

// Groups interleaved in batch order, of different sizes and lengths.
proto::TrainBatch GroupBatch() {
  proto::TrainBatch b;
  b.step = 7;
  b.stage = "grpo";
  b.checkpoint_state = "{\"step\":7}";
  const std::vector<std::pair<int64_t, int>> spec = {{10, 30}, {11, 5}, {10, 31}, {12, 12}, {13, 8},
                                                     {11, 6},  {12, 13}, {14, 40}, {13, 9}, {10, 32}};
  for (const auto& [pid, n] : spec) b.samples.push_back(Sample(pid, n));
  return b;
}

int64_t Tokens(const proto::TrainBatch& b) {
  int64_t t = 0;
  for (const auto& s : b.samples) t += static_cast<int64_t>(s.trajectory.token_ids.size());
  return t;
}

TEST(ShardBatchTest, GroupsWholeAndEverySampleExactlyOnce) {
  const proto::TrainBatch batch = GroupBatch();
  for (int size : {1, 2, 3, 4, 5, 8}) {
    const std::vector<int> owner = ShardAssignment(batch, size);
    ASSERT_EQ(owner.size(), batch.samples.size());
    std::map<int64_t, std::set<int>> ranks_of_group;
    for (size_t i = 0; i < owner.size(); ++i) {
      ASSERT_GE(owner[i], 0);
      ASSERT_LT(owner[i], size);
      ranks_of_group[batch.samples[i].trajectory.prompt_id].insert(owner[i]);
    }
    for (const auto& [pid, ranks] : ranks_of_group) EXPECT_EQ(ranks.size(), 1u) << "group " << pid << " size " << size;

    // The shards partition the batch, each in batch order, with the batch's step/stage/state.
    std::multiset<double> seen;
    size_t total = 0;
    for (int r = 0; r < size; ++r) {
      const proto::TrainBatch shard = ShardBatch(batch, r, size);
      EXPECT_EQ(shard.step, batch.step);
      EXPECT_EQ(shard.stage, batch.stage);
      EXPECT_EQ(shard.checkpoint_state, batch.checkpoint_state);
      size_t k = 0;
      for (size_t i = 0; i < batch.samples.size(); ++i) {
        if (owner[i] != r) continue;
        ASSERT_LT(k, shard.samples.size());
        EXPECT_EQ(shard.samples[k], batch.samples[i]);
        ++k;
      }
      EXPECT_EQ(k, shard.samples.size());
      total += shard.samples.size();
    }
    EXPECT_EQ(total, batch.samples.size());
  }
}

TEST(ShardBatchTest, DeterministicAndBalancedByTokens) {
  const proto::TrainBatch batch = GroupBatch();
  EXPECT_EQ(ShardAssignment(batch, 3), ShardAssignment(batch, 3));
  // Group tokens: 10→93, 14→40, 12→25, 13→17, 11→11 (total 186). LPT on 2 ranks:
  // 93 | 40+25+17+11 = 93.
  std::vector<int64_t> load(2, 0);
  for (int r = 0; r < 2; ++r) load[static_cast<size_t>(r)] = Tokens(ShardBatch(batch, r, 2));
  EXPECT_EQ(load[0], 93);
  EXPECT_EQ(load[1], 93);
  // 3 ranks: 93 | 40+11 | 25+17.
  std::vector<int64_t> load3;
  for (int r = 0; r < 3; ++r) load3.push_back(Tokens(ShardBatch(batch, r, 3)));
  EXPECT_EQ(load3, (std::vector<int64_t>{93, 51, 42}));
}

TEST(ShardBatchTest, MoreRanksThanGroupsGivesEmptyShards) {
  proto::TrainBatch batch;
  batch.stage = "grpo";
  for (int i = 0; i < 4; ++i) batch.samples.push_back(Sample(5, 10 + i));  // one group
  batch.samples.push_back(Sample(6, 3));                                   // and a small one
  int empty = 0;
  size_t total = 0;
  for (int r = 0; r < 4; ++r) {
    const proto::TrainBatch shard = ShardBatch(batch, r, 4);
    if (shard.samples.empty()) ++empty;
    total += shard.samples.size();
  }
  EXPECT_EQ(empty, 2);
  EXPECT_EQ(total, batch.samples.size());
  EXPECT_EQ(ShardBatch(batch, 0, 4).samples.size(), 4u);  // the big group on rank 0
  // An empty batch gives every rank an empty shard.
  proto::TrainBatch none;
  EXPECT_TRUE(ShardBatch(none, 1, 3).samples.empty());
}

TEST(ShardBatchTest, PairsWholeAndRenumbered) {
  proto::TrainBatch batch;
  batch.stage = "mdpo";
  // Pairs 0..3, both sides of a pair share a prompt; pairs 1 and 2 share prompt 9 (a prompt
  // can have several pairs: the split is by pair, not prompt). Sides interleaved.
  batch.samples.push_back(Sample(9, 20, 2, true));
  batch.samples.push_back(Sample(8, 12, 0, false));
  batch.samples.push_back(Sample(9, 21, 1, true));
  batch.samples.push_back(Sample(8, 13, 0, true));
  batch.samples.push_back(Sample(9, 22, 1, false));
  batch.samples.push_back(Sample(7, 5, 3, true));
  batch.samples.push_back(Sample(9, 23, 2, false));
  batch.samples.push_back(Sample(7, 6, 3, false));
  const std::vector<int> owner = ShardAssignment(batch, 3);
  std::map<int32_t, std::set<int>> ranks_of_pair;
  for (size_t i = 0; i < owner.size(); ++i) ranks_of_pair[batch.samples[i].pair_index].insert(owner[i]);
  for (const auto& [pair, ranks] : ranks_of_pair) EXPECT_EQ(ranks.size(), 1u) << "pair " << pair;
  // Pairs 1 and 2 (43 and 45 tokens) go to different ranks: split by pair, not by prompt.
  EXPECT_NE(*ranks_of_pair[1].begin(), *ranks_of_pair[2].begin());
  size_t total = 0;
  for (int r = 0; r < 3; ++r) {
    const proto::TrainBatch shard = ShardBatch(batch, r, 3);
    total += shard.samples.size();
    // Indices are 0..k-1, each with one chosen and one rejected side.
    std::map<int32_t, int> chosen, rejected;
    for (const auto& s : shard.samples) {
      ASSERT_GE(s.pair_index, 0);
      (s.pair_chosen ? chosen : rejected)[s.pair_index]++;
    }
    const auto pairs = static_cast<int32_t>(shard.samples.size() / 2);
    for (int32_t k = 0; k < pairs; ++k) {
      EXPECT_EQ(chosen[k], 1) << "rank " << r << " pair " << k;
      EXPECT_EQ(rejected[k], 1) << "rank " << r << " pair " << k;
    }
    EXPECT_EQ(chosen.size(), static_cast<size_t>(pairs));
  }
  EXPECT_EQ(total, batch.samples.size());
}

}  // namespace
}  // namespace scorch::learner
