#include "scorch/common/bounded_call.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace scorch {
namespace {

using namespace std::chrono_literals;

TEST(BoundedCall, AQuickCallNeverTriggersTheOverrun) {
  std::atomic<int> overruns{0};
  int ran = 0;
  EXPECT_TRUE(RunBounded([&] { ++ran; }, 5s, [&] { ++overruns; }));
  EXPECT_EQ(ran, 1);
  EXPECT_EQ(overruns.load(), 0);
}

TEST(BoundedCall, ASlowCallTriggersTheOverrunOnceWhileItRuns) {
  std::atomic<int> overruns{0};
  std::atomic<bool> fn_running{false};
  std::atomic<bool> overrun_saw_fn_running{false};
  const bool in_time = RunBounded(
      [&] {
        fn_running = true;
        std::this_thread::sleep_for(500ms);
        fn_running = false;
      },
      50ms,
      [&] {
        overrun_saw_fn_running = fn_running.load();
        ++overruns;
      });
  EXPECT_FALSE(in_time);
  EXPECT_EQ(overruns.load(), 1);
  EXPECT_TRUE(overrun_saw_fn_running.load());  // called during the call, not after it
}

}  // namespace
}  // namespace scorch
