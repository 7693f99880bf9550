// Progress lines and the process-wide stderr status line; see progress.h.
#include "scorch/common/progress.h"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <utility>

namespace scorch::progress {
namespace {

// The status line. g_line_mu is held from BeginLogLine to EndLogLine, so a log line and a
// redraw never interleave; it is recursive because a log statement inside a write callback
// (tests) must not deadlock.
std::recursive_mutex g_line_mu;
std::string g_line;         // GUARDED_BY(g_line_mu): what is shown ("" = nothing)
bool g_test_override = false;                     // GUARDED_BY(g_line_mu)
bool g_test_enabled = false;                      // GUARDED_BY(g_line_mu)
std::function<void(std::string_view)> g_test_write;  // GUARDED_BY(g_line_mu)

bool TerminalWantsLine() {
  static const bool enabled = [] {
    if (isatty(STDERR_FILENO) == 0) return false;
    const char* p = std::getenv("SCORCH_PROGRESS");
    if (p != nullptr && std::strcmp(p, "0") == 0) return false;
    const char* term = std::getenv("TERM");
    return term == nullptr || std::strcmp(term, "dumb") != 0;
  }();
  return enabled;
}

bool EnabledLocked() { return g_test_override ? g_test_enabled : TerminalWantsLine(); }

void WriteLocked(std::string_view bytes) {
  if (g_test_override) {
    if (g_test_write) g_test_write(bytes);
    return;
  }
  (void)!std::fwrite(bytes.data(), 1, bytes.size(), stderr);
  std::fflush(stderr);
}

// "\r" + erase line: the cursor goes back to column 0 of an empty line.
constexpr std::string_view kErase = "\r\x1b[2K";

std::string Fixed(double v, int digits) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.*f", digits, v);
  return buf;
}

}  // namespace

std::string FormatDuration(double seconds) {
  if (!std::isfinite(seconds) || seconds < 0.0) return "?";
  const auto s = static_cast<int64_t>(std::llround(seconds));
  char buf[32];
  if (s < 60) {
    std::snprintf(buf, sizeof(buf), "%llds", static_cast<long long>(s));
  } else if (s < 3600) {
    std::snprintf(buf, sizeof(buf), "%lldm%02llds", static_cast<long long>(s / 60), static_cast<long long>(s % 60));
  } else if (s < 86400) {
    std::snprintf(buf, sizeof(buf), "%lldh%02lldm", static_cast<long long>(s / 3600),
                  static_cast<long long>((s % 3600) / 60));
  } else {
    std::snprintf(buf, sizeof(buf), "%lldd%02lldh", static_cast<long long>(s / 86400),
                  static_cast<long long>((s % 86400) / 3600));
  }
  return buf;
}

std::string FormatProgress(const ProgressView& v) {
  std::string out = "[" + v.label + "] " + std::to_string(v.done);
  if (v.total > 0) {
    out += "/" + std::to_string(v.total);
    const double pct = 100.0 * static_cast<double>(v.done) / static_cast<double>(v.total);
    out += " " + Fixed(pct, 0) + "%";
  }
  if (v.rate_per_s > 0.0 && std::isfinite(v.rate_per_s)) {
    out += v.rate_per_s >= 1.0 ? " | " + Fixed(v.rate_per_s, 2) + " " + v.unit + "/s"
                               : " | " + Fixed(1.0 / v.rate_per_s, 1) + " s/" + v.unit;
    if (v.total > 0) {
      const double left = static_cast<double>(v.total - v.done) / v.rate_per_s;
      out += " | ETA " + FormatDuration(left > 0.0 ? left : 0.0);
    }
  }
  if (!v.detail.empty()) out += " | " + v.detail;
  return out;
}

void ShowStatusLine(std::string_view text) {
  std::lock_guard lock(g_line_mu);
  if (!EnabledLocked()) return;
  // One line only: a status line that wrapped could not be erased with \r.
  std::string line(text.substr(0, text.find('\n')));
  g_line = line;
  WriteLocked(std::string(kErase) + line);
}

void ClearStatusLine() {
  std::lock_guard lock(g_line_mu);
  if (g_line.empty()) return;
  g_line.clear();
  if (EnabledLocked()) WriteLocked(kErase);
}

bool StatusLineEnabled() {
  std::lock_guard lock(g_line_mu);
  return EnabledLocked();
}

void SetStatusLineOutputForTesting(std::function<void(std::string_view)> write, bool enabled) {
  std::lock_guard lock(g_line_mu);
  g_line.clear();
  g_test_override = static_cast<bool>(write);
  g_test_enabled = enabled;
  g_test_write = std::move(write);
}

void BeginLogLine() {
  g_line_mu.lock();
  if (!g_line.empty()) WriteLocked(kErase);
}

void EndLogLine() {
  if (!g_line.empty()) WriteLocked(g_line);
  g_line_mu.unlock();
}

// ---------------------------------------------------------------------------------------
ProgressMeter::ProgressMeter(std::string label, int64_t total, int64_t already_done, std::string unit)
    : label_(std::move(label)),
      total_(total),
      start_done_(already_done),
      unit_(std::move(unit)),
      done_(already_done) {}

ProgressMeter::~ProgressMeter() { ClearStatusLine(); }

void ProgressMeter::Update(int64_t done, std::string detail) {
  std::string line;
  {
    std::lock_guard lock(mu_);
    done_ = done;
    detail_ = std::move(detail);
    const auto now = Clock::now();
    const bool last = total_ > 0 && done_ >= total_;
    if (!last && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
  }
  ShowStatusLine(FormatProgress(View()));
}

double ProgressMeter::rate_per_s() const {
  std::lock_guard lock(mu_);
  const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
  const int64_t here = done_ - start_done_;
  return here > 0 && elapsed > 0.0 ? static_cast<double>(here) / elapsed : 0.0;
}

double ProgressMeter::eta_s() const {
  const double rate = rate_per_s();
  std::lock_guard lock(mu_);
  if (rate <= 0.0 || total_ <= 0) return -1.0;
  return static_cast<double>(total_ > done_ ? total_ - done_ : 0) / rate;
}

ProgressView ProgressMeter::View() const {
  ProgressView v;
  v.rate_per_s = rate_per_s();
  std::lock_guard lock(mu_);
  v.label = label_;
  v.done = done_;
  v.total = total_;
  v.unit = unit_;
  v.detail = detail_;
  return v;
}

}  // namespace scorch::progress
