// Restoring a Trainer from a learner checkpoint: starts the checkpoint's stage (its settings
// by name, through a StageLookupFn), then loads weights, optimizer state, the stage's
// auxiliary modules (critic, frozen reference) and the policy version. Used by the leader's
// LearnerService and, with the SAME folder, by every follower rank of a learner group before
// RunFollower, so all ranks resume with identical weights and optimizer state (a broadcast of
// the weights alone would leave the followers' AdamW moments behind).
//
// Ownership: borrows the Trainer. Thread-safety: the Trainer's thread. Blocking: file I/O.
// Errors: what ReadManifest / LoadLearnerCheckpoint / the lookup return (DataLoss for a
// checkpoint without a learner section; NotFound for an unknown stage).
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include "scorch/common/status.h"
#include "scorch/learner/trainer.h"

namespace scorch::learner {

// The training settings of a stage, by name (NotFound / InvalidArgument for stages that do
// not train).
using StageLookupFn = std::function<StatusOr<StageTraining>(const std::string& stage)>;

// See the file comment.
[[nodiscard]] Status RestoreTrainer(Trainer& trainer, const StageLookupFn& stage_lookup,
                                    const std::filesystem::path& checkpoint_dir);

}  // namespace scorch::learner
