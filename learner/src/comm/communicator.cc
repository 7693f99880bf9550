// The Communicator interface's shared parts: bucketing, argument checks, the watchdog, the
// single-process backend and the factory. See communicator.h.
#include "scorch/learner/communicator.h"

#include <unistd.h>

#include <cstdio>
#include <limits>

#include "comm_internal.h"

namespace scorch::learner {
namespace internal {

// ---- buckets ----------------------------------------------------------------------------------

torch::ScalarType WireDtype(torch::ScalarType dtype) {
  if (dtype == torch::kBFloat16 || dtype == torch::kHalf) return torch::kFloat;
  return dtype;
}

std::vector<Bucket> PlanBuckets(const std::vector<torch::Tensor>& tensors, size_t bucket_bytes) {
  std::vector<Bucket> out;
  size_t bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const auto wire = WireDtype(t.scalar_type());
    const size_t tb = static_cast<size_t>(t.numel()) * c10::elementSize(wire);
    const bool fits = !out.empty() && out.back().dtype == t.scalar_type() && bytes + tb <= bucket_bytes;
    if (!fits) {
      out.push_back(Bucket{t.scalar_type(), {}, 0});
      bytes = 0;
    }
    out.back().members.push_back(i);
    out.back().numel += t.numel();
    bytes += tb;
  }
  return out;
}

torch::Tensor PackBucket(const std::vector<torch::Tensor>& tensors, const Bucket& bucket) {
  const auto wire = WireDtype(bucket.dtype);
  if (bucket.members.size() == 1) {
    // Zero-copy: a lone contiguous CPU tensor already in its wire dtype travels in place
    // (a gradient, or one large message), saving a pack and an unpack copy. Tensors that
    // require grad keep the copying path so autograd's version counter sees the write.
    const auto& t = tensors[bucket.members[0]];
    if (t.is_contiguous() && t.device().is_cpu() && t.scalar_type() == wire && !t.requires_grad()) {
      return t.view({t.numel()});
    }
  }
  auto flat = torch::empty({bucket.numel}, torch::TensorOptions().dtype(wire).device(torch::kCPU));
  int64_t off = 0;
  for (size_t i : bucket.members) {
    const auto& t = tensors[i];
    const int64_t n = t.numel();
    flat.slice(0, off, off + n).copy_(t.detach().reshape({n}));
    off += n;
  }
  return flat;
}

void UnpackBucket(const torch::Tensor& flat, std::vector<torch::Tensor>& tensors, const Bucket& bucket) {
  torch::NoGradGuard no_grad;
  if (bucket.members.size() == 1 && tensors[bucket.members[0]].is_alias_of(flat)) return;  // reduced in place
  int64_t off = 0;
  for (size_t i : bucket.members) {
    auto& t = tensors[i];
    const int64_t n = t.numel();
    t.copy_(flat.slice(0, off, off + n).view(t.sizes()));
    off += n;
  }
}

Status CheckCollectiveTensors(const std::vector<torch::Tensor>& tensors, bool require_cpu, const char* who) {
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    const std::string name = std::string(who) + ": tensor " + std::to_string(i);
    if (!t.defined()) return Status::InvalidArgument(name + " is undefined");
    const auto st = t.scalar_type();
    if (st == torch::kBool || t.is_complex() ||
        !(t.is_floating_point() || st == torch::kInt || st == torch::kLong || st == torch::kByte)) {
      return Status::InvalidArgument(name + " has unsupported dtype " + std::string(c10::toString(st)) +
                                     " (float, double, bf16, half, int32, int64 or uint8)");
    }
    if (t.numel() > std::numeric_limits<int32_t>::max()) {
      return Status::InvalidArgument(name + " has more than 2^31-1 elements");
    }
    if (require_cpu && !t.device().is_cpu()) {
      return Status::InvalidArgument(name + " must be a CPU tensor for this backend");
    }
  }
  return Status::Ok();
}

// ---- watchdog ---------------------------------------------------------------------------------

CollectiveWatchdog::CollectiveWatchdog(std::chrono::milliseconds timeout, std::string backend, int rank, int size)
    : timeout_(timeout), backend_(std::move(backend)), rank_(rank), size_(size) {
  if (timeout_.count() > 0) thread_ = std::thread([this] { Run(); });
}

CollectiveWatchdog::~CollectiveWatchdog() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CollectiveWatchdog::Begin(const char* op) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_ = true;
    op_ = op;
    ++seq_;
    deadline_ = std::chrono::steady_clock::now() + timeout_;
  }
  cv_.notify_all();
}

