// The NCCL backend: one GPU per rank, bootstrapped over MPI (rank 0 calls ncclGetUniqueId,
// MPI_Bcast shares it, every rank calls ncclCommInitRank). Buckets are packed on the host
// and staged through one device buffer (LibTorch here is a CPU build); each collective runs
// on a private stream and is waited for under the watchdog. See communicator.h.
#if defined(SCORCH_HAVE_MPI) && defined(SCORCH_HAVE_NCCL)

#include <cuda_runtime_api.h>
// The C API only: OpenMPI's deprecated C++ bindings need libmpi_cxx, which we do not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>
#include <nccl.h>

#include <cstdlib>
#include <cstring>

#include "comm_internal.h"
#include "scorch/common/config/rank_layout.h"
#include "scorch/learner/communicator.h"

namespace scorch::learner::internal {
namespace {

// OpenMPI's node-local rank; picks the GPU when CommunicatorConfig::device is -1.
constexpr const char* kLocalRankEnv = "OMPI_COMM_WORLD_LOCAL_RANK";

ncclDataType_t NcclType(torch::ScalarType t) {
  switch (t) {
    case torch::kDouble:
      return ncclFloat64;
    case torch::kInt:
      return ncclInt32;
    case torch::kLong:
      return ncclInt64;
    case torch::kByte:
      return ncclUint8;
    default:
      return ncclFloat32;  // float, and bf16/f16 which travel as float32 (WireDtype)
  }
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(std::unique_ptr<Communicator> mpi, ncclComm_t comm, cudaStream_t stream, int device,
                   const CommunicatorConfig& config)
      : mpi_(std::move(mpi)), comm_(comm), stream_(stream), device_(device), config_(config),
        watchdog_(config.timeout, "nccl", mpi_->rank(), mpi_->size()) {}

  ~NcclCommunicator() override {
    cudaSetDevice(device_);
    if (buffer_ != nullptr) cudaFree(buffer_);
    ncclCommDestroy(comm_);
    cudaStreamDestroy(stream_);
  }

  int rank() const override { return mpi_->rank(); }
  int size() const override { return mpi_->size(); }
  std::string backend() const override { return "nccl"; }

  Status AllReduce(std::vector<torch::Tensor>& tensors, ReduceOp op) override {
    SCORCH_RETURN_IF_ERROR(CheckCollectiveTensors(tensors, true, "AllReduce"));
    for (const auto& bucket : PlanBuckets(tensors, config_.bucket_bytes)) {
      auto flat = PackBucket(tensors, bucket);
      const ncclRedOp_t nop = (op == ReduceOp::kAvg && flat.is_floating_point()) ? ncclAvg : ncclSum;
      Run(flat, "AllReduce", [&](void* buf, size_t n) {
        return ncclAllReduce(buf, buf, n, NcclType(flat.scalar_type()), nop, comm_, stream_);
      });
      if (op == ReduceOp::kAvg && !flat.is_floating_point()) flat.div_(size(), "floor");
      UnpackBucket(flat, tensors, bucket);
    }
    return Status::Ok();
  }

  Status Broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    SCORCH_RETURN_IF_ERROR(CheckCollectiveTensors(tensors, true, "Broadcast"));
    if (root < 0 || root >= size()) {
      return Status::InvalidArgument("Broadcast: root " + std::to_string(root) + " is not in [0, " +
                                     std::to_string(size()) + ")");
    }
    for (const auto& bucket : PlanBuckets(tensors, config_.bucket_bytes)) {
      auto flat = PackBucket(tensors, bucket);
      Run(flat, "Broadcast", [&](void* buf, size_t n) {
        return ncclBroadcast(buf, buf, n, NcclType(flat.scalar_type()), root, comm_, stream_);
      });
      UnpackBucket(flat, tensors, bucket);
    }
    return Status::Ok();
  }

  Status Barrier() override { return mpi_->Barrier(); }

