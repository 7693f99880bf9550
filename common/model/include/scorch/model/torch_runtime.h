// Process-wide LibTorch settings and facts about the machine's dense-math speed.
//
// Debian's LibTorch defaults to one intra-op thread here and multiplies matrices through
// whatever libblas.so.3 is installed; every scorch entry point that runs tensor math calls
// ConfigureTorchThreads first so the thread count is explicit. Thread-safe to call; the
// setting is process-wide.
#pragma once

#include <string>

namespace scorch::model {

// Sets LibTorch's intra-op thread count: `requested` if > 0, else the number of online CPUs.
// Returns the count now in effect. Also calls KeepTensorMemoryMapped().
int ConfigureTorchThreads(int requested = 0);

// Tells glibc's malloc to keep freed large blocks in the heap instead of returning them to
// the kernel. LibTorch's CPU allocator is plain malloc: by default every activation and
// logits buffer above the (adaptive) mmap threshold is mmap'ed, zero-filled by page faults
// on first touch and unmapped on free, which measured here as a third of a training step's
// time (sft step of the quickstart: 3.0 s -> 1.0 s). Idempotent; process-wide.
void KeepTensorMemoryMapped();

// The resolved path of the BLAS shared library LibTorch's process has loaded (from
// /proc/self/maps), or "" if none can be identified.
std::string BlasLibraryInUse();

// Measures float32 dense matmul throughput of an n x n by n x n product, repeated for about
// `seconds` after one warm-up. Returns GFLOP/s (2 n^3 flops per product).
double MeasureMatmulGflops(int n = 1024, double seconds = 0.5);

}  // namespace scorch::model
