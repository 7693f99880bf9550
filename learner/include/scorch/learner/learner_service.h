// LearnerService: the learner role's loop on the control plane. Connects to the orchestrator
// as a DEALER, says Hello (role learner, the policy version it holds), announces the weights
// of that version, then serves TrainBatches:
//   * a batch for a stage other than the current one starts that stage (Trainer::BeginStage
//     with the settings `stage_lookup` gives for its name);
//   * Trainer::Step; the reply is a StepStats (step = the batch's step; the step's metrics plus
//     policy/version, time/train_s, time/publish_s) followed by the WeightsAnnounce of the new
//     version (PublishWeights); a batch with no samples takes no step and announces nothing;
//   * when the batch carries checkpoint_state, a learner checkpoint is written after the step
//     (learner_checkpoint.h) with the orchestrator's state in its manifest (`extra.orchestrator`),
//     and the StepStats says so (metric "checkpoint/step");
//   * a failed step or checkpoint is answered with a proto::Error (the orchestrator decides);
//   * heartbeats between messages; Shutdown ends the loop.
// Resume: Start() with a checkpoint folder first restores the stage, weights, optimizer and RNG
// and the version, so the first announcement is the resumed version.
// Learner group (config.group, learner_group.h): after the resume, before connecting, the
// leader runs SyncWeights with the followers (which restore the same folder themselves);
// each batch is stepped by the whole group (LearnerGroup::Step: the reply carries the GLOBAL
// batch's metrics); idle loops send the followers keep-alives; checkpoints and weight
// announcements stay the leader's. When Run returns — Shutdown, or an error — it ends the
// followers' loops (LearnerGroup::Shutdown, carrying whether Run failed).
//
// Ownership: owns the Trainer's optimizer state through the Trainer it borrows; owns its
// Dealer. Thread-safety: Run() on one thread, which then owns the Trainer and the policy.
// Blocking: Run() blocks until Shutdown or a socket failure. Errors: Run returns the socket's
// error, or the error that made a resume impossible.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "scorch/common/status.h"
#include "scorch/learner/learner_checkpoint.h"
#include "scorch/learner/learner_group.h"
#include "scorch/learner/trainer.h"
#include "scorch/learner/trainer_restore.h"
#include "scorch/model/model_config.h"
#include "scorch/model/weight_exchange.h"

namespace scorch::learner {

struct LearnerServiceConfig {
  std::string endpoint;                       // orchestrator ROUTER
  int32_t rank = 0;                           // rank within the learner role
  std::optional<std::string> token;           // the job's Hello token (tcp control planes)
  std::filesystem::path checkpoints_dir;      // runs/<job>/checkpoints
  std::optional<std::filesystem::path> resume_from;  // a checkpoint folder to restore first
  model::WeightPublishOptions publish;        // how weights reach rollout workers
  LearnerCheckpointOptions checkpoint;        // dtype, keep_last
  std::chrono::milliseconds heartbeat_interval{1000};
  std::chrono::milliseconds idle_poll{50};
  // Data-parallel learners: the group this service leads (rank 0 of its communicator; the
  // other ranks run LearnerGroup::RunFollower). Null, or a group of one = one learner process
  // (the behaviour without a group). Borrowed; must outlive Run().
  LearnerGroup* group = nullptr;
};

class LearnerService {
 public:
  LearnerService(const LearnerServiceConfig& config, Trainer& trainer, model::ModelConfig model_config,
                 StageLookupFn stage_lookup);

  // Runs the loop above until Shutdown. See the file comment for errors.
  [[nodiscard]] Status Run();

 private:
  Status Restore();
  Status Serve();  // Run() without the group's shutdown

  LearnerServiceConfig config_;
  Trainer& trainer_;
  model::ModelConfig model_config_;
  StageLookupFn stage_lookup_;
};

}  // namespace scorch::learner
