// RestoreTrainer: stage, weights, optimizer, auxiliary modules and version from a learner
// checkpoint. See trainer_restore.h.
#include "scorch/learner/trainer_restore.h"

#include "scorch/common/checkpoint_dir.h"
#include "scorch/common/logging.h"
#include "scorch/learner/learner_checkpoint.h"

namespace scorch::learner {

Status RestoreTrainer(Trainer& trainer, const StageLookupFn& stage_lookup, const std::filesystem::path& dir) {
  // The stage must be started before its optimizer state can be loaded into it.
  SCORCH_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(dir));
  if (!manifest.extra.contains("learner")) {
    return Status::DataLoss("checkpoint " + dir.string() + ": its manifest has no learner section");
  }
  SCORCH_ASSIGN_OR_RETURN(LearnerCheckpointInfo manifest_info, LearnerCheckpointInfo::FromJson(manifest.extra["learner"]));
  SCORCH_ASSIGN_OR_RETURN(StageTraining stage, stage_lookup(manifest_info.stage));
  SCORCH_RETURN_IF_ERROR(trainer.BeginStage(stage));
  SCORCH_ASSIGN_OR_RETURN(LearnerCheckpointInfo info,
                          LoadLearnerCheckpoint(dir, *trainer.policy(), *trainer.optimizer(), trainer.AuxiliaryModules()));
  trainer.set_version(info.policy_version);
  SCORCH_LOG(INFO) << "learner: resumed " << dir.string() << " (stage " << info.stage << ", version "
                   << info.policy_version << ", stage step " << trainer.stage_step() << ")";
  return Status::Ok();
}

}  // namespace scorch::learner
