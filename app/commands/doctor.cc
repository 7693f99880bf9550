// `scorch doctor`: what this machine gives scorch, so a user sees at once why a run is slow.
// Reports the BLAS library LibTorch loaded, thread counts, a measured matmul GFLOP/s, and
// MPI, NCCL and CUDA availability. `--json` prints the same as one JSON object.
#include <torch/torch.h>
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#ifdef SCORCH_HAVE_NCCL
#include <cuda_runtime_api.h>
#include <nccl.h>
#endif

#include "commands.h"
#include "scorch/common/version.h"
#include "scorch/model/torch_runtime.h"

namespace scorch::app {
namespace {

std::string FirstLineOf(const std::string& command) {
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  if (!pipe) return "";
  char buf[512];
  std::string out;
  if (fgets(buf, sizeof(buf), pipe.get()) != nullptr) out = buf;
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
  return out;
}

nlohmann::json Diagnose(int threads, int matmul_n) {
  nlohmann::json d;
  d["scorch_version"] = kVersion;
  d["git_hash"] = kGitHash;
  d["cpus_online"] = static_cast<int>(sysconf(_SC_NPROCESSORS_ONLN));
  d["torch_threads"] = model::ConfigureTorchThreads(threads);
  std::string blas = model::BlasLibraryInUse();
  d["blas_library"] = blas;
  d["blas_is_reference"] = blas.find("openblas") == std::string::npos &&
                           blas.find("mkl") == std::string::npos &&
                           blas.find("blis") == std::string::npos;
  d["matmul_n"] = matmul_n;
  d["matmul_gflops"] = model::MeasureMatmulGflops(matmul_n, 0.5);
#ifdef SCORCH_HAVE_MPI
  d["mpi_compiled"] = true;
  d["mpirun"] = FirstLineOf("mpirun --version 2>/dev/null");
#else
  d["mpi_compiled"] = false;
#endif
#ifdef SCORCH_HAVE_NCCL
  d["nccl_compiled"] = true;
  int nccl_version = 0;
  if (ncclGetVersion(&nccl_version) == ncclSuccess) d["nccl_version"] = nccl_version;
  int cuda_runtime = 0;
  if (cudaRuntimeGetVersion(&cuda_runtime) == cudaSuccess) d["cuda_runtime_version"] = cuda_runtime;
  int gpus = 0;
  d["cuda_runtime_devices"] = cudaGetDeviceCount(&gpus) == cudaSuccess ? gpus : 0;
#else
  d["nccl_compiled"] = false;
#endif
  d["cuda_available"] = torch::cuda::is_available();
  d["cuda_devices"] = torch::cuda::is_available() ? torch::cuda::device_count() : 0;
  return d;
}

}  // namespace

void RegisterDoctorCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("doctor", "Show what this machine gives scorch (BLAS, threads, "
                                           "measured GFLOP/s, MPI, NCCL, CUDA)");
  auto json = std::make_shared<bool>(false);
  auto threads = std::make_shared<int>(0);
  auto n = std::make_shared<int>(1024);
  cmd->add_flag("--json", *json, "Print one JSON object");
  cmd->add_option("--threads", *threads, "LibTorch threads (0 = all online CPUs)");
  cmd->add_option("--matmul-size", *n, "Matrix size for the GFLOP/s measurement")
      ->check(CLI::Range(64, 8192));
  cmd->callback([json, threads, n] {
    nlohmann::json d = Diagnose(*threads, *n);
    if (*json) {
      std::printf("%s\n", d.dump(2).c_str());
      return;
    }
    std::printf("scorch %s (git %s)\n", kVersion, kGitHash);
    std::printf("  CPUs online        %d\n", d["cpus_online"].get<int>());
    std::printf("  LibTorch threads   %d\n", d["torch_threads"].get<int>());
    std::printf("  BLAS library       %s\n", d["blas_library"].get<std::string>().c_str());
    std::printf("  matmul %dx%d      %.1f GFLOP/s\n", *n, *n, d["matmul_gflops"].get<double>());
    std::printf("  MPI                %s\n", d["mpi_compiled"].get<bool>()
                                                 ? d.value("mpirun", std::string("compiled in")).c_str()
                                                 : "not compiled in");
    std::string nccl = "not compiled in";
    if (d["nccl_compiled"].get<bool>()) {
      nccl = "compiled in";
      if (d.contains("nccl_version")) nccl += " (NCCL " + std::to_string(d["nccl_version"].get<int>()) + ")";
    }
    std::printf("  NCCL               %s\n", nccl.c_str());
    std::printf("  CUDA               %s\n", d["cuda_available"].get<bool>()
                                                 ? (std::to_string(d["cuda_devices"].get<int>()) + " device(s)").c_str()
                                                 : "not available");
    if (d["blas_is_reference"].get<bool>()) {
      std::printf("\nWARNING: LibTorch is using a reference BLAS; dense math will be ~30x slower.\n"
                  "         Run cluster/install-deps.sh (installs libopenblas0-pthread).\n");
    }
  });
}

}  // namespace scorch::app
