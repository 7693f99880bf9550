// LearnerService: TrainBatch in, StepStats + WeightsAnnounce out; see learner_service.h.
#include "scorch/learner/learner_service.h"

#include <unistd.h>

#include <chrono>
#include <utility>
#include <variant>

#include <nlohmann/json.hpp>

#include "scorch/common/checkpoint_dir.h"
#include "scorch/common/logging.h"
#include "scorch/common/transport/dealer.h"
#include "scorch/common/transport/heartbeat.h"

namespace scorch::learner {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

proto::Error ErrorOf(const Status& status, std::string in_reply_to) {
  proto::Error e;
  e.code = static_cast<int32_t>(status.code());
  e.message = status.message();
  e.in_reply_to = std::move(in_reply_to);
  return e;
}

}  // namespace

LearnerService::LearnerService(const LearnerServiceConfig& config, Trainer& trainer, model::ModelConfig model_config,
                               StageLookupFn stage_lookup)
    : config_(config), trainer_(trainer), model_config_(std::move(model_config)), stage_lookup_(std::move(stage_lookup)) {}

Status LearnerService::Restore() { return RestoreTrainer(trainer_, stage_lookup_, *config_.resume_from); }

Status LearnerService::Run() {
  LearnerGroup* group = config_.group != nullptr && config_.group->size() > 1 ? config_.group : nullptr;
  if (group == nullptr) return Serve();
  if (!group->is_leader()) {
    return Status::FailedPrecondition("LearnerService runs on the learner group's leader (rank 0), not rank " +
                                      std::to_string(group->rank()));
  }
  // Every rank restores on its own (RunFollower does with the same folder); SyncWeights first
  // agrees that all of them did, then hands the leader's weights out.
  const Status restored = config_.resume_from ? Restore() : Status::Ok();
  SCORCH_RETURN_IF_ERROR(group->SyncWeights(restored));
  const Status served = Serve();
  const Status shut = group->Shutdown(served);
  if (!served.ok()) return served;
  return shut;
}

