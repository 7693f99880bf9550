// Per-token training masks built from a trajectory's segments (proto::Segment: who wrote
// which token range, in which turn). They decide which tokens an objective trains:
//  * SrrSftMask — the three SRR self-correction IFT sets (ALGORITHMS §4.4, eq. 1):
//        D1 (a¹ wrong, y¹ wrong, a² correct): train y¹ and a², not the wrong a¹;
//        D2 (a¹ correct, y¹ wrong, a² correct): train a² only, not the misleading y¹;
//        D3 (a¹ correct, y¹ correct, no a²):   train a¹ and y¹.
//    Prompt and instruction tokens are never trained. A second self-evaluation y² (the
//    Qwen variant's final "[VERIFY] correct") is not in eq. 1; it is trained only when
//    SrrMaskOptions::train_second_verify is set [U].
//  * MdpoMask — M-DPO (§4.3): model-written tokens (attempt/verify/evaluation) at positions
//    ≥ the shared prefix, instruction and prompt tokens masked out.
//  * KindMask — tokens of the given segment kinds (e.g. PCL's evaluation track).
// Masks are (T,) float32 over token positions, the layout of losses.h.
//
// Errors: InvalidArgument for segments that overlap, are out of order or leave [0, T), and
// for a trajectory that lacks a segment its SRR set trains (or has one it must not have).
// Thread-safety: pure functions.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "scorch/common/proto/rollout_messages.h"
#include "scorch/common/status.h"

namespace scorch::learner {

enum class SrrSet { kD1, kD2, kD3 };

struct SrrMaskOptions {
  bool train_second_verify = false;  // also train y² (turn 1 verify) in D1/D2
};

StatusOr<torch::Tensor> SrrSftMask(const std::vector<proto::Segment>& segments, int64_t num_tokens,
                                   SrrSet set, const SrrMaskOptions& options = {});

// `shared_prefix` = number of leading tokens both sides of the pair share (x, a¹, ...);
// see CommonPrefixLength.
StatusOr<torch::Tensor> MdpoMask(const std::vector<proto::Segment>& segments, int64_t num_tokens,
                                 int64_t shared_prefix);

StatusOr<torch::Tensor> KindMask(const std::vector<proto::Segment>& segments, int64_t num_tokens,
                                 const std::vector<proto::SegmentKind>& kinds);

// Length of the longest common prefix of two token sequences. Tokens inside it cancel in
// ℓ_w − ℓ_l, so using it as the shared prefix equals masking exactly (x, a¹).
int64_t CommonPrefixLength(const std::vector<int32_t>& a, const std::vector<int32_t>& b);

}  // namespace scorch::learner
