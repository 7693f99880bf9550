// Internals shared by the Trainer's files (trainer.cc, trainer_ppo.cc).
#pragma once

#include <cstdint>
#include <vector>

#include "scorch/learner/trainer.h"

namespace scorch::learner {

// One training sequence, unpadded: tokens, the loss mask (1 = trained), and what the
// objective needs of its sample.
struct Trainer::Row {
  std::vector<int64_t> tokens;
  std::vector<float> mask;
  std::vector<float> sampler_logp;  // empty: on-policy (use the detached current log-probs)
  double reward = 0.0;
  std::vector<float> dense_rewards;  // empty, or one per token (PPO adds them to the terminal reward)
  double advantage = 0.0;
  int64_t prompt_id = 0;
  // PCL's mixed objective: 0 = a sample of the stage's objective; 1 = an SFT-reason and
  // 2 = an SFT-eval demonstration (proto::TrainSample::sft_track), with its weight.
  int track = 0;
  double sft_weight = 1.0;
};

namespace trainer_internal {

// Right-padded (B,T) tensors of rows [begin, end): ids, attention (1 = real), mask, the
// sampler's log-probs, and on_policy (B,1) = 1 where the row has no recorded log-probs.
struct PaddedRows {
  torch::Tensor ids, attention, mask, sampler_logp, on_policy;
  int64_t rows = 0, width = 0;
};
PaddedRows PadRows(const std::vector<Trainer::Row>& rows, int64_t begin, int64_t end, int64_t width,
                   const torch::Device& device);

}  // namespace trainer_internal
}  // namespace scorch::learner