 private:
  // Host `flat` -> device buffer -> collective -> host, all on stream_, under the watchdog.
  template <typename Fn>
  void Run(torch::Tensor& flat, const char* op, Fn&& collective) {
    const size_t bytes = static_cast<size_t>(flat.numel()) * flat.element_size();
    CudaCheck(cudaSetDevice(device_), "cudaSetDevice");
    if (bytes > capacity_) {
      if (buffer_ != nullptr) CudaCheck(cudaFree(buffer_), "cudaFree");
      CudaCheck(cudaMalloc(&buffer_, bytes), "cudaMalloc");
      capacity_ = bytes;
    }
    WatchdogScope scope(watchdog_, op);
    CudaCheck(cudaMemcpyAsync(buffer_, flat.data_ptr(), bytes, cudaMemcpyHostToDevice, stream_), "cudaMemcpyAsync");
    const ncclResult_t rc = collective(buffer_, static_cast<size_t>(flat.numel()));
    if (rc != ncclSuccess) watchdog_.Fail(std::string("NCCL ") + op + " failed: " + ncclGetErrorString(rc));
    CudaCheck(cudaMemcpyAsync(flat.data_ptr(), buffer_, bytes, cudaMemcpyDeviceToHost, stream_), "cudaMemcpyAsync");
    CudaCheck(cudaStreamSynchronize(stream_), "cudaStreamSynchronize");
    ncclResult_t async_rc = ncclSuccess;
    ncclCommGetAsyncError(comm_, &async_rc);
    if (async_rc != ncclSuccess) watchdog_.Fail(std::string("NCCL ") + op + " async error: " + ncclGetErrorString(async_rc));
  }

  void CudaCheck(cudaError_t rc, const char* what) {
    if (rc != cudaSuccess) watchdog_.Fail(std::string(what) + " failed: " + cudaGetErrorString(rc));
  }

  std::unique_ptr<Communicator> mpi_;  // bootstrap, rank/size, barrier
  ncclComm_t comm_;
  cudaStream_t stream_;
  const int device_;
  const CommunicatorConfig config_;
  CollectiveWatchdog watchdog_;
  void* buffer_ = nullptr;  // device staging buffer
  size_t capacity_ = 0;     // bytes of buffer_
};

}  // namespace

StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(const CommunicatorConfig& config) {
  int devices = 0;
  if (cudaGetDeviceCount(&devices) != cudaSuccess || devices == 0) {
    return Status::Unavailable("NCCL communicator: no CUDA device is visible");
  }
  CommunicatorConfig mpi_config = config;
  mpi_config.backend = "mpi";
  SCORCH_ASSIGN_OR_RETURN(auto mpi, CreateMpiCommunicator(mpi_config));
  int device = config.device;
  if (device < 0) {
    const char* local = std::getenv(kLocalRankEnv);
    const int local_rank = config.local_rank >= 0 ? config.local_rank : local != nullptr ? std::atoi(local) : mpi->rank();
    device = scorch::config::GpuOfLocalRank(local_rank, devices);
  }
  if (device >= devices) {
    return Status::InvalidArgument("NCCL communicator: device " + std::to_string(device) + " but only " +
                                   std::to_string(devices) + " visible");
  }
  if (cudaSetDevice(device) != cudaSuccess) {
    return Status::Unavailable("NCCL communicator: cudaSetDevice(" + std::to_string(device) + ") failed");
  }
  // Bootstrap: rank 0's unique id, broadcast over MPI as bytes.
  ncclUniqueId id;
  if (mpi->rank() == 0 && ncclGetUniqueId(&id) != ncclSuccess) {
    return Status::Unavailable("NCCL communicator: ncclGetUniqueId failed");
  }
  auto id_bytes = torch::from_blob(&id, {static_cast<int64_t>(sizeof(id))}, torch::kUInt8).to(torch::kInt);
  std::vector<torch::Tensor> id_vec = {id_bytes};
  SCORCH_RETURN_IF_ERROR(mpi->Broadcast(id_vec, 0));
  auto received = id_vec[0].to(torch::kUInt8).contiguous();
  std::memcpy(&id, received.data_ptr(), sizeof(id));

  cudaStream_t stream = nullptr;
  if (cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking) != cudaSuccess) {
    return Status::Unavailable("NCCL communicator: cudaStreamCreate failed");
  }
  ncclComm_t comm = nullptr;
  {
    CollectiveWatchdog init_watchdog(config.timeout, "nccl", mpi->rank(), mpi->size());
    WatchdogScope scope(init_watchdog, "ncclCommInitRank");
    const ncclResult_t rc = ncclCommInitRank(&comm, mpi->size(), id, mpi->rank());
    if (rc != ncclSuccess) {
      cudaStreamDestroy(stream);
      return Status::Unavailable(std::string("NCCL communicator: ncclCommInitRank failed: ") + ncclGetErrorString(rc));
    }
  }
  return std::unique_ptr<Communicator>(new NcclCommunicator(std::move(mpi), comm, stream, device, config));
}

}  // namespace scorch::learner::internal

#endif  // SCORCH_HAVE_MPI && SCORCH_HAVE_NCCL
