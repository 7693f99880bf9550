// LearnerGroup: the leader/follower protocol of data-parallel learner ranks over the
// Communicator. See learner_group.h for the protocol and its failure rules.
#include "scorch/learner/learner_group.h"

#include <cstring>
#include <utility>
#include <variant>

#include "scorch/common/logging.h"
#include "scorch/learner/shard_batch.h"
#include "scorch/learner/step_metrics.h"

namespace scorch::learner {
namespace {

// FNV-1a: a stage name as an int64 that can travel in a tensor (same on every rank).
int64_t NameHash(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : s) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return static_cast<int64_t>(h >> 1);
}

torch::Tensor BytesTensor(const std::string& bytes) {
  auto t = torch::empty({static_cast<int64_t>(bytes.size())}, torch::kByte);
  if (!bytes.empty()) std::memcpy(t.data_ptr(), bytes.data(), bytes.size());
  return t;
}

std::string TensorBytes(const torch::Tensor& t) {
  auto c = t.contiguous();
  return std::string(static_cast<const char*>(c.data_ptr()), static_cast<size_t>(c.numel()));
}

}  // namespace

LearnerGroup::LearnerGroup(Trainer& trainer, Communicator& comm, StageLookupFn stage_lookup, LearnerGroupConfig config)
    : trainer_(trainer),
      comm_(comm),
      stage_lookup_(std::move(stage_lookup)),
      config_(std::move(config)),
      last_command_(std::chrono::steady_clock::now()) {}

Status LearnerGroup::Agree(const Status& local) {
  std::vector<torch::Tensor> failed = {torch::zeros({comm_.size()}, torch::kInt)};
  if (!local.ok()) failed[0][comm_.rank()] = 1;
  SCORCH_RETURN_IF_ERROR(comm_.AllReduce(failed, ReduceOp::kSum));
  auto f = failed[0].contiguous();
  int first = -1;
  for (int r = 0; r < comm_.size() && first < 0; ++r) {
    if (f.data_ptr<int32_t>()[r] > 0) first = r;
  }
  if (first < 0) return Status::Ok();
  // The first failing rank's code and message, so the leader can report what went wrong on a
  // follower (and the follower's own log says it too).
  const std::string msg = comm_.rank() == first ? local.message() : std::string();
  std::vector<torch::Tensor> head = {
      torch::tensor({static_cast<int64_t>(local.code()), static_cast<int64_t>(msg.size())}, torch::kLong)};
  SCORCH_RETURN_IF_ERROR(comm_.Broadcast(head, first));
  const auto code = static_cast<StatusCode>(head[0][0].item<int64_t>());
  const int64_t len = head[0][1].item<int64_t>();
  std::string text = msg;
  if (len > 0) {
    std::vector<torch::Tensor> body = {comm_.rank() == first ? BytesTensor(msg) : torch::empty({len}, torch::kByte)};
    SCORCH_RETURN_IF_ERROR(comm_.Broadcast(body, first));
    text = TensorBytes(body[0]);
  }
  if (comm_.rank() == first) return local;
  return Status(code, "learner rank " + std::to_string(first) + " of " + std::to_string(comm_.size()) + ": " + text);
}

Status LearnerGroup::SyncWeights(const Status& local_ready) {
  SCORCH_RETURN_IF_ERROR(Agree(local_ready));
  {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> params;
    for (auto& p : trainer_.policy()->parameters()) params.push_back(p.detach());
    SCORCH_RETURN_IF_ERROR(comm_.Broadcast(params, 0));
  }
  // Training state: the version decides which samples are on-policy (Trainer::PrepareRows),
  // and stage/stage step must match or the optimizer states differ (a follower not resumed
  // from the leader's checkpoint).
  const bool staged = trainer_.optimizer() != nullptr;
  std::vector<int64_t> mine = {trainer_.version(), trainer_.stage_step(), staged ? 1 : 0,
                               staged ? NameHash(trainer_.stage().stage) : 0};
  std::vector<torch::Tensor> leader = {torch::tensor(mine, torch::kLong)};
  SCORCH_RETURN_IF_ERROR(comm_.Broadcast(leader, 0));
  auto l = leader[0].contiguous();
  const int64_t* lv = l.data_ptr<int64_t>();
  Status local;
  if (!std::equal(mine.begin(), mine.end(), lv)) {
    local = Status::FailedPrecondition(
        "learner group: this rank's training state (version " + std::to_string(mine[0]) + ", stage step " +
        std::to_string(mine[1]) + (staged ? ", stage " + trainer_.stage().stage : ", no stage") +
        ") differs from the leader's (version " + std::to_string(lv[0]) + ", stage step " + std::to_string(lv[1]) +
        "): resume every learner rank from the same checkpoint");
  }
  return Agree(local);
}

Status LearnerGroup::SendHeader(Command command, int64_t arg) {
  std::vector<torch::Tensor> head = {torch::tensor({static_cast<int64_t>(command), arg}, torch::kLong)};
  SCORCH_RETURN_IF_ERROR(comm_.Broadcast(head, 0));
  last_command_ = std::chrono::steady_clock::now();
  return Status::Ok();
}

