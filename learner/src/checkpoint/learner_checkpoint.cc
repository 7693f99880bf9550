// Learner checkpoints: model + optimiser + RNG in one crash-safe folder. See
// learner_checkpoint.h.
#include "scorch/learner/learner_checkpoint.h"

#include <ATen/CPUGeneratorImpl.h>

#include <mutex>

#include "scorch/common/checkpoint_dir.h"
#include "scorch/model/checkpoint.h"

namespace scorch::learner {
namespace fs = std::filesystem;

namespace {
constexpr const char* kModelDir = "model";
constexpr const char* kOptimizerFile = "optimizer.pt";
constexpr const char* kRngFile = "rng.pt";
constexpr const char* kInfoKey = "learner";
constexpr const char* kAuxDir = "aux";

Status CheckAux(const std::vector<AuxiliaryModule>& aux) {
  for (const auto& a : aux) {
    bool ok = !a.name.empty() && a.module != nullptr;
    for (char c : a.name) ok &= (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return Status::InvalidArgument("auxiliary module '" + a.name + "': needs a [a-z0-9_-] name, a module "
                                            "and an optimizer");
  }
  return Status::Ok();
}

Status SaveRng(const fs::path& path) {
  try {
    auto gen = at::detail::getDefaultCPUGenerator();
    torch::Tensor state;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      state = gen.get_state();
    }
    torch::serialize::OutputArchive archive;
    archive.write("cpu_rng", state);
    archive.save_to(path.string());
  } catch (const c10::Error& e) {
    return Status::IoError("cannot write " + path.string() + ": " + e.what_without_backtrace());
  }
  return Status::Ok();
}

Status LoadRng(const fs::path& path) {
  try {
    torch::serialize::InputArchive archive;
    archive.load_from(path.string());
    torch::Tensor state;
    archive.read("cpu_rng", state);
    auto gen = at::detail::getDefaultCPUGenerator();
    std::lock_guard<std::mutex> lock(gen.mutex());
    gen.set_state(state);
  } catch (const c10::Error& e) {
    return Status::DataLoss("cannot read " + path.string() + ": " + e.what_without_backtrace());
  }
  return Status::Ok();
}
}  // namespace

nlohmann::json LearnerCheckpointInfo::ToJson() const {
  return {{"step", step},
          {"world_size", world_size},
          {"stage", stage},
          {"policy_version", policy_version},
          {"extra", extra}};
}

StatusOr<LearnerCheckpointInfo> LearnerCheckpointInfo::FromJson(const nlohmann::json& j) {
  LearnerCheckpointInfo info;
  try {
    info.step = j.at("step").get<int64_t>();
    info.world_size = j.at("world_size").get<int>();
    info.stage = j.value("stage", "");
    info.policy_version = j.value("policy_version", int64_t{0});
    info.extra = j.value("extra", nlohmann::json::object());
  } catch (const nlohmann::json::exception& e) {
    return Status::InvalidArgument(std::string("learner checkpoint info: ") + e.what());
  }
  return info;
}

StatusOr<fs::path> SaveLearnerCheckpoint(const fs::path& checkpoints_dir, torch::nn::Module& module,
                                         const model::ModelConfig& config, Optimizer& optimizer,
                                         const LearnerCheckpointInfo& info, const LearnerCheckpointOptions& options,
                                         const std::vector<AuxiliaryModule>& aux) {
  if (info.step < 0) return Status::InvalidArgument("SaveLearnerCheckpoint: step must be >= 0");
  SCORCH_RETURN_IF_ERROR(CheckAux(aux));
  SCORCH_ASSIGN_OR_RETURN(fs::path tmp, BeginCheckpoint(checkpoints_dir, info.step));
  model::SaveOptions save;
  save.dtype = options.dtype;
  SCORCH_RETURN_IF_ERROR(model::SaveModelDir(module, config, (tmp / kModelDir).string(), save));
  SCORCH_RETURN_IF_ERROR(optimizer.Save((tmp / kOptimizerFile).string()));
  for (const auto& a : aux) {
    const fs::path dir = tmp / kAuxDir / a.name;
    SCORCH_RETURN_IF_ERROR(model::SaveModelDir(*a.module, config, dir.string(), save));
    if (a.optimizer != nullptr) SCORCH_RETURN_IF_ERROR(a.optimizer->Save((dir / kOptimizerFile).string()));
  }
  SCORCH_RETURN_IF_ERROR(SaveRng(tmp / kRngFile));
  nlohmann::json extra = {{kInfoKey, info.ToJson()}};
  return CommitCheckpoint(tmp, info.step, std::move(extra), options.keep_last);
}

StatusOr<LearnerCheckpointInfo> LoadLearnerCheckpoint(const fs::path& checkpoint_dir, torch::nn::Module& module,
                                                      Optimizer& optimizer, const std::vector<AuxiliaryModule>& aux) {
  SCORCH_RETURN_IF_ERROR(CheckAux(aux));
  SCORCH_RETURN_IF_ERROR(VerifyCheckpoint(checkpoint_dir));
  SCORCH_ASSIGN_OR_RETURN(Manifest manifest, ReadManifest(checkpoint_dir));
  if (!manifest.extra.contains(kInfoKey)) {
    return Status::InvalidArgument(checkpoint_dir.string() + " is not a learner checkpoint (no '" +
                                   std::string(kInfoKey) + "' in its manifest)");
  }
  SCORCH_ASSIGN_OR_RETURN(auto info, LearnerCheckpointInfo::FromJson(manifest.extra[kInfoKey]));
  model::LoadOptions load;
  load.allow_unexpected = false;
  SCORCH_RETURN_IF_ERROR(model::LoadWeights(module, (checkpoint_dir / kModelDir).string(), load));
  SCORCH_RETURN_IF_ERROR(optimizer.Load((checkpoint_dir / kOptimizerFile).string()));
  if (optimizer.step() != info.step) {
    return Status::DataLoss(checkpoint_dir.string() + ": optimizer step " + std::to_string(optimizer.step()) +
                            " does not match the checkpoint step " + std::to_string(info.step));
  }
  for (const auto& a : aux) {
    const fs::path dir = checkpoint_dir / kAuxDir / a.name;
    if (!fs::is_directory(dir)) {
      return Status::NotFound(checkpoint_dir.string() + " has no " + a.name + " (aux/" + a.name +
                              "/), which this stage trains");
    }
    SCORCH_RETURN_IF_ERROR(model::LoadWeights(*a.module, dir.string(), load));
    if (a.optimizer != nullptr) SCORCH_RETURN_IF_ERROR(a.optimizer->Load((dir / kOptimizerFile).string()));
  }
  SCORCH_RETURN_IF_ERROR(LoadRng(checkpoint_dir / kRngFile));
  return info;
}

}  // namespace scorch::learner
