// Renders report.html in headless Chromium (Debian `chromium`): the DOM Chromium builds must
// hold every chart's path, and a screenshot is taken. Skips with a message only when no
// chromium binary can run on this machine (cluster/install-deps.sh installs it).
//
// The screenshot is left at $SCORCH_BINARY_DIR/inspect_report_screenshot.png for people to look at.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <cstdlib>

#include "run_fixture.h"
#include "scorch/inspect/html_report.h"

namespace scorch::inspect {
namespace {

namespace fs = std::filesystem;

// Runs `cmd` through the shell, capturing stdout; returns the exit status.
int RunCapture(const std::string& cmd, std::string* out) {
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  std::array<char, 65536> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) out->append(buf.data(), n);
  int st = ::pclose(p);
  return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

std::string FindChromium() {
  for (const char* c : {"chromium", "chromium-browser", "google-chrome"}) {
    std::string out;
    if (RunCapture(std::string("command -v ") + c + " 2>/dev/null", &out) == 0 && !out.empty()) {
      while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
      return out;
    }
  }
  return "";
}

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

TEST(ReportChromiumTest, HeadlessChromiumRendersTheChartsAndAScreenshot) {
  const std::string chromium = FindChromium();
  if (chromium.empty()) GTEST_SKIP() << "no chromium binary on PATH (cluster/install-deps.sh installs `chromium`)";
  std::string version;
  if (RunCapture("'" + chromium + "' --version 2>&1", &version) != 0) {
    GTEST_SKIP() << "chromium cannot run here: " << version;
  }

  auto root = testing::TempRunDir("chromium");
  ASSERT_NO_FATAL_FAILURE(testing::WriteFixtureRun(root));
  auto run = LoadRun(root);
  ASSERT_TRUE(run.ok());
  const fs::path report = root / "report.html";
  ASSERT_TRUE(WriteHtmlReport(*run, report).ok());

  const fs::path profile = root / "chromium-profile";
  const std::string flags =
      " --headless --no-sandbox --disable-gpu --no-first-run --disable-background-networking"
      " --disable-dev-shm-usage --user-data-dir='" + profile.string() + "'";
  std::string dom;
  int rc = RunCapture("timeout 90 '" + chromium + "'" + flags + " --dump-dom 'file://" +
                          report.string() + "' 2>/dev/null",
                      &dom);
  ASSERT_EQ(rc, 0) << "chromium --dump-dom failed";
  // The DOM as Chromium parsed it: every chart's SVG and its series path survived parsing.
  EXPECT_EQ(Count(dom, "<svg class=\"chart\""), KeyMetrics().size()) << dom.substr(0, 2000);
  EXPECT_EQ(Count(dom, "<path"), KeyMetrics().size());
  EXPECT_EQ(Count(dom, "<details class=\"traj\""), 12u);
  EXPECT_NE(dom.find("scorch run"), std::string::npos);

  const fs::path shot = fs::path(SCORCH_BINARY_DIR) / "inspect_report_screenshot.png";
  fs::remove(shot);
  std::string ignored;
  rc = RunCapture("timeout 90 '" + chromium + "'" + flags + " --hide-scrollbars --window-size=1400,1800 --screenshot='" +
                      shot.string() + "' 'file://" + report.string() + "' 2>&1",
                  &ignored);
  ASSERT_EQ(rc, 0) << ignored;
  ASSERT_TRUE(fs::exists(shot)) << ignored;
  EXPECT_GT(fs::file_size(shot), 20000u);  // a page with charts, not a blank image
  std::ifstream png(shot, std::ios::binary);
  char magic[8] = {};
  png.read(magic, 8);
  EXPECT_EQ(std::string(magic, 8), std::string("\x89PNG\r\n\x1a\n", 8));
  fs::remove_all(root);
}

}  // namespace
}  // namespace scorch::inspect
