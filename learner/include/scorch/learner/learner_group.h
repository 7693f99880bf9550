// LearnerGroup: m data-parallel learner ranks acting as one learner. Rank 0 of the
// communicator (the "leader") is the only one that talks to the orchestrator (through
// LearnerService); every other rank (a "follower") runs RunFollower(), which takes commands
// from the leader over the same Communicator the Trainer all-reduces on:
//
//   leader (LearnerService::Run)             follower (rank r > 0)
//   [RestoreTrainer(resume folder)]          RunFollower(SAME resume folder or nullopt):
//   SyncWeights(restore status) <- coll. ->    [RestoreTrainer], SyncWeights(its status), loop:
//   Step(batch):   header {kStep, n}  ---->     receive header
//                  n bytes of EncodeMessage(batch) ---->  DecodeMessage
//                  each rank: shard = ShardBatch(batch, rank, size), BeginStage if the
//                  batch's stage is new, CheckBatch(shard); AGREE (all-reduce): if any rank
//                  rejects, every rank returns the first rejecting rank's error (its message
//                  broadcast) and nobody steps; else Trainer::Step(shard) and
//                  ReduceStepMetrics (the leader returns the GLOBAL batch's metrics)
//   KeepAlive():   header {kKeepAlive} when idle for keepalive_interval
//   Shutdown():    header {kShutdown, ok}  ---->     RunFollower returns
//
// Why a keep-alive: a follower waits for the next command inside a Broadcast, which is a
// collective under the communicator's timeout (communicator.h: a collective that runs past it
// ENDS THE PROCESS); the leader may wait on rollouts for longer than that.
//
// Weights: SyncWeights broadcasts the leader's parameters (and version) so every rank starts
// from identical weights, and checks that every rank is in the same training state (stage,
// stage step, version) — a follower that was not resumed from the leader's checkpoint fails
// it with FailedPrecondition on every rank. From then on all ranks take identical steps (same
// global gradient, same optimizer state), so checkpoints and weight publishing are the
// leader's alone: followers never write or publish.
// swift_train batches are run by the leader alone (its Trainer makes no collective for
// them; the policy does not change); followers never see them.
//
// Ownership: borrows the Trainer and the Communicator (both outlive the group); the Trainer
// must have been built with the same Communicator. Thread-safety: one thread, the one that
// issues the communicator's collectives (MPI is initialised FUNNELED). Blocking: every call
// blocks on collectives. Errors: Step returns the step's error on the leader (the followers
// agree and carry on); a follower that cannot follow (decode failure, its BeginStage fails,
// a state mismatch) makes that step fail everywhere; RunFollower returns only on Shutdown
// (Ok, or Aborted-like Internal when the leader shut down after an error) or on an error
// that desynchronises the group, and the launcher then exits non-zero (mpirun ends the job).
// A collective failure or timeout ends the process (communicator.h).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include "scorch/common/proto/message.h"
#include "scorch/common/status.h"
#include "scorch/learner/communicator.h"
#include "scorch/learner/trainer.h"
#include "scorch/learner/trainer_restore.h"

namespace scorch::learner {

struct LearnerGroupConfig {
  // Leader: an idle KeepAlive() sends a no-op command this often; keep it well below the
  // communicator's collective timeout.
  std::chrono::milliseconds keepalive_interval{std::chrono::seconds(30)};
  // The codec for batches sent to followers: the leader re-encodes a batch it decoded, so
  // the limits only need to exceed the orchestrator's (proto::CodecOptions defaults).
  proto::CodecOptions codec{size_t{1} << 30, 64, size_t{1} << 28};
};

class LearnerGroup {
 public:
  // `stage_lookup` gives followers a stage's settings when a batch starts it (the leader's
  // LearnerService starts stages itself, before Step, with the same lookup).
  LearnerGroup(Trainer& trainer, Communicator& comm, StageLookupFn stage_lookup, LearnerGroupConfig config = {});

  int rank() const { return comm_.rank(); }
  int size() const { return comm_.size(); }
  bool is_leader() const { return comm_.rank() == 0; }

  // COLLECTIVE (all ranks; RunFollower calls it on followers): first an agreement on
  // `local_ready` (e.g. this rank's RestoreTrainer result: if any rank failed, every rank
  // returns that rank's error and nothing else is sent), then the leader's parameters and
  // version to every rank, then a check that all ranks hold the same stage, stage step and
  // version (FailedPrecondition everywhere if not).
  [[nodiscard]] Status SyncWeights(const Status& local_ready = Status::Ok());

  // LEADER ONLY: one training step of the whole group on the global `batch` (the leader's
  // current stage must be the batch's: BeginStage first, as LearnerService does). An empty
  // batch takes no step and sends nothing (as Trainer::Step alone). Returns the global
  // batch's metrics (step_metrics.h).
  StatusOr<std::map<std::string, double>> Step(const proto::TrainBatch& batch);

  // LEADER ONLY: sends a no-op command if no command went out for keepalive_interval.
  [[nodiscard]] Status KeepAlive();

  // LEADER ONLY: ends the followers' loops; `leader_status` not ok makes RunFollower return
  // an error too. Idempotent (later calls send nothing).
  [[nodiscard]] Status Shutdown(const Status& leader_status = Status::Ok());

  // FOLLOWERS ONLY: RestoreTrainer(resume_from) when given (the leader's resume folder),
  // SyncWeights with its result, then serves the leader's commands until Shutdown.
  [[nodiscard]] Status RunFollower(const std::optional<std::filesystem::path>& resume_from = std::nullopt);

 private:
  enum Command : int64_t { kStep = 1, kKeepAlive = 2, kShutdown = 3 };
  Status SendHeader(Command command, int64_t arg);
  // Every rank's part of a step once all ranks hold `batch` (see the file comment).
  StatusOr<std::map<std::string, double>> StepShard(const StatusOr<proto::TrainBatch>& batch);
  // Collective: Ok on every rank if `local` is ok on every rank; else every rank returns the
  // lowest failing rank's status (its message broadcast; the code is kept on that rank).
  Status Agree(const Status& local);

  Trainer& trainer_;
  Communicator& comm_;
  StageLookupFn stage_lookup_;
  LearnerGroupConfig config_;
  std::chrono::steady_clock::time_point last_command_;
  bool shut_down_ = false;
};

}  // namespace scorch::learner
