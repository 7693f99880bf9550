#include "scorch/model/torch_runtime.h"

#include <torch/torch.h>
#include <dlfcn.h>
#include <malloc.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <string>
#include <thread>

namespace scorch::model {

void KeepTensorMemoryMapped() {
  // Blocks up to 1 GiB come from the heap, and the heap is trimmed only when ~2 GiB (INT_MAX:
  // mallopt takes an int) sit free at its top, so a training step's buffers are reused step
  // after step instead of re-faulted.
  mallopt(M_MMAP_THRESHOLD, 1 << 30);
  mallopt(M_TRIM_THRESHOLD, static_cast<int>(std::min<long long>(4LL << 30, 0x7fffffff)));
  mallopt(M_TOP_PAD, 64 << 20);
}

int ConfigureTorchThreads(int requested) {
  KeepTensorMemoryMapped();
  int n = requested;
  if (n <= 0) {
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    n = online > 0 ? static_cast<int>(online) : static_cast<int>(std::thread::hardware_concurrency());
    if (n <= 0) n = 1;
  }
  torch::set_num_threads(n);
  // OpenBLAS keeps its own pthread pool, which torch::set_num_threads does not size: left at
  // one thread per core it spins beside LibTorch's threads and can double step times on a
  // small machine. Size it too when the BLAS in use is OpenBLAS (looked up at run time, so
  // scorch does not link against a particular BLAS).
  using SetThreads = void (*)(int);
  if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) set(n);
  return torch::get_num_threads();
}

std::string BlasLibraryInUse() {
  // Force LibTorch to load its BLAS by running one tiny matmul.
  auto a = torch::ones({2, 2});
  (void)torch::mm(a, a);
  std::ifstream maps("/proc/self/maps");
  std::string line;
  while (std::getline(maps, line)) {
    auto pos = line.find('/');
    if (pos == std::string::npos) continue;
    std::string path = line.substr(pos);
    if (path.find("blas") != std::string::npos || path.find("mkl_") != std::string::npos) {
      char resolved[4096];
      if (realpath(path.c_str(), resolved) != nullptr) return resolved;
      return path;
    }
  }
  return "";
}

double MeasureMatmulGflops(int n, double seconds) {
  torch::NoGradGuard no_grad;
  auto a = torch::randn({n, n});
  auto b = torch::randn({n, n});
  auto c = torch::mm(a, b);  // warm-up
  int iters = 0;
  auto start = std::chrono::steady_clock::now();
  double elapsed = 0;
  do {
    c = torch::mm(a, b);
    ++iters;
    elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  } while (elapsed < seconds);
  return 2.0 * n * static_cast<double>(n) * n * iters / elapsed / 1e9;
}

}  // namespace scorch::model
