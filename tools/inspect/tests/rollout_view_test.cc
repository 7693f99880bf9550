// LoadRollouts / FormatRollouts: lookup by step, clear errors, colour only when asked,
// control characters from model text escaped.
#include <gtest/gtest.h>

#include "run_fixture.h"
#include "scorch/inspect/rollout_view.h"

namespace scorch::inspect {
namespace {

namespace fs = std::filesystem;

TEST(RolloutViewTest, FindsStepsIncludingZeroPaddedNames) {
  auto root = testing::TempRunDir("rv");
  ASSERT_NO_FATAL_FAILURE(testing::WriteFixtureRun(root));
  fs::rename(root / "rollouts" / "step-20.jsonl", root / "rollouts" / "step-000020.jsonl");
  std::ofstream(root / "rollouts" / "step-000020.jsonl", std::ios::app) << "not json\n[1,2]\n";
  auto f = LoadRollouts(root, 20);
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->trajectories.size(), 6u);
  EXPECT_EQ(f->bad_lines, 2);

  auto missing = LoadRollouts(root, 21);
  ASSERT_TRUE(missing.status().IsNotFound());
  EXPECT_NE(missing.status().message().find("steps with rollouts: 20, 40"), std::string::npos)
      << missing.status();
  auto none = LoadRollouts(root / "nothing", 1);
  EXPECT_NE(none.status().message().find("(none recorded)"), std::string::npos);
  fs::remove_all(root);
}

TEST(RolloutViewTest, PlainOutputMarksEverySegmentAndHasNoEscapes) {
  auto root = testing::TempRunDir("rv_plain");
  ASSERT_NO_FATAL_FAILURE(testing::WriteFixtureRun(root));
  auto f = LoadRollouts(root, 40);
  ASSERT_TRUE(f.ok());
  const std::string plain = FormatRollouts(*f, /*color=*/false, /*limit=*/2);
  EXPECT_EQ(plain.find('\x1b'), std::string::npos) << "escape codes in plain output";
  EXPECT_NE(plain.find("6 trajectory(ies), showing 2"), std::string::npos) << plain;
  EXPECT_NE(plain.find("── #1 prompt p100 · sample 0 · policy v39 · reward -1 · turns ✓✗"),
            std::string::npos) << plain;
  EXPECT_EQ(plain.find("── #3"), std::string::npos);
  for (const char* tag : {"[prompt · user · turn 0]", "[attempt · assistant · turn 0]",
                          "[verify · assistant · turn 0]", "[instruction · user · turn 1]",
                          "[attempt · assistant · turn 1]"}) {
    EXPECT_NE(plain.find(tag), std::string::npos) << tag << "\n" << plain;
  }
  EXPECT_NE(plain.find("    The answer is \\boxed{42}"), std::string::npos) << plain;
  EXPECT_NE(plain.find("\\x1B[31m"), std::string::npos) << "model's escape code not shown escaped";
  EXPECT_NE(plain.find("answers: 42 → 40"), std::string::npos) << plain;
  fs::remove_all(root);
}

TEST(RolloutViewTest, ColourOutputColoursByKind) {
  auto root = testing::TempRunDir("rv_color");
  ASSERT_NO_FATAL_FAILURE(testing::WriteFixtureRun(root));
  auto f = LoadRollouts(root, 40);
  ASSERT_TRUE(f.ok());
  const std::string color = FormatRollouts(*f, /*color=*/true, 0);
  EXPECT_NE(color.find("\x1b[1m\x1b[35m  [verify"), std::string::npos);
  EXPECT_NE(color.find("\x1b[1m\x1b[33m  [attempt"), std::string::npos);
  EXPECT_NE(color.find("── #6"), std::string::npos);
  // The trajectory's own ESC byte is still escaped: only our codes reach the terminal.
  EXPECT_NE(color.find("\\x1B[31m"), std::string::npos);
  fs::remove_all(root);
}

TEST(RolloutViewTest, EscapeControl) {
  EXPECT_EQ(EscapeControl("a\tb\nc"), "a\tb\nc");
  EXPECT_EQ(EscapeControl(std::string("x\x07y\x7f") + '\0'), "x\\x07y\\x7F\\x00");
  EXPECT_EQ(EscapeControl("Δ ünïcode"), "Δ ünïcode");
}

}  // namespace
}  // namespace scorch::inspect
