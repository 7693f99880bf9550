// Compute precision and the autocast guard. See precision.h.
#include "scorch/learner/precision.h"

#include <ATen/autocast_mode.h>

namespace scorch::learner {

StatusOr<ComputePrecision> ParseComputePrecision(const std::string& name) {
  if (name == "fp32" || name == "float32") return ComputePrecision::kFloat32;
  if (name == "bf16" || name == "bf16-autocast") return ComputePrecision::kBf16Autocast;
  return Status::InvalidArgument("precision.compute: unknown precision '" + name +
                                 "' (expected \"fp32\" or \"bf16\")");
}

std::string ComputePrecisionName(ComputePrecision precision) {
  return precision == ComputePrecision::kBf16Autocast ? "bf16" : "fp32";
}

Status PrecisionConfig::Validate() const { return ParseComputePrecision(compute).status(); }

StatusOr<ComputePrecision> CheckPrecisionSupported(const PrecisionConfig& config, torch::Device device) {
  SCORCH_ASSIGN_OR_RETURN(ComputePrecision precision, ParseComputePrecision(config.compute));
  if (precision == ComputePrecision::kFloat32) return precision;
  if (device.is_cpu()) {
    if (config.allow_cpu_bf16) return precision;
    return Status::FailedPrecondition(
        "precision.compute = \"bf16\" is not supported on CPU: LibTorch's CPU bf16 matmul has no native "
        "kernel on this hardware class and measured about an order of magnitude slower than float32 "
        "(learner_bench, \"bf16_autocast\"); use \"fp32\" on CPU, or set precision.allow_cpu_bf16 to "
        "run the slow path anyway");
  }
  if (device.is_cuda()) {
    if (!torch::cuda::is_available()) {
      return Status::FailedPrecondition(
          "precision.compute = \"bf16\" asks for CUDA autocast, but this LibTorch build sees no CUDA device");
    }
    return precision;
  }
  return Status::FailedPrecondition("precision.compute = \"bf16\": autocast is not supported on device " +
                                    device.str());
}

AutocastScope::AutocastScope(ComputePrecision precision, torch::Device device) {
  if (precision != ComputePrecision::kBf16Autocast) return;
  cuda_ = device.is_cuda();
  if (cuda_) {
    prev_enabled_ = at::autocast::is_enabled();
    prev_dtype_ = at::autocast::get_autocast_gpu_dtype();
    at::autocast::set_enabled(true);
    at::autocast::set_autocast_gpu_dtype(torch::kBFloat16);
  } else {
    prev_enabled_ = at::autocast::is_cpu_enabled();
    prev_dtype_ = at::autocast::get_autocast_cpu_dtype();
    at::autocast::set_cpu_enabled(true);
    at::autocast::set_autocast_cpu_dtype(torch::kBFloat16);
  }
  at::autocast::increment_nesting();
  active_ = true;
}

AutocastScope::~AutocastScope() {
  if (!active_) return;
  // Like torch.autocast.__exit__: the cache of casted weights lives for the outermost region.
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  if (cuda_) {
    at::autocast::set_enabled(prev_enabled_);
    at::autocast::set_autocast_gpu_dtype(prev_dtype_);
  } else {
    at::autocast::set_cpu_enabled(prev_enabled_);
    at::autocast::set_autocast_cpu_dtype(prev_dtype_);
  }
}

}  // namespace scorch::learner
