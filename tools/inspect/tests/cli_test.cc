// The `scorch inspect` and `scorch status` commands, run as a user would run them: the real
// binary on a fixture run directory, and against a live StatusServer started here.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <array>
#include <cstdio>

#include "run_fixture.h"
#include "scorch/orchestrator/status_server.h"

namespace scorch::inspect {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

struct Result {
  int code = -1;
  std::string out;  // stdout and stderr together
};

Result Scorch(const std::string& args) {
  const std::string cmd = std::string(SCORCH_BINARY_DIR) + "/bin/scorch " + args + " 2>&1";
  Result r;
  std::FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  std::array<char, 8192> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0) r.out.append(buf.data(), n);
  int st = ::pclose(p);
  r.code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::TempRunDir("cli");
    ASSERT_NO_FATAL_FAILURE(testing::WriteFixtureRun(root_));
  }
  void TearDown() override { fs::remove_all(root_); }
  fs::path root_;
};

TEST_F(CliTest, InspectSummaryJsonAndHtml) {
  Result text = Scorch("inspect " + root_.string());
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("steps: 1..40 (40 records)"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("! grader/errors > 0"), std::string::npos) << text.out;

  Result js = Scorch("inspect --json " + root_.string());
  ASSERT_EQ(js.code, 0) << js.out;
  json j = json::parse(js.out);
  EXPECT_EQ(j["last_step"], 40);
  EXPECT_EQ(j["stages"].size(), 2u);

  Result html = Scorch("inspect --html " + root_.string());
  ASSERT_EQ(html.code, 0) << html.out;
  EXPECT_TRUE(fs::exists(root_ / "report.html"));
  EXPECT_NE(html.out.find("wrote " + (root_ / "report.html").string()), std::string::npos);
  Result html_to = Scorch("inspect --html -o " + (root_ / "other.html").string() + " " + root_.string());
  ASSERT_EQ(html_to.code, 0) << html_to.out;
  EXPECT_TRUE(fs::exists(root_ / "other.html"));
}

TEST_F(CliTest, InspectRolloutsCompareAndErrors) {
  Result plain = Scorch("inspect " + root_.string() + " --rollouts 40 --limit 1");
  ASSERT_EQ(plain.code, 0) << plain.out;
  EXPECT_EQ(plain.out.find('\x1b'), std::string::npos) << "piped output must be plain";
  EXPECT_NE(plain.out.find("[verify · assistant · turn 0]"), std::string::npos) << plain.out;
  EXPECT_EQ(plain.out.find("── #2"), std::string::npos);
  Result color = Scorch("inspect " + root_.string() + " --rollouts 40 --color always");
  ASSERT_EQ(color.code, 0);
  EXPECT_NE(color.out.find("\x1b[35m"), std::string::npos);
  Result jl = Scorch("inspect " + root_.string() + " --rollouts 20 --json --limit 2");
  ASSERT_EQ(jl.code, 0);
  EXPECT_EQ(std::count(jl.out.begin(), jl.out.end(), '\n'), 2);

  Result missing_step = Scorch("inspect " + root_.string() + " --rollouts 7");
  EXPECT_EQ(missing_step.code, 1);
  EXPECT_NE(missing_step.out.find("no rollouts for step 7"), std::string::npos) << missing_step.out;
  Result missing = Scorch("inspect " + (root_ / "nope").string());
  EXPECT_EQ(missing.code, 1);
  EXPECT_NE(missing.out.find("does not exist"), std::string::npos) << missing.out;
  Result nothing = Scorch("inspect");
  EXPECT_EQ(nothing.code, 1);
  EXPECT_NE(nothing.out.find("give a run directory"), std::string::npos) << nothing.out;

  Result cmp = Scorch("inspect --compare " + root_.string() + " " + root_.string());
  ASSERT_EQ(cmp.code, 0) << cmp.out;
  EXPECT_NE(cmp.out.find("acc/final (last)"), std::string::npos) << cmp.out;
  Result cmp_json = Scorch("inspect --json --compare " + root_.string() + " " + root_.string());
  ASSERT_EQ(cmp_json.code, 0);
  EXPECT_EQ(json::parse(cmp_json.out)["b"]["last_step"], 40);
  Result both = Scorch("inspect " + root_.string() + " --compare " + root_.string() + " " + root_.string());
  EXPECT_EQ(both.code, 1);
}

TEST(StatusCliTest, ShowsALiveServersStatusAndMetrics) {
  orchestrator::StatusServer server(
      {},
      [] {
        return json{{"stage", "grpo"},
                    {"step", 7},
                    {"workers", json::array({{{"id", "rollout-0"}, {"leases", 2}}})},
                    {"last_metrics", {{"reward/mean", 0.25}}}};
      },
      [] { return std::map<std::string, double>{{"reward/mean", 0.25}}; });
  ASSERT_TRUE(server.Start().ok());
  const std::string ep = server.endpoint();
  Result text = Scorch("status " + ep);
  ASSERT_EQ(text.code, 0) << text.out;
  EXPECT_NE(text.out.find("stage: grpo"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("workers (1):"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("rollout-0"), std::string::npos) << text.out;
  Result raw = Scorch("status --json " + ep);
  ASSERT_EQ(raw.code, 0);
  EXPECT_EQ(json::parse(raw.out)["step"], 7);
  Result prom = Scorch("status --metrics " + ep);
  ASSERT_EQ(prom.code, 0);
  EXPECT_NE(prom.out.find("scorch_reward_mean 0.25"), std::string::npos) << prom.out;
  server.Stop();
  Result gone = Scorch("status --timeout-ms 2000 " + ep);
  EXPECT_EQ(gone.code, 1);
  EXPECT_NE(gone.out.find("scorch status: cannot connect to " + ep), std::string::npos) << gone.out;
  Result bad = Scorch("status localhost");
  EXPECT_EQ(bad.code, 1);
  EXPECT_NE(bad.out.find("missing ':PORT'"), std::string::npos) << bad.out;
}

}  // namespace
}  // namespace scorch::inspect
