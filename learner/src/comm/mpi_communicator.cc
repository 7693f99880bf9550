// The MPI backend: bucketed CPU collectives over a private duplicate of the communicator
// world (MPI_COMM_WORLD unless SetCommunicatorWorld named the learners' part, mpi_world.h)
// with MPI_ERRORS_RETURN, each guarded by the watchdog. See communicator.h.
#ifdef SCORCH_HAVE_MPI

// The C API only: OpenMPI's deprecated C++ bindings need libmpi_cxx, which we do not link.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <atomic>
#include <mutex>

#include "comm_internal.h"
#include "scorch/learner/communicator.h"
#include "scorch/learner/mpi_world.h"

namespace scorch::learner {
namespace {
std::mutex g_world_mu;
MPI_Comm g_world = MPI_COMM_NULL;  // GUARDED_BY(g_world_mu); NULL = MPI_COMM_WORLD
}  // namespace

void SetCommunicatorWorld(MPI_Comm world) {
  std::lock_guard<std::mutex> lock(g_world_mu);
  g_world = world;
}

MPI_Comm CommunicatorWorld() {
  std::lock_guard<std::mutex> lock(g_world_mu);
  return g_world == MPI_COMM_NULL ? MPI_COMM_WORLD : g_world;
}

}  // namespace scorch::learner

namespace scorch::learner::internal {
namespace {

// MPI may be initialised once per process. We initialise it if nobody did and finalise it
// when the last communicator we created goes away.
std::mutex g_mpi_mu;
int g_live_comms = 0;         // GUARDED_BY(g_mpi_mu)
bool g_we_initialised = false;  // GUARDED_BY(g_mpi_mu)

std::string MpiErrorString(int code) {
  char buf[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(code, buf, &len);
  return std::string(buf, static_cast<size_t>(len));
}

MPI_Datatype MpiType(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return MPI_FLOAT;
    case torch::kDouble:
      return MPI_DOUBLE;
    case torch::kInt:
      return MPI_INT32_T;
    case torch::kLong:
      return MPI_INT64_T;
    case torch::kByte:
      return MPI_UINT8_T;
    default:
      return MPI_DATATYPE_NULL;  // excluded by CheckCollectiveTensors + WireDtype
  }
}

class MpiCommunicator final : public Communicator {
 public:
  MpiCommunicator(MPI_Comm comm, int rank, int size, const CommunicatorConfig& config)
      : comm_(comm), rank_(rank), size_(size), config_(config),
        watchdog_(config.timeout, "mpi", rank, size) {}

  ~MpiCommunicator() override {
    MPI_Comm_free(&comm_);
    std::lock_guard<std::mutex> lock(g_mpi_mu);
    if (--g_live_comms == 0 && g_we_initialised) {
      int finalized = 0;
      MPI_Finalized(&finalized);
      if (!finalized) MPI_Finalize();
    }
  }

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  std::string backend() const override { return "mpi"; }

  Status AllReduce(std::vector<torch::Tensor>& tensors, ReduceOp op) override {
    SCORCH_RETURN_IF_ERROR(CheckCollectiveTensors(tensors, true, "AllReduce"));
    for (const auto& bucket : PlanBuckets(tensors, config_.bucket_bytes)) {
      auto flat = PackBucket(tensors, bucket);
      {
        WatchdogScope scope(watchdog_, "AllReduce");
        Check(MPI_Allreduce(MPI_IN_PLACE, flat.data_ptr(), static_cast<int>(flat.numel()),
                            MpiType(flat.scalar_type()), MPI_SUM, comm_),
              "MPI_Allreduce");
      }
      if (op == ReduceOp::kAvg) {
        if (flat.is_floating_point()) {
          flat.div_(static_cast<double>(size_));
        } else {
          flat.div_(size_, "floor");
        }
      }
      UnpackBucket(flat, tensors, bucket);
    }
    return Status::Ok();
  }

  Status Broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    SCORCH_RETURN_IF_ERROR(CheckCollectiveTensors(tensors, true, "Broadcast"));
    if (root < 0 || root >= size_) {
      return Status::InvalidArgument("Broadcast: root " + std::to_string(root) + " is not in [0, " +
                                     std::to_string(size_) + ")");
    }
    for (const auto& bucket : PlanBuckets(tensors, config_.bucket_bytes)) {
      auto flat = PackBucket(tensors, bucket);
      {
        WatchdogScope scope(watchdog_, "Broadcast");
        Check(MPI_Bcast(flat.data_ptr(), static_cast<int>(flat.numel()), MpiType(flat.scalar_type()), root, comm_),
              "MPI_Bcast");
      }
      UnpackBucket(flat, tensors, bucket);
    }
    return Status::Ok();
  }

  Status Barrier() override {
    WatchdogScope scope(watchdog_, "Barrier");
    Check(MPI_Barrier(comm_), "MPI_Barrier");
    return Status::Ok();
  }

 private:
  void Check(int rc, const char* what) {
    if (rc != MPI_SUCCESS) watchdog_.Fail(std::string(what) + " failed: " + MpiErrorString(rc));
  }

  MPI_Comm comm_;
  const int rank_;
  const int size_;
  const CommunicatorConfig config_;
  CollectiveWatchdog watchdog_;
};

}  // namespace

StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(const CommunicatorConfig& config) {
  std::lock_guard<std::mutex> lock(g_mpi_mu);
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  if (finalized) return Status::FailedPrecondition("MPI communicator: MPI was already finalised in this process");
  if (!initialized) {
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
      return Status::Unavailable("MPI communicator: MPI_Init_thread failed");
    }
    g_we_initialised = true;
  }
  MPI_Comm comm = MPI_COMM_NULL;
  const MPI_Comm world = CommunicatorWorld();
  if (world == MPI_COMM_NULL || MPI_Comm_dup(world, &comm) != MPI_SUCCESS) {
    return Status::Unavailable("MPI communicator: MPI_Comm_dup of the communicator world failed");
  }
  MPI_Comm_set_errhandler(comm, MPI_ERRORS_RETURN);
  int rank = 0, size = 1;
  MPI_Comm_rank(comm, &rank);
  MPI_Comm_size(comm, &size);
  ++g_live_comms;
  return std::unique_ptr<Communicator>(new MpiCommunicator(comm, rank, size, config));
}

}  // namespace scorch::learner::internal

#endif  // SCORCH_HAVE_MPI
