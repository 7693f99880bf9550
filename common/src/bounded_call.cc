#include "scorch/common/bounded_call.h"

#include <condition_variable>
#include <mutex>
#include <thread>

namespace scorch {

bool RunBounded(const std::function<void()>& fn, std::chrono::milliseconds limit,
                const std::function<void()>& on_overrun) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool overran = false;
  std::thread watchdog([&] {
    std::unique_lock<std::mutex> lock(mu);
    if (cv.wait_for(lock, limit, [&] { return done; })) return;
    overran = true;
    lock.unlock();
    on_overrun();  // typically ends the process; if it returns, fn is still waited for below
  });
  fn();
  {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  return !overran;
}

}  // namespace scorch
