// Logging: every line carries role, rank and step; one file per role/rank; disabled levels
// do not evaluate their arguments.
#include "scorch/common/logging.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <thread>

#include "scorch/common/atomic_file.h"
#include "scorch/common/check.h"
#include "scorch/common/testing/temp_dir.h"

namespace scorch::log {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

int g_evaluations = 0;
int CountedValue() { return ++g_evaluations; }

TEST(LoggingTest, LinesCarryRoleRankStepAndGoToPerRoleFiles) {
  testing::TempDir dir;
  InitLogging({.min_level = Level::kINFO, .verbosity = 0, .log_dir = dir.path(), .color = false});
  SetProcessIdentity("orchestrator", 0);
  SetThreadStep(12);
  SCORCH_LOG(INFO) << "leased " << 8 << " prompts";
  std::thread worker([] {
    SetThreadIdentity("rollout", 3);
    SCORCH_LOG(WARNING) << "slow batch";
  });
  worker.join();
  SetThreadStep(-1);
  SCORCH_LOG(INFO) << "no step here";
  FlushAll();

  std::string orch = ReadFileToString(dir / "orchestrator-0.log").value();
  EXPECT_THAT(orch, HasSubstr("I orchestrator/0 step=12 | leased 8 prompts"));
  EXPECT_THAT(orch, HasSubstr("I orchestrator/0 no step here"));
  EXPECT_THAT(orch, Not(HasSubstr("slow batch")));
  std::string rollout = ReadFileToString(dir / "rollout-3.log").value();
  EXPECT_THAT(rollout, HasSubstr("W rollout/3 slow batch (logging_test.cc:"));
  InitLogging({});  // back to stderr only
}

TEST(LoggingTest, DisabledStatementsDoNotEvaluateArguments) {
  LogOptions quiet;
  quiet.min_level = Level::kWARNING;
  InitLogging(quiet);
  g_evaluations = 0;
  SCORCH_LOG(INFO) << CountedValue();
  SCORCH_VLOG(1) << CountedValue();
  EXPECT_EQ(g_evaluations, 0);
  SCORCH_LOG(ERROR) << "counted " << CountedValue();
  EXPECT_EQ(g_evaluations, 1);
  LogOptions verbose;
  verbose.min_level = Level::kDEBUG;
  verbose.verbosity = 2;
  InitLogging(verbose);
  SCORCH_VLOG(2) << CountedValue();
  SCORCH_VLOG(3) << CountedValue();
  EXPECT_EQ(g_evaluations, 2);
  InitLogging({});
}

TEST(LoggingTest, ParseLevel) {
  Level l;
  EXPECT_TRUE(ParseLevel("DEBUG", &l));
  EXPECT_EQ(l, Level::kDEBUG);
  EXPECT_TRUE(ParseLevel("warn", &l));
  EXPECT_EQ(l, Level::kWARNING);
  EXPECT_FALSE(ParseLevel("loud", &l));
}

TEST(CheckDeathTest, FailedCheckAbortsWithMessage) {
  EXPECT_DEATH(SCORCH_CHECK(1 + 1 == 3) << "arithmetic is broken", "CHECK failed: 1 \\+ 1 == 3");
}

}  // namespace
}  // namespace scorch::log
