// Token sampling for the rollout worker: temperature, top-k, top-p (nucleus), greedy, a
// per-request seeded RNG, and the log-probabilities of the sampled tokens.
//
// Each batch row has its own SamplingParams and its own RequestRng, so rows from different
// requests can share a decode step (continuous batching) and a request's tokens depend only
// on its seed and its logits, never on what else is in the batch. The RNG is scorch's own
// (xoshiro256**, seeded through splitmix64) and drawn on the host, one uniform per row per
// step; the token is found by inverse-CDF over the filtered distribution in vocabulary order
// (on the logits' device). Same seed + same logits => same tokens, on any device or batch.
//
// Filtering order (as Hugging Face): temperature, then top-k (keeps every token tied with
// the k-th largest), then top-p over what remains (keeps the smallest prefix of tokens in
// descending probability whose mass reaches top_p; the most likely token always stays).
// temperature == 0 means greedy: argmax of the raw logits (the first index on ties).
//
// Log-probs: SampleResult::logprobs is log softmax of the UNMODIFIED logits (temperature 1,
// no filtering) at the sampled token: the policy's own log-probability, which PPO/GRPO
// importance ratios need. sampling_logprobs is the log-probability under the distribution
// actually sampled from (temperature + filters; 0 for greedy).
//
// Thread-safety: functions are pure given their arguments; a RequestRng must not be shared
// between threads. Errors: invalid parameters are rejected by SamplingParams::Validate; shape
// misuse throws c10::Error.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::model {

struct SamplingParams {
  double temperature = 1.0;  // 0 = greedy; otherwise > 0
  int64_t top_k = 0;         // 0 = off; keep the k most likely tokens
  double top_p = 1.0;        // 1 = off; nucleus mass in (0, 1]
  uint64_t seed = 0;         // seeds the request's RequestRng

  bool greedy() const { return temperature == 0.0; }
  [[nodiscard]] Status Validate() const;
};

// A small, fast, portable RNG (xoshiro256**) owned by one request.
class RequestRng {
 public:
  explicit RequestRng(uint64_t seed);
  uint64_t NextU64();
  // Uniform in [0, 1) with 53 random bits.
  double NextDouble();

 private:
  uint64_t s_[4];
};

struct SampleResult {
  torch::Tensor tokens;             // (B) int64, on the logits' device
  torch::Tensor logprobs;           // (B) float32: log softmax(raw logits)[token]
  torch::Tensor sampling_logprobs;  // (B) float32: log p_filtered(token); 0 for greedy rows
};

// Applies temperature, top-k and top-p of params[b] to row b of `logits` (B,V) and returns
// float32 (B,V) logits with removed tokens at -inf (greedy rows: only the argmax kept).
torch::Tensor FilterLogits(const torch::Tensor& logits, const std::vector<SamplingParams>& params);

// Samples one token per row of `logits` (B,V), drawing one uniform from rngs[b] for each
// non-greedy row. REQUIRES: params.size() == rngs.size() == B and params valid.
SampleResult SampleTokens(const torch::Tensor& logits, const std::vector<SamplingParams>& params,
                          std::vector<RequestRng>& rngs);
// Same, with the row's RequestRng given by pointer (rollout slots keep their own).
SampleResult SampleTokens(const torch::Tensor& logits, const std::vector<SamplingParams>& params,
                          const std::vector<RequestRng*>& rngs);

// log softmax(logits)[target] per position: logits (B,T,V) and targets (B,T) int64 ->
// (B,T) float32, computed in float32. Used by learners for policy/reference log-probs.
torch::Tensor TokenLogprobs(const torch::Tensor& logits, const torch::Tensor& targets);

}  // namespace scorch::model
