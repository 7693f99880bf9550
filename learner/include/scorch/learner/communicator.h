// Communicator: the learner's data-parallel collectives behind one interface (c10d's
// Backend shape), with three backends:
//   * "local" — a single process (rank 0 of 1): collectives are identities (AVG of one).
//   * "mpi"   — OpenMPI over CPU tensors. Compiled when SCORCH_HAVE_MPI.
//   * "nccl"  — NCCL on one GPU per rank, bootstrapped over MPI (rank 0 creates the unique
//               id, MPI_Bcast hands it out). CPU tensors are staged through a device buffer
//               (LibTorch here is a CPU build); CUDA tensors are used in place. Compiled
//               when SCORCH_HAVE_NCCL.
//
// Bucketing: AllReduce/Broadcast pack consecutive tensors of the same dtype into flat
// buffers of at most `bucket_bytes` (a larger tensor travels alone), run one collective per
// bucket, and copy the results back into the original tensors (so non-contiguous tensors
// and parameter gradients work). bf16/f16 are reduced in float32. Dtypes: float, double,
// bf16, half, int32, int64 and uint8 (raw bytes, meant for Broadcast; a uint8 SUM wraps).
//
// Call-order rule (as in MPI/c10d): every rank calls the same collectives in the same order
// with the same tensor shapes and dtypes. Shapes are not checked across ranks.
//
// Failure policy (STYLE §2.3.5): a collective that fails in the transport, or runs longer
// than `timeout`, ENDS THE PROCESS: a watchdog thread logs "collective <op> #<n> timed out
// after <s> s on rank <r>/<size>" (or the MPI/NCCL error string) to stderr and calls
// _exit(kCollectiveFailureExitCode); mpirun then tears the job down and the orchestrator
// restarts the learner group from the last checkpoint. Bad arguments (undefined tensor,
// unsupported dtype, wrong device, root out of range) are returned as InvalidArgument
// BEFORE any communication, on the calling rank.
//
// Thread-safety: one thread issues collectives on a communicator; Create/destroy on that
// thread. The mpi/nccl backends run over MPI_COMM_WORLD, or over the communicator the launcher
// named with SetCommunicatorWorld (mpi_world.h). The MPI backend initialises MPI if nobody has (and finalises it when the last
// communicator it created is destroyed — no MPI call may follow); tests that manage MPI
// themselves call MPI_Init first.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::learner {

inline constexpr int kCollectiveFailureExitCode = 70;

enum class ReduceOp { kSum, kAvg };

struct CommunicatorConfig {
  std::string backend = "local";                   // "local" | "mpi" | "nccl"
  size_t bucket_bytes = 32u << 20;                 // flat-buffer size per collective, bytes
  std::chrono::milliseconds timeout{std::chrono::minutes(10)};  // per collective; 0 = none
  int device = -1;                                 // nccl: CUDA device; -1 = local rank % devices
  int local_rank = -1;  // nccl, device -1: this rank's index among the learners on its host
                        // (-1: OMPI_COMM_WORLD_LOCAL_RANK, which counts every rank there)

  [[nodiscard]] Status Validate() const;
};

class Communicator {
 public:
  virtual ~Communicator() = default;

  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual std::string backend() const = 0;

  // In place: every tensor becomes the sum (or mean) over ranks. Blocks until done.
  virtual Status AllReduce(std::vector<torch::Tensor>& tensors, ReduceOp op) = 0;
  // In place: every tensor becomes root's. Blocks until done.
  virtual Status Broadcast(std::vector<torch::Tensor>& tensors, int root) = 0;
  // Returns once every rank has entered.
  virtual Status Barrier() = 0;

  // Convenience: all-reduce of one double (e.g. a token count), SUM or AVG.
  StatusOr<double> AllReduceScalar(double value, ReduceOp op);
};

// Builds the backend config.backend names. Unimplemented when that backend was not compiled
// in; Unavailable when its runtime cannot start (no GPU for nccl).
StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(const CommunicatorConfig& config);

// Whether a backend name was compiled into this build.
bool CommunicatorBackendAvailable(const std::string& backend);

// Sums the gradients of `params` over ranks (SUM, so losses must use the global normaliser;
// see optimizer.h). Parameters without a gradient get a zero gradient first so every rank
// reduces the same list.
Status AllReduceGradients(Communicator& comm, const std::vector<torch::Tensor>& params);

}  // namespace scorch::learner