Status LearnerService::Serve() {
  LearnerGroup* group = config_.group != nullptr && config_.group->size() > 1 ? config_.group : nullptr;
  if (config_.resume_from && group == nullptr) SCORCH_RETURN_IF_ERROR(Restore());
  transport::DealerOptions dealer_options;
  dealer_options.identity = "learner-" + std::to_string(config_.rank);
  SCORCH_ASSIGN_OR_RETURN(auto dealer, transport::Dealer::Connect(config_.endpoint, dealer_options));

  proto::Hello hello;
  hello.role = proto::Role::kLearner;
  hello.rank = config_.rank;
  hello.capacity = 1;
  hello.policy_version = trainer_.version();
  hello.pid = static_cast<int64_t>(::getpid());
  hello.token = config_.token;
  SCORCH_RETURN_IF_ERROR(dealer->Send(hello));
  {
    SCORCH_ASSIGN_OR_RETURN(proto::WeightsAnnounce first,
                            model::PublishWeights(*trainer_.policy(), trainer_.version(), config_.publish));
    SCORCH_RETURN_IF_ERROR(dealer->Send(first));
  }

  transport::HeartbeatSchedule heartbeats(config_.heartbeat_interval);
  std::string current_stage = trainer_.optimizer() ? trainer_.stage().stage : "";
  while (true) {
    if (heartbeats.Due()) {
      proto::Heartbeat hb;
      hb.seq = heartbeats.NextSeq();
      hb.sent_unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
      hb.policy_version = trainer_.version();
      SCORCH_RETURN_IF_ERROR(dealer->Send(hb));
    }
    if (group != nullptr) SCORCH_RETURN_IF_ERROR(group->KeepAlive());
    SCORCH_ASSIGN_OR_RETURN(auto incoming, dealer->Receive(config_.idle_poll));
    if (!incoming) continue;
    if (std::holds_alternative<proto::Shutdown>(*incoming)) {
      SCORCH_LOG(INFO) << "learner: shutdown (" << std::get<proto::Shutdown>(*incoming).reason << ")";
      return Status::Ok();
    }
    if (std::holds_alternative<proto::Error>(*incoming)) {
      SCORCH_LOG(WARNING) << "learner: orchestrator reported: " << std::get<proto::Error>(*incoming).message;
      continue;
    }
    if (!std::holds_alternative<proto::TrainBatch>(*incoming)) {
      SCORCH_RETURN_IF_ERROR(dealer->Send(ErrorOf(
          Status::InvalidArgument("the learner only takes TrainBatch and Shutdown, not " +
                                  std::string(proto::MessageTypeName(*incoming))),
          std::string(proto::MessageTypeName(*incoming)))));
      continue;
    }
    const auto& batch = std::get<proto::TrainBatch>(*incoming);
    log::SetThreadStep(batch.step);
    auto handle = [&]() -> Status {
      if (batch.stage != current_stage && !batch.samples.empty()) {
        SCORCH_ASSIGN_OR_RETURN(StageTraining stage, stage_lookup_(batch.stage));
        SCORCH_RETURN_IF_ERROR(trainer_.BeginStage(stage));
        current_stage = batch.stage;
        SCORCH_LOG(INFO) << "learner: stage " << batch.stage << " (lr " << stage.optimizer.lr << ", "
                         << stage.optimizer.total_steps << " steps)";
      }
      proto::StepStats stats;
      const auto t0 = Clock::now();
      if (!batch.samples.empty()) {
        SCORCH_ASSIGN_OR_RETURN(stats.metrics, group != nullptr ? group->Step(batch) : trainer_.Step(batch));
      }
      stats.metrics["time/train_s"] = SecondsSince(t0);
      std::optional<proto::WeightsAnnounce> announce;
      if (!batch.samples.empty()) {
        const auto t1 = Clock::now();
        SCORCH_ASSIGN_OR_RETURN(announce, model::PublishWeights(*trainer_.policy(), trainer_.version(), config_.publish));
        stats.metrics["time/publish_s"] = SecondsSince(t1);
      }
      if (batch.checkpoint_state) {
        if (!trainer_.optimizer()) {
          return Status::FailedPrecondition("checkpoint requested before any training stage started");
        }
        nlohmann::json state = nlohmann::json::parse(*batch.checkpoint_state, nullptr, false);
        if (state.is_discarded()) return Status::InvalidArgument("TrainBatch.checkpoint_state is not JSON");
        if (!state.contains("step") || !state["step"].is_number_integer()) {
          return Status::InvalidArgument("TrainBatch.checkpoint_state has no integer \"step\" (the job's global step)");
        }
        LearnerCheckpointInfo info;
        info.step = state["step"].get<int64_t>();  // folder step-N: the job's global step, unique per checkpoint
        info.stage = trainer_.stage().stage;
        info.policy_version = trainer_.version();
        info.extra = nlohmann::json{{"orchestrator", std::move(state)}};
        const auto t2 = Clock::now();
        SCORCH_ASSIGN_OR_RETURN(auto path, SaveLearnerCheckpoint(config_.checkpoints_dir, *trainer_.policy(),
                                                                 model_config_, *trainer_.optimizer(), info,
                                                                 config_.checkpoint, trainer_.AuxiliaryModules()));
        stats.metrics["checkpoint/step"] = static_cast<double>(info.step);
        stats.metrics["time/checkpoint_s"] = SecondsSince(t2);
        SCORCH_VLOG(1) << "learner: checkpoint " << path.string();
      }
      stats.step = batch.step;  // the orchestrator matches the reply by its batch's step
      stats.metrics["policy/version"] = static_cast<double>(trainer_.version());
      SCORCH_RETURN_IF_ERROR(dealer->Send(stats));
      if (announce) SCORCH_RETURN_IF_ERROR(dealer->Send(*announce));
      return Status::Ok();
    };
    Status st = handle();
    if (!st.ok()) {
      SCORCH_LOG(ERROR) << "learner: step " << batch.step << " of " << batch.stage << " failed: " << st;
      SCORCH_RETURN_IF_ERROR(dealer->Send(ErrorOf(st, "TrainBatch")));
    }
  }
}

}  // namespace scorch::learner
