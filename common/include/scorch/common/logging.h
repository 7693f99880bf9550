// Human-readable logging for every scorch process.
//
//   SCORCH_LOG(INFO) << "leased " << n << " prompts";
//   SCORCH_VLOG(2) << "per-batch detail";
//
// Every line carries the role, rank and step of the code that logged it, e.g.
//   2026-11-22 10:00:01.234 I orchestrator/0 step=12 | leased 8 prompts
// Role and rank are per thread (embedded mode runs all roles in one process as threads),
// falling back to the process-wide default. Lines go to stderr and, once InitLogging has a
// log directory, to <log_dir>/<role>-<rank>.log (one file per role/rank).
//
// Arguments of a disabled log statement are not evaluated. Thread-safe. Metrics are not
// logs: see metrics_writer.h.
#pragma once

#include <cstdint>
#include <filesystem>
#include <sstream>
#include <string>

namespace scorch::log {

enum class Level : int { kDEBUG = 0, kINFO = 1, kWARNING = 2, kERROR = 3, kFATAL = 4 };

struct LogOptions {
  Level min_level = Level::kINFO;   // lines below this are dropped
  int verbosity = 0;                // SCORCH_VLOG(n) prints when n <= verbosity
  std::filesystem::path log_dir;    // empty: stderr only
  bool color = true;                // colour level letters on a TTY
};

// Configures levels and the log directory. May be called again (e.g. once the run
// directory exists); later calls add file sinks for loggers created afterwards too.
void InitLogging(const LogOptions& options);
// Parses "debug", "info", "warning", "error" (case-insensitive). Returns false if unknown.
bool ParseLevel(const std::string& text, Level* level);

// Process-wide role and rank, used by threads that have not set their own.
void SetProcessIdentity(const std::string& role, int rank);
// This thread's role and rank (embedded mode: one per role thread).
void SetThreadIdentity(const std::string& role, int rank);
// This thread's current step, printed on each line; -1 hides it.
void SetThreadStep(int64_t step);
int64_t ThreadStep();

bool IsOn(Level level);
bool VlogIsOn(int verbosity);
// Flushes every sink (called before abort and at exit).
void FlushAll();

// One log statement; emits on destruction. Use through the macros.
class LogMessage {
 public:
  LogMessage(Level level, const char* file, int line);
  ~LogMessage();
  LogMessage(const LogMessage&) = delete;
  LogMessage& operator=(const LogMessage&) = delete;
  std::ostream& stream() { return stream_; }

 private:
  Level level_;
  const char* file_;
  int line_;
  std::ostringstream stream_;
};

// Lets the macros below be used as expressions without a dangling-else hazard.
struct Voidify {
  void operator&(std::ostream&) {}
};

}  // namespace scorch::log

#define SCORCH_LOG(severity)                                           \
  !::scorch::log::IsOn(::scorch::log::Level::k##severity)              \
      ? (void)0                                                        \
      : ::scorch::log::Voidify() &                                     \
            ::scorch::log::LogMessage(::scorch::log::Level::k##severity, \
                                      __FILE__, __LINE__)              \
                .stream()

#define SCORCH_VLOG(n)                                                            \
  !::scorch::log::VlogIsOn(n)                                                     \
      ? (void)0                                                                   \
      : ::scorch::log::Voidify() &                                                \
            ::scorch::log::LogMessage(::scorch::log::Level::kDEBUG, __FILE__, __LINE__) \
                .stream()
