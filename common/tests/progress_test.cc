#include "scorch/common/progress.h"

#include <gtest/gtest.h>

#include <limits>
#include <string>
#include <thread>

#include "scorch/common/logging.h"

namespace scorch::progress {
namespace {

TEST(FormatDuration, PicksTheTwoLargestUnits) {
  EXPECT_EQ(FormatDuration(0.4), "0s");
  EXPECT_EQ(FormatDuration(45), "45s");
  EXPECT_EQ(FormatDuration(185), "3m05s");
  EXPECT_EQ(FormatDuration(3720), "1h02m");
  EXPECT_EQ(FormatDuration(2 * 86400 + 3 * 3600 + 59), "2d03h");
  EXPECT_EQ(FormatDuration(-1), "?");
  EXPECT_EQ(FormatDuration(std::numeric_limits<double>::infinity()), "?");
}

TEST(FormatProgress, ShowsCountPercentRateAndEta) {
  ProgressView v;
  v.label = "grpo";
  v.done = 12;
  v.total = 40;
  v.rate_per_s = 0.5;
  v.detail = "reward 0.41";
  // 28 steps left at 0.5/s: 56 s. A rate under 1/s reads as seconds per step.
  EXPECT_EQ(FormatProgress(v), "[grpo] 12/40 30% | 2.0 s/step | ETA 56s | reward 0.41");
  v.rate_per_s = 4.0;
  v.unit = "problem";
  v.detail.clear();
  EXPECT_EQ(FormatProgress(v), "[grpo] 12/40 30% | 4.00 problem/s | ETA 7s");
}

TEST(FormatProgress, UnknownTotalOrRateLeavesThemOut) {
  ProgressView v;
  v.label = "bench";
  v.done = 3;
  EXPECT_EQ(FormatProgress(v), "[bench] 3");
  v.total = 10;
  EXPECT_EQ(FormatProgress(v), "[bench] 3/10 30%");
}

class StatusLineTest : public ::testing::Test {
 protected:
  void TearDown() override { SetStatusLineOutputForTesting(nullptr, false); }
  std::string out_;
};

TEST_F(StatusLineTest, DisabledDrawsNothing) {
  SetStatusLineOutputForTesting([this](std::string_view b) { out_ += b; }, /*enabled=*/false);
  ShowStatusLine("[x] 1/2");
  ClearStatusLine();
  BeginLogLine();
  EndLogLine();
  EXPECT_FALSE(StatusLineEnabled());
  EXPECT_EQ(out_, "");
}

TEST_F(StatusLineTest, LogLinesEraseAndRedrawTheLine) {
  SetStatusLineOutputForTesting([this](std::string_view b) { out_ += b; }, /*enabled=*/true);
  ShowStatusLine("[x] 1/2\nsecond line is cut");
  EXPECT_EQ(out_, "\r\x1b[2K[x] 1/2");
  out_.clear();
  BeginLogLine();
  EXPECT_EQ(out_, "\r\x1b[2K");  // erased before the log line is written
  out_.clear();
  EndLogLine();
  EXPECT_EQ(out_, "[x] 1/2");  // and drawn again below it
  out_.clear();
  ClearStatusLine();
  EXPECT_EQ(out_, "\r\x1b[2K");
  out_.clear();
  BeginLogLine();  // nothing shown: nothing to erase or redraw
  EndLogLine();
  EXPECT_EQ(out_, "");
}

TEST_F(StatusLineTest, MeterCountsOnlyThisProcessTowardsTheRateAndClearsOnDestruction) {
  SetStatusLineOutputForTesting([this](std::string_view b) { out_ += b; }, /*enabled=*/true);
  {
    ProgressMeter meter("sft", /*total=*/10, /*already_done=*/6);
    EXPECT_EQ(meter.rate_per_s(), 0.0);  // the 6 resumed steps do not count
    EXPECT_LT(meter.eta_s(), 0.0);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    meter.Update(8, "loss 1.2");
    const ProgressView v = meter.View();
    EXPECT_EQ(v.done, 8);
    EXPECT_EQ(v.total, 10);
    EXPECT_GT(v.rate_per_s, 0.0);
    EXPECT_LT(v.rate_per_s, 2.0 / 0.02 + 1.0);  // 2 steps in >= 20 ms
    EXPECT_NEAR(meter.eta_s(), 2.0 / v.rate_per_s, 1e-6 + 0.01 * meter.eta_s());
    EXPECT_NE(out_.find("[sft] 8/10 80%"), std::string::npos) << out_;
    EXPECT_NE(out_.find("loss 1.2"), std::string::npos) << out_;
    out_.clear();
    meter.Update(9);  // within 100 ms of the last draw: throttled
    EXPECT_EQ(out_, "");
    meter.Update(10);  // the last step is always drawn
    EXPECT_NE(out_.find("[sft] 10/10 100%"), std::string::npos) << out_;
    out_.clear();
  }
  EXPECT_EQ(out_, "\r\x1b[2K");
}

TEST_F(StatusLineTest, LoggingGoesAroundTheLine) {
  SetStatusLineOutputForTesting([this](std::string_view b) { out_ += b; }, /*enabled=*/true);
  ShowStatusLine("[eval] 3/9");
  out_.clear();
  SCORCH_LOG(INFO) << "a log line while progress is shown";
  // The log line itself goes to the real stderr; around it the line was erased and redrawn.
  EXPECT_EQ(out_, "\r\x1b[2K[eval] 3/9");
  ClearStatusLine();
}

}  // namespace
}  // namespace scorch::progress