StatusOr<std::map<std::string, double>> LearnerGroup::StepShard(const StatusOr<proto::TrainBatch>& batch) {
  Status local = batch.status();
  proto::TrainBatch shard;
  if (local.ok()) {
    shard = ShardBatch(*batch, comm_.rank(), comm_.size());
    if (!is_leader()) {
      // Followers start a stage when its first batch comes (the leader's LearnerService did
      // the same before Step, from the same lookup and identical weights, so the frozen
      // reference and the critic come out identical too).
      const std::string current = trainer_.optimizer() ? trainer_.stage().stage : "";
      if (batch->stage != current) {
        auto stage = stage_lookup_(batch->stage);
        local = stage.ok() ? trainer_.BeginStage(*stage) : stage.status();
      }
    }
    if (local.ok()) local = trainer_.CheckBatch(shard);
  }
  // No rank steps unless every rank can: a shard that fails its checks would otherwise leave
  // the others waiting in the step's first collective.
  SCORCH_RETURN_IF_ERROR(Agree(local));
  auto stepped = trainer_.Step(shard);
  return ReduceStepMetrics(comm_, stepped);
}

StatusOr<std::map<std::string, double>> LearnerGroup::Step(const proto::TrainBatch& batch) {
  if (!is_leader()) return Status::FailedPrecondition("LearnerGroup::Step on a follower (rank " + std::to_string(rank()) + ")");
  if (shut_down_) return Status::FailedPrecondition("LearnerGroup::Step after Shutdown");
  if (batch.samples.empty()) return std::map<std::string, double>{};
  if (!trainer_.optimizer()) return Status::FailedPrecondition("LearnerGroup::Step before BeginStage");
  if (trainer_.stage().stage != batch.stage) {
    return Status::FailedPrecondition("LearnerGroup::Step: the batch is for stage " + batch.stage + " but the leader is in " +
                                      trainer_.stage().stage + " (BeginStage first)");
  }
  // swift_train: the leader alone (no collective in it, the policy does not move).
  if (trainer_.stage().objective == Objective::kSwift) return trainer_.Step(batch);
  // Encoding validates the batch: a malformed one is refused before anything is sent.
  SCORCH_ASSIGN_OR_RETURN(const std::string bytes, proto::EncodeMessage(batch, config_.codec));
  SCORCH_RETURN_IF_ERROR(SendHeader(kStep, static_cast<int64_t>(bytes.size())));
  std::vector<torch::Tensor> body = {BytesTensor(bytes)};
  SCORCH_RETURN_IF_ERROR(comm_.Broadcast(body, 0));
  return StepShard(batch);
}

Status LearnerGroup::KeepAlive() {
  if (!is_leader() || shut_down_ || comm_.size() <= 1) return Status::Ok();
  if (std::chrono::steady_clock::now() - last_command_ < config_.keepalive_interval) return Status::Ok();
  return SendHeader(kKeepAlive, 0);
}

Status LearnerGroup::Shutdown(const Status& leader_status) {
  if (!is_leader() || shut_down_) return Status::Ok();
  shut_down_ = true;
  return SendHeader(kShutdown, leader_status.ok() ? 0 : 1);
}

Status LearnerGroup::RunFollower(const std::optional<std::filesystem::path>& resume_from) {
  if (is_leader()) return Status::FailedPrecondition("LearnerGroup::RunFollower on the leader (rank 0)");
  Status restored = resume_from ? RestoreTrainer(trainer_, stage_lookup_, *resume_from) : Status::Ok();
  SCORCH_RETURN_IF_ERROR(SyncWeights(restored));
  while (true) {
    std::vector<torch::Tensor> head = {torch::zeros({2}, torch::kLong)};
    SCORCH_RETURN_IF_ERROR(comm_.Broadcast(head, 0));
    const int64_t command = head[0][0].item<int64_t>();
    const int64_t arg = head[0][1].item<int64_t>();
    switch (command) {
      case kKeepAlive:
        continue;
      case kShutdown:
        if (arg != 0) return Status::Internal("learner group: the leader stopped after an error");
        return Status::Ok();
      case kStep: {
        std::vector<torch::Tensor> body = {torch::empty({arg}, torch::kByte)};
        SCORCH_RETURN_IF_ERROR(comm_.Broadcast(body, 0));
        StatusOr<proto::TrainBatch> batch = Status::Internal("unreachable");
        auto decoded = proto::DecodeMessage(TensorBytes(body[0]), config_.codec);
        if (!decoded.ok()) {
          batch = decoded.status().WithContext("learner group: decoding the leader's batch");
        } else if (!std::holds_alternative<proto::TrainBatch>(*decoded)) {
          batch = Status::Internal("learner group: the leader sent a " +
                                   std::string(proto::MessageTypeName(*decoded)) + ", not a TrainBatch");
        } else {
          batch = std::get<proto::TrainBatch>(std::move(*decoded));
        }
        if (batch.ok()) log::SetThreadStep(batch->step);
        auto stepped = StepShard(batch);
        // The leader reports the step's failure to the orchestrator; a follower only logs it
        // and waits for the next command (every rank agreed not to step, or stepped alike).
        if (!stepped.ok()) SCORCH_LOG(WARNING) << "learner follower " << rank() << ": step failed: " << stepped.status();
        continue;
      }
      default:
        return Status::Internal("learner group: unknown command " + std::to_string(command) + " from the leader");
    }
  }
}

}  // namespace scorch::learner
