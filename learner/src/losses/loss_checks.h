// Input validation shared by the loss functions (private to src/losses). Each check returns
// InvalidArgument naming the argument and the shapes involved.
#pragma once

#include <torch/torch.h>

#include <string>

#include "scorch/common/status.h"
#include "scorch/learner/losses.h"

namespace scorch::learner::internal {

// `t` is defined, floating point and 2-D.
Status CheckTokenTensor(const torch::Tensor& t, const std::string& name);
// `t` is defined with exactly `like`'s shape (any dtype).
Status CheckSameShape(const torch::Tensor& t, const std::string& name, const torch::Tensor& like,
                      const std::string& like_name);
// mask -> float tensor of logp's dtype/device (detached).
torch::Tensor MaskAsFloat(const torch::Tensor& mask, const torch::Tensor& like);
// Sets kl_k1/k2/k3 (token means over mask) from detached logp/ref_logp.
void FillKlStats(const torch::Tensor& logp, const torch::Tensor& ref_logp, const torch::Tensor& mask,
                 LossStats& stats);
// x·m where m ≠ 0 and exactly 0 elsewhere, even where x is ±inf/NaN (padding); the
// gradient at m = 0 positions is 0.
torch::Tensor Masked(const torch::Tensor& x, const torch::Tensor& m);
double ToDouble(const torch::Tensor& scalar);

}  // namespace scorch::learner::internal
