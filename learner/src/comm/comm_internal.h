// Private helpers of the communicator backends: bucket planning/packing, argument checks,
// and the collective watchdog that ends the process on a hung or failed collective.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/learner/communicator.h"

namespace scorch::learner::internal {

// Consecutive tensors of one dtype whose bytes sum to at most the bucket size.
struct Bucket {
  torch::ScalarType dtype = torch::kFloat;  // dtype of the member tensors
  std::vector<size_t> members;               // indices into the tensor list
  int64_t numel = 0;                         // elements over the members
};

std::vector<Bucket> PlanBuckets(const std::vector<torch::Tensor>& tensors, size_t bucket_bytes);
// The dtype a bucket travels in: bf16/f16 go as float32, others unchanged.
torch::ScalarType WireDtype(torch::ScalarType dtype);
// A contiguous 1-D CPU tensor (wire dtype) holding the members, in order. A bucket of one
// contiguous CPU tensor already in its wire dtype (and not requiring grad) is returned as a
// view of that tensor, so the collective runs in place and UnpackBucket has nothing to do.
torch::Tensor PackBucket(const std::vector<torch::Tensor>& tensors, const Bucket& bucket);
// Copies `flat` back into the members (casting to each member's dtype).
void UnpackBucket(const torch::Tensor& flat, std::vector<torch::Tensor>& tensors, const Bucket& bucket);
// Every tensor defined; dtype floating or integral (not bool/complex); CPU when required.
Status CheckCollectiveTensors(const std::vector<torch::Tensor>& tensors, bool require_cpu, const char* who);

// Watches blocking collectives: Begin() arms a deadline, End() disarms it. If a deadline
// passes, or Fail() is called, it writes the message to stderr and _exit()s with
// kCollectiveFailureExitCode. A timeout of 0 disables the deadline (Fail still works).
class CollectiveWatchdog {
 public:
  CollectiveWatchdog(std::chrono::milliseconds timeout, std::string backend, int rank, int size);
  ~CollectiveWatchdog();
  CollectiveWatchdog(const CollectiveWatchdog&) = delete;
  CollectiveWatchdog& operator=(const CollectiveWatchdog&) = delete;

  void Begin(const char* op);
  void End();
  [[noreturn]] void Fail(const std::string& what) const;
  void set_rank(int rank, int size) { rank_ = rank; size_ = size; }

 private:
  void Run();

  const std::chrono::milliseconds timeout_;
  const std::string backend_;
  int rank_;
  int size_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;                                   // GUARDED_BY(mu_)
  bool in_flight_ = false;                              // GUARDED_BY(mu_)
  uint64_t seq_ = 0;                                    // GUARDED_BY(mu_)
  const char* op_ = "";                                 // GUARDED_BY(mu_)
  std::chrono::steady_clock::time_point deadline_;      // GUARDED_BY(mu_)
  std::thread thread_;
};

// RAII Begin/End.
class WatchdogScope {
 public:
  WatchdogScope(CollectiveWatchdog& w, const char* op) : w_(w) { w_.Begin(op); }
  ~WatchdogScope() { w_.End(); }
  WatchdogScope(const WatchdogScope&) = delete;
  WatchdogScope& operator=(const WatchdogScope&) = delete;

 private:
  CollectiveWatchdog& w_;
};

// Backend factories (communicator.cc dispatches on CommunicatorConfig::backend).
#ifdef SCORCH_HAVE_MPI
StatusOr<std::unique_ptr<Communicator>> CreateMpiCommunicator(const CommunicatorConfig& config);
#endif
#if defined(SCORCH_HAVE_MPI) && defined(SCORCH_HAVE_NCCL)
StatusOr<std::unique_ptr<Communicator>> CreateNcclCommunicator(const CommunicatorConfig& config);
#endif

}  // namespace scorch::learner::internal
