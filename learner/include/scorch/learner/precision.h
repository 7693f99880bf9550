// Compute precision of the learner's forward/backward: float32, or bf16 autocast "where the
// device supports it" (issue #6).
//
// bf16 autocast (LibTorch's at::autocast, the C++ side of torch.autocast) runs matmul-like
// ops in bfloat16 while parameters, gradients and optimiser state stay float32. It pays off
// only where the hardware multiplies bf16 natively (CUDA sm80+, CPUs with AMX/AVX512-BF16).
// Measured with LibTorch 1.13 on this project's AVX2 CPUs (bench/learner_bench.cc, section
// "bf16_autocast" of bench/results/learner.json, one thread): a bf16 1024^3 matmul is ~16x
// slower than float32, a Linear's forward+backward under CPU autocast ~30x, and a tiny-model
// training step ~10x (205 vs 2021 tokens/s). So:
//   * "fp32" — the default everywhere;
//   * "bf16" — accepted on a CUDA device (when this LibTorch build has CUDA); on CPU it is
//     REFUSED with FailedPrecondition explaining the above, unless allow_cpu_bf16 is set
//     (benchmarks and experiments that want the slow path on purpose).
// CheckPrecisionSupported is what a trainer calls at start-up, so a config asking for bf16
// on a CPU-only learner fails before any work with a message naming the field.
//
// Thread-safety: autocast state is THREAD-LOCAL in LibTorch; an AutocastScope affects only
// the thread that created it and must be destroyed on that thread (it is a stack guard).
// Errors: InvalidArgument for an unknown precision name; FailedPrecondition for a precision
// the device cannot run. Nothing throws for bad input.
#pragma once

#include <torch/torch.h>

#include <string>

#include "scorch/common/status.h"

namespace scorch::learner {

enum class ComputePrecision {
  kFloat32,       // "fp32": everything in float32
  kBf16Autocast,  // "bf16": autocast matmuls to bfloat16; weights/grads/optimiser stay float32
};

struct PrecisionConfig {
  std::string compute = "fp32";  // "fp32" | "bf16" (aliases: "float32", "bf16-autocast")
  bool allow_cpu_bf16 = false;   // permit bf16 autocast on CPU although it is slower there

  [[nodiscard]] Status Validate() const;  // the name only; the device is checked below
};

// "fp32"/"float32" -> kFloat32; "bf16"/"bf16-autocast" -> kBf16Autocast; else InvalidArgument.
StatusOr<ComputePrecision> ParseComputePrecision(const std::string& name);
// The canonical name ("fp32" or "bf16").
std::string ComputePrecisionName(ComputePrecision precision);

// OK when `config` can run on `device` in this build; FailedPrecondition otherwise (bf16 on
// CPU without allow_cpu_bf16; bf16 on CUDA when LibTorch has no CUDA; other device types).
// Returns the parsed precision.
StatusOr<ComputePrecision> CheckPrecisionSupported(const PrecisionConfig& config, torch::Device device);

// RAII: while alive, the calling thread's ops on `device`'s type run under autocast to
// bfloat16 (kBf16Autocast) or unchanged (kFloat32). The destructor restores the previous
// autocast state of that device type and, when leaving the outermost autocast region, clears
// LibTorch's cache of casted weights (so a later optimiser step is seen by the next region).
// REQUIRES: CheckPrecisionSupported accepted this precision for `device` (the scope itself
// does not refuse the slow CPU path).
class AutocastScope {
 public:
  AutocastScope(ComputePrecision precision, torch::Device device);
  ~AutocastScope();
  AutocastScope(const AutocastScope&) = delete;
  AutocastScope& operator=(const AutocastScope&) = delete;

  bool active() const { return active_; }  // autocast was turned on by this scope

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool prev_enabled_ = false;
  torch::ScalarType prev_dtype_ = torch::kBFloat16;
};

}  // namespace scorch::learner
