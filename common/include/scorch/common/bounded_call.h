// RunBounded: calls `fn` on this thread and, if it has not returned after `limit`, calls
// `on_overrun` once from a watchdog thread while `fn` keeps running. For calls that can block
// for ever with nothing to cancel them, e.g. MPI_Finalize waiting on a rank that died: the
// caller's `on_overrun` logs why and ends the process (std::_Exit), so no wait is unbounded.
//
// Threading: `on_overrun` runs on the watchdog thread, concurrently with `fn`; it must be
// safe to call from there. The watchdog is joined before RunBounded returns, so nothing
// outlives the call. Errors: none of its own; `fn` and `on_overrun` must not throw.
#pragma once

#include <chrono>
#include <functional>

namespace scorch {

// Returns true when `fn` returned within `limit` (on_overrun was not called).
bool RunBounded(const std::function<void()>& fn, std::chrono::milliseconds limit,
                const std::function<void()>& on_overrun);

}  // namespace scorch
