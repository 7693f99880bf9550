#include "scorch/common/logging.h"

#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <mutex>

#include "scorch/common/check.h"
#include "scorch/common/progress.h"

namespace scorch::log {
namespace {

struct Identity {
  std::string role;
  int rank = -1;
};

std::atomic<int> g_min_level{static_cast<int>(Level::kINFO)};
std::atomic<int> g_verbosity{0};

// Guards everything below. Logging itself only takes it to find the logger.
std::mutex g_mu;
Identity g_process{"main", 0};
LogOptions g_options;
std::shared_ptr<spdlog::sinks::sink> g_stderr_sink;
std::map<std::string, std::shared_ptr<spdlog::logger>> g_loggers;  // key "role-rank"

thread_local Identity t_identity;  // rank -1: use g_process
thread_local int64_t t_step = -1;

spdlog::level::level_enum ToSpd(Level level) {
  switch (level) {
    case Level::kDEBUG: return spdlog::level::debug;
    case Level::kINFO: return spdlog::level::info;
    case Level::kWARNING: return spdlog::level::warn;
    case Level::kERROR: return spdlog::level::err;
    case Level::kFATAL: return spdlog::level::critical;
  }
  return spdlog::level::info;
}

std::shared_ptr<spdlog::sinks::sink> StderrSinkLocked() {
  if (!g_stderr_sink) {
    if (g_options.color) {
      g_stderr_sink = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
    } else {
      g_stderr_sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    }
    g_stderr_sink->set_pattern("%Y-%m-%d %H:%M:%S.%e %^%L%$ %n %v");
  }
  return g_stderr_sink;
}

std::shared_ptr<spdlog::logger> MakeLoggerLocked(const Identity& id) {
  const std::string key = id.role + "-" + std::to_string(id.rank);
  auto it = g_loggers.find(key);
  if (it != g_loggers.end()) return it->second;
  std::vector<spdlog::sink_ptr> sinks{StderrSinkLocked()};
  if (!g_options.log_dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(g_options.log_dir, ec);
    try {
      auto file = std::make_shared<spdlog::sinks::basic_file_sink_mt>(
          (g_options.log_dir / (key + ".log")).string(), /*truncate=*/false);
      file->set_pattern("%Y-%m-%d %H:%M:%S.%e %L %n %v");
      sinks.push_back(file);
    } catch (const spdlog::spdlog_ex& e) {
      // A log file we cannot open must not stop the program; say so on stderr.
      std::fprintf(stderr, "scorch: cannot open log file in %s: %s\n",
                   g_options.log_dir.c_str(), e.what());
    }
  }
  auto logger = std::make_shared<spdlog::logger>(id.role + "/" + std::to_string(id.rank),
                                                 sinks.begin(), sinks.end());
  logger->set_level(spdlog::level::trace);
  // Flushed at every INFO line: people (and tests) follow logs/<role>-<rank>.log while a job
  // runs, and those lines are a few per step. Verbose lines stay buffered.
  logger->flush_on(spdlog::level::info);
  g_loggers[key] = logger;
  return logger;
}

std::shared_ptr<spdlog::logger> CurrentLogger() {
  std::lock_guard<std::mutex> lock(g_mu);
  return MakeLoggerLocked(t_identity.rank >= 0 ? t_identity : g_process);
}

}  // namespace

void InitLogging(const LogOptions& options) {
  std::lock_guard<std::mutex> lock(g_mu);
  const bool sinks_change = options.log_dir != g_options.log_dir || options.color != g_options.color;
  g_options = options;
  g_min_level = static_cast<int>(options.min_level);
  g_verbosity = options.verbosity;
  if (sinks_change) {
    // Rebuild loggers lazily with the new sinks; old ones flush and close.
    for (auto& [key, logger] : g_loggers) logger->flush();
    g_loggers.clear();
    g_stderr_sink.reset();
  }
}

bool ParseLevel(const std::string& text, Level* level) {
  std::string t;
  for (char c : text) t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "debug") *level = Level::kDEBUG;
  else if (t == "info") *level = Level::kINFO;
  else if (t == "warning" || t == "warn") *level = Level::kWARNING;
  else if (t == "error") *level = Level::kERROR;
  else return false;
  return true;
}

void SetProcessIdentity(const std::string& role, int rank) {
  std::lock_guard<std::mutex> lock(g_mu);
  g_process = Identity{role, rank};
}

void SetThreadIdentity(const std::string& role, int rank) { t_identity = Identity{role, rank}; }
void SetThreadStep(int64_t step) { t_step = step; }
int64_t ThreadStep() { return t_step; }

bool IsOn(Level level) { return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed); }
bool VlogIsOn(int verbosity) {
  return verbosity <= g_verbosity.load(std::memory_order_relaxed) && IsOn(Level::kDEBUG) ;
}

void FlushAll() {
  std::lock_guard<std::mutex> lock(g_mu);
  for (auto& [key, logger] : g_loggers) logger->flush();
}

LogMessage::LogMessage(Level level, const char* file, int line)
    : level_(level), file_(file), line_(line) {}

LogMessage::~LogMessage() {
  std::string text;
  if (t_step >= 0) text = "step=" + std::to_string(t_step) + " | ";
  text += stream_.str();
  if (level_ >= Level::kWARNING) {
    // Where a warning came from helps; INFO lines stay short.
    std::string_view f(file_);
    auto slash = f.rfind('/');
    if (slash != std::string_view::npos) f = f.substr(slash + 1);
    text += " (" + std::string(f) + ":" + std::to_string(line_) + ")";
  }
  auto logger = CurrentLogger();
  // A progress status line at the bottom of the terminal is erased and redrawn around the line.
  progress::BeginLogLine();
  logger->log(ToSpd(level_), text);
  progress::EndLogLine();
}

}  // namespace scorch::log

namespace scorch::internal {

CheckFailure::CheckFailure(const char* condition, const char* file, int line) {
  stream_ << "CHECK failed: " << condition << " at " << file << ":" << line << ": ";
}

CheckFailure::~CheckFailure() {
  { ::scorch::log::LogMessage(::scorch::log::Level::kFATAL, __FILE__, __LINE__).stream() << stream_.str(); }
  ::scorch::log::FlushAll();
  std::abort();
}

}  // namespace scorch::internal
