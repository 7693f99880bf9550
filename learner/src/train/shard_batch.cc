// ShardBatch: deterministic, unit-preserving, token-balanced split of a TrainBatch.
#include "scorch/learner/shard_batch.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "scorch/common/check.h"

namespace scorch::learner {
namespace {

struct Unit {
  std::vector<size_t> samples;  // in batch order
  int64_t tokens = 0;
};

// Groups by pair_index when the batch pairs its samples, else by prompt_id; units in order of
// first appearance, so the split does not depend on how ids are numbered.
std::vector<Unit> UnitsOf(const proto::TrainBatch& batch) {
  const bool paired = std::any_of(batch.samples.begin(), batch.samples.end(),
                                  [](const proto::TrainSample& s) { return s.pair_index >= 0; });
  std::map<int64_t, size_t> unit_of_key;
  std::vector<Unit> units;
  for (size_t i = 0; i < batch.samples.size(); ++i) {
    const proto::TrainSample& s = batch.samples[i];
    // A sample outside any pair in a paired batch is its own unit (the Trainer rejects it;
    // keeping it somewhere lets that rank say so).
    const bool own = paired && s.pair_index < 0;
    const int64_t key = paired ? s.pair_index : s.trajectory.prompt_id;
    size_t u = 0;
    auto it = own ? unit_of_key.end() : unit_of_key.find(key);
    if (it == unit_of_key.end()) {
      u = units.size();
      units.emplace_back();
      if (!own) unit_of_key.emplace(key, u);
    } else {
      u = it->second;
    }
    units[u].samples.push_back(i);
    units[u].tokens += static_cast<int64_t>(s.trajectory.token_ids.size());
  }
  return units;
}

}  // namespace

std::vector<int> ShardAssignment(const proto::TrainBatch& batch, int size) {
  SCORCH_CHECK(size >= 1) << "ShardAssignment: size " << size;
  std::vector<int> owner(batch.samples.size(), 0);
  if (size == 1) return owner;
  const std::vector<Unit> units = UnitsOf(batch);
  std::vector<size_t> order(units.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::stable_sort(order.begin(), order.end(),
                   [&units](size_t a, size_t b) { return units[a].tokens > units[b].tokens; });
  std::vector<int64_t> load(static_cast<size_t>(size), 0);
  for (size_t u : order) {
    const auto least = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    load[static_cast<size_t>(least)] += units[u].tokens;
    for (size_t i : units[u].samples) owner[i] = least;
  }
  return owner;
}

proto::TrainBatch ShardBatch(const proto::TrainBatch& batch, int rank, int size) {
  SCORCH_CHECK(rank >= 0 && rank < size) << "ShardBatch: rank " << rank << " of " << size;
  const std::vector<int> owner = ShardAssignment(batch, size);
  proto::TrainBatch shard;
  shard.step = batch.step;
  shard.stage = batch.stage;
  shard.checkpoint_state = batch.checkpoint_state;
  std::map<int32_t, int32_t> pair_renumber;
  for (size_t i = 0; i < batch.samples.size(); ++i) {
    if (owner[i] != rank) continue;
    proto::TrainSample s = batch.samples[i];
    if (s.pair_index >= 0) {
      const auto next = static_cast<int32_t>(pair_renumber.size());
      s.pair_index = pair_renumber.emplace(s.pair_index, next).first->second;
    }
    shard.samples.push_back(std::move(s));
  }
  return shard;
}

}  // namespace scorch::learner
