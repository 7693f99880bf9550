// SCORCH_CHECK: assertions for programming errors (bugs), never for bad input or peer faults.
//
//   SCORCH_CHECK(index < size) << "index " << index;
//
// A failed check logs the condition, file:line and message at FATAL, flushes logs and
// aborts. Expected failures return scorch::Status instead (status.h).
#pragma once

#include "scorch/common/logging.h"

namespace scorch::internal {

class CheckFailure {
 public:
  CheckFailure(const char* condition, const char* file, int line);
  [[noreturn]] ~CheckFailure();
  std::ostream& stream() { return stream_; }

 private:
  std::ostringstream stream_;
};

}  // namespace scorch::internal

#define SCORCH_CHECK(cond)                                                                 \
  (cond) ? (void)0                                                                         \
         : ::scorch::log::Voidify() &                                                      \
               ::scorch::internal::CheckFailure(#cond, __FILE__, __LINE__).stream()
