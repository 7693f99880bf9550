// ShardBatch: which samples of a global TrainBatch each data-parallel learner rank trains on.
//
// Units that must stay on one rank: a GRPO group (every sample with the same
// trajectory.prompt_id; group-normalised advantages need the whole group, so with groups
// whole the advantages equal the single-process ones) and an M-DPO pair (the two samples
// with the same pair_index). A batch that pairs its samples is split by pair; any other by
// prompt_id (SFT/PPO samples of one prompt then also stay together, which costs nothing).
//
// Balance: units are placed longest-first (by token count, ties by first appearance) on the
// rank with the fewest tokens so far (ties: the lowest rank) — greedy LPT, within 4/3 of the
// best makespan. A rank may get no samples (fewer units than ranks); it must still take part
// in the step's collectives (LearnerGroup, Trainer::Step with a communicator).
//
// The result is a pure function of (batch, rank, size): every rank computes its own shard
// from the same broadcast batch, with no communication. Within a shard samples keep their
// batch order; pair indices are renumbered 0..k-1 in order of first appearance (the
// Trainer's pair checks want [0, pairs)); step, stage and checkpoint_state are copied.
//
// Thread-safety: pure functions. Errors: none; REQUIRES 0 <= rank < size.
#pragma once

#include <cstdint>
#include <vector>

#include "scorch/common/proto/rollout_messages.h"

namespace scorch::learner {

// owner[i] = the rank that trains batch.samples[i], for every sample.
std::vector<int> ShardAssignment(const proto::TrainBatch& batch, int size);

// The samples of `batch` that `rank` (of `size`) trains, as a TrainBatch (see above).
proto::TrainBatch ShardBatch(const proto::TrainBatch& batch, int rank, int size);

}  // namespace scorch::learner