void CollectiveWatchdog::End() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    in_flight_ = false;
  }
  cv_.notify_all();
}

void CollectiveWatchdog::Fail(const std::string& what) const {
  // stderr directly and _exit: the process may hold locks (logging, MPI) that a normal
  // exit path could deadlock on.
  std::fprintf(stderr, "scorch learner: FATAL: %s backend, rank %d/%d: %s; exiting with code %d\n",
               backend_.c_str(), rank_, size_, what.c_str(), kCollectiveFailureExitCode);
  std::fflush(stderr);
  _exit(kCollectiveFailureExitCode);
}

void CollectiveWatchdog::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  while (!stop_) {
    if (!in_flight_) {
      cv_.wait(lock, [this] { return stop_ || in_flight_; });
      continue;
    }
    const uint64_t seq = seq_;
    const auto deadline = deadline_;
    if (cv_.wait_until(lock, deadline, [&] { return stop_ || !in_flight_ || seq_ != seq; })) continue;
    const std::string op = op_;
    const double secs = std::chrono::duration<double>(timeout_).count();
    lock.unlock();
    Fail("collective " + op + " #" + std::to_string(seq) + " timed out after " + std::to_string(secs) +
         " s (a peer rank is gone or stuck)");
  }
}

}  // namespace internal

// ---- interface helpers ----------------------------------------------------------------------

Status CommunicatorConfig::Validate() const {
  if (backend != "local" && backend != "mpi" && backend != "nccl") {
    return Status::InvalidArgument("communicator.backend must be local, mpi or nccl, got '" + backend + "'");
  }
  if (bucket_bytes < 1024) return Status::InvalidArgument("communicator.bucket_bytes must be >= 1024");
  if (timeout.count() < 0) return Status::InvalidArgument("communicator.timeout must be >= 0");
  return Status::Ok();
}

StatusOr<double> Communicator::AllReduceScalar(double value, ReduceOp op) {
  std::vector<torch::Tensor> t = {torch::tensor({value}, torch::kDouble)};
  SCORCH_RETURN_IF_ERROR(AllReduce(t, op));
  return t[0].item<double>();
}

Status AllReduceGradients(Communicator& comm, const std::vector<torch::Tensor>& params) {
  std::vector<torch::Tensor> grads;
  grads.reserve(params.size());
  for (const auto& p : params) {
    if (!p.grad().defined()) {
      auto mp = p;
      mp.mutable_grad() = torch::zeros_like(p);
    }
    grads.push_back(p.grad());
  }
  return comm.AllReduce(grads, ReduceOp::kSum);
}

// ---- single process ---------------------------------------------------------------------------

namespace {

class LocalCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::string backend() const override { return "local"; }

  Status AllReduce(std::vector<torch::Tensor>& tensors, ReduceOp) override {
    return internal::CheckCollectiveTensors(tensors, false, "AllReduce");
  }
  Status Broadcast(std::vector<torch::Tensor>& tensors, int root) override {
    SCORCH_RETURN_IF_ERROR(internal::CheckCollectiveTensors(tensors, false, "Broadcast"));
    if (root != 0) return Status::InvalidArgument("Broadcast: root " + std::to_string(root) + " is not in [0, 1)");
    return Status::Ok();
  }
  Status Barrier() override { return Status::Ok(); }
};

}  // namespace

bool CommunicatorBackendAvailable(const std::string& backend) {
  if (backend == "local") return true;
#ifdef SCORCH_HAVE_MPI
  if (backend == "mpi") return true;
#endif
#if defined(SCORCH_HAVE_MPI) && defined(SCORCH_HAVE_NCCL)
  if (backend == "nccl") return true;
#endif
  return false;
}

StatusOr<std::unique_ptr<Communicator>> CreateCommunicator(const CommunicatorConfig& config) {
  SCORCH_RETURN_IF_ERROR(config.Validate());
  if (config.backend == "local") return std::unique_ptr<Communicator>(new LocalCommunicator());
#ifdef SCORCH_HAVE_MPI
  if (config.backend == "mpi") return internal::CreateMpiCommunicator(config);
#endif
#if defined(SCORCH_HAVE_MPI) && defined(SCORCH_HAVE_NCCL)
  if (config.backend == "nccl") return internal::CreateNcclCommunicator(config);
#endif
  return Status::Unimplemented("communicator backend '" + config.backend +
                               "' is not compiled into this build (configure with SCORCH_WITH_MPI / SCORCH_WITH_NCCL)");
}

}  // namespace scorch::learner
