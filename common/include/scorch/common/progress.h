// Progress of long-running commands (job stages, collect, eval, bench): steps done, rate and
// ETA, drawn as one status line at the bottom of a terminal that log lines scroll above.
//
//   ProgressMeter meter("grpo", /*total=*/40, /*already_done=*/resumed_steps);
//   meter.Update(done, "reward 0.41 acc 0.38");   // redraws "[grpo] 12/40  30% | 0.52 step/s | ETA 54s | ..."
//
// The status line is shown only when stderr is a terminal (isatty) and SCORCH_PROGRESS is not
// "0" and TERM is not "dumb": piped or redirected output stays a plain log, which already has
// one progress line per step. While a line is shown, every log line clears it, prints, and
// redraws it (logging.cc), so the two never interleave.
//
// Thread-safety: every function and ProgressMeter method may be called from any thread; the
// status line is one process-wide resource (the last Show wins). Errors: none; drawing is best
// effort (a failed write is ignored).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>

namespace scorch::progress {

// "45s", "3m05s", "1h02m", "2d03h"; "?" for a negative or non-finite value.
std::string FormatDuration(double seconds);

// What one progress line says.
struct ProgressView {
  std::string label;        // e.g. the stage name
  int64_t done = 0;
  int64_t total = 0;        // <= 0: unknown (no percentage or ETA)
  double rate_per_s = 0.0;  // units per second measured in this process (0: not known yet)
  std::string unit = "step";
  std::string detail;       // free text appended after the numbers
};
// "[grpo] 12/40  30% | 0.52 step/s | ETA 54s | detail"; a rate under 1/s is also given as
// seconds per unit ("25.0 s/step"), which reads better for slow steps.
std::string FormatProgress(const ProgressView& view);

// The process-wide status line (see the file comment). Show replaces it; Clear removes it.
void ShowStatusLine(std::string_view text);
void ClearStatusLine();
// Whether lines are drawn at all (stderr is a TTY, SCORCH_PROGRESS != 0, TERM != dumb).
bool StatusLineEnabled();

// For tests: draw through `write` (instead of stderr) and force drawing on or off. An empty
// function restores stderr and the TTY check.
void SetStatusLineOutputForTesting(std::function<void(std::string_view)> write, bool enabled);

// Called by logging around each line it writes to stderr: BeginLogLine erases a shown line
// (and locks the status line), EndLogLine redraws it (and unlocks). Always called in pairs.
void BeginLogLine();
void EndLogLine();

// Counts the progress of one task and keeps the status line up to date.
class ProgressMeter {
 public:
  // `already_done` units were done before this process started (a resumed stage): they count
  // towards done/total but not towards the rate.
  ProgressMeter(std::string label, int64_t total, int64_t already_done = 0, std::string unit = "step");
  // Clears the status line.
  ~ProgressMeter();
  ProgressMeter(const ProgressMeter&) = delete;
  ProgressMeter& operator=(const ProgressMeter&) = delete;

  // Sets the units done and redraws (at most every 100 ms, except for the last unit).
  void Update(int64_t done, std::string detail = {});
  // The line Update would draw now.
  ProgressView View() const;
  double rate_per_s() const;
  // Seconds left at the measured rate; negative when unknown.
  double eta_s() const;

 private:
  using Clock = std::chrono::steady_clock;
  const std::string label_;
  const int64_t total_;
  const int64_t start_done_;
  const std::string unit_;
  const Clock::time_point start_ = Clock::now();
  mutable std::mutex mu_;
  int64_t done_;             // GUARDED_BY(mu_)
  std::string detail_;       // GUARDED_BY(mu_)
  Clock::time_point last_draw_{};  // GUARDED_BY(mu_)
};

}  // namespace scorch::progress
