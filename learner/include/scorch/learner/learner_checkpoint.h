// Learner checkpoints: everything needed to resume training exactly, in one crash-safe
// checkpoint folder (scorch/common/checkpoint_dir.h: temp folder, fsync, rename, manifest
// of SHA-256 checksums, `latest` updated last, old ones rotated):
//   model/          the trained module in the Hugging Face layout (model::SaveModelDir,
//                   float32 by default so a resume is bitwise)
//   optimizer.pt    AdamW moments and step counts + our optimiser step (Optimizer::Save);
//                   the schedule is a pure function of that step and the config
//   rng.pt          the default CPU generator's state
//   aux/<name>/     one folder per auxiliary module of the stage (the PPO critic, the frozen
//                   KL/DPO reference): the module in the HF layout + optimizer.pt if it trains
//   MANIFEST.json   written by CommitCheckpoint; `extra` holds LearnerCheckpointInfo
//
// Who calls: rank 0 of the data-parallel group writes (all ranks hold the same weights and
// optimiser state); every rank loads the same folder. Not thread-safe for one folder.
// Errors: IoError/DataLoss/NotFound/InvalidArgument from the pieces, with the path. A
// checkpoint whose files do not match its manifest is refused (DataLoss) before any state
// changes; a later failure (e.g. an optimiser file that does not fit this model) can leave
// the module loaded but not the optimiser, so callers treat any error as "cannot resume".
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>
#include <nlohmann/json.hpp>

#include "scorch/common/status.h"
#include "scorch/learner/optimizer.h"
#include "scorch/model/model_config.h"

namespace scorch::learner {

struct LearnerCheckpointInfo {
  int64_t step = 0;         // optimiser steps taken (also the folder's step)
  int world_size = 1;       // data-parallel ranks that trained it
  std::string stage;        // job stage name, e.g. "grpo"
  int64_t policy_version = 0;  // weights version published to rollout workers
  nlohmann::json extra;     // free-form (data cursor, config hash, ...)

  nlohmann::json ToJson() const;
  static StatusOr<LearnerCheckpointInfo> FromJson(const nlohmann::json& j);
};

// A module of the stage besides the policy and, if it trains, its optimiser; borrowed.
struct AuxiliaryModule {
  std::string name;  // folder name under aux/: [a-z0-9_-]+
  torch::nn::Module* module = nullptr;
  Optimizer* optimizer = nullptr;  // null: weights only (a frozen module)
};

struct LearnerCheckpointOptions {
  torch::Dtype dtype = torch::kFloat32;  // weights on disk; float32 keeps resume bitwise
  int keep_last = 3;                     // complete checkpoints kept (0 = all)
};

// Writes a checkpoint of `module` (+ `config`), `optimizer`, the auxiliary modules and the
// CPU RNG into `checkpoints_dir`/step-<info.step>. Returns the final folder.
StatusOr<std::filesystem::path> SaveLearnerCheckpoint(const std::filesystem::path& checkpoints_dir,
                                                      torch::nn::Module& module, const model::ModelConfig& config,
                                                      Optimizer& optimizer, const LearnerCheckpointInfo& info,
                                                      const LearnerCheckpointOptions& options = {},
                                                      const std::vector<AuxiliaryModule>& aux = {});

// Verifies `checkpoint_dir` against its manifest, then restores module weights, optimiser
// state, every auxiliary module named in `aux` (NotFound when the checkpoint lacks one; a
// checkpoint's extra aux folders are ignored) and the CPU RNG. Returns the stored info.
StatusOr<LearnerCheckpointInfo> LoadLearnerCheckpoint(const std::filesystem::path& checkpoint_dir,
                                                      torch::nn::Module& module, Optimizer& optimizer,
                                                      const std::vector<AuxiliaryModule>& aux = {});

}  // namespace scorch::learner
