// GraderPool: the math grader behind a process boundary, so that no answer can keep a
// grading call past its deadline or take the server's memory with it.
//
// The pool forks a single-threaded "zygote" process when constructed; the zygote forks the
// worker processes, each of which runs a Grader and talks to the pool over a Unix socket
// (length-prefixed messages). A worker that has not answered within
// `options.deadline_ms + kill_grace_ms` is killed (SIGKILL) and replaced, and that case is
// answered `error/deadline`; a worker that dies is answered `error/worker_crashed` and
// replaced. Construct the pool early, before the process starts other threads.
//
// Thread-safety: GradeBatch/Grade may be called from many threads at once; each call checks
// out idle workers and returns them afterwards. Errors: Create() returns a Status when the
// processes cannot be started; after that every case gets a Verdict.
#pragma once

#include <memory>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/reward/grader.h"

namespace scorch::reward {

struct GraderPoolOptions {
  int num_workers = 2;        // worker processes
  int kill_grace_ms = 50;     // slack past deadline_ms before a worker is killed
  GraderOptions grader;       // options every worker grades with
};

class GraderPool {
 public:
  static StatusOr<std::unique_ptr<GraderPool>> Create(const GraderPoolOptions& options);
  ~GraderPool();
  GraderPool(const GraderPool&) = delete;
  GraderPool& operator=(const GraderPool&) = delete;

  // Grades every request; the i-th verdict answers the i-th request.
  std::vector<Verdict> GradeBatch(const std::vector<GradeRequest>& requests);
  Verdict Grade(const GradeRequest& request);

  int num_workers() const;
  int64_t workers_replaced() const;  // workers killed or lost since Create()

  class Impl;

 private:
  explicit GraderPool(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace scorch::reward
