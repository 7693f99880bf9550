#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "scorch/common/config/run_config.h"

namespace scorch::config {
namespace {

using ::testing::HasSubstr;

std::string ErrorOf(const std::string& yaml, const std::vector<std::string>& overrides = {}) {
  auto result = ParseRunConfig(yaml, "job.yaml", overrides);
  EXPECT_FALSE(result.ok()) << "expected an error for:\n" << yaml;
  return result.ok() ? "" : result.status().message();
}

TEST(ConfigTest, EmptyDocumentGivesDefaults) {
  auto c = ParseRunConfig("", "empty.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->job.name, "job");
  EXPECT_EQ(c->job.seed, 1234);
  EXPECT_TRUE(c->stages.empty());
}

TEST(ConfigTest, ReadsTypedValues) {
  auto c = ParseRunConfig(R"(
job: {name: demo, seed: 7, threads: 2}
logging: {level: debug, color: false}
stages:
  - {name: warmup, kind: sft, steps: 3, lr: 2.0e-5}
  - {name: rl, kind: grpo, samples_per_prompt: 4, protocol: self_correct}
)",
                          "job.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->job.name, "demo");
  EXPECT_EQ(c->job.seed, 7);
  EXPECT_EQ(c->job.threads, 2);
  EXPECT_FALSE(c->logging.color);
  ASSERT_EQ(c->stages.size(), 2u);
  EXPECT_EQ(c->stages[0].kind, StageKind::kSft);
  EXPECT_DOUBLE_EQ(c->stages[0].lr, 2e-5);
  EXPECT_EQ(c->stages[1].kind, StageKind::kGrpo);
  EXPECT_EQ(c->stages[1].protocol, "self_correct");
}

TEST(ConfigTest, UnknownKeySuggestsClosestWithLocation) {
  std::string e = ErrorOf("job:\n  name: x\n  sead: 3\n");
  EXPECT_THAT(e, HasSubstr("job.yaml:3:3"));
  EXPECT_THAT(e, HasSubstr("unknown key \"sead\""));
  EXPECT_THAT(e, HasSubstr("did you mean \"seed\"?"));
  std::string top = ErrorOf("stagez: []\n");
  EXPECT_THAT(top, HasSubstr("at the top level"));
  EXPECT_THAT(top, HasSubstr("did you mean \"stages\"?"));
}

TEST(ConfigTest, ARenamedKeyNamesItsNewPlace) {
  std::string e = ErrorOf("cluster:\n  learners: 2\n");
  EXPECT_THAT(e, HasSubstr("job.yaml:2:3"));
  EXPECT_THAT(e, HasSubstr("unknown key \"learners\": it is cluster.roles.learner now"));
  EXPECT_EQ(e.find("did you mean"), std::string::npos);
}

TEST(ConfigTest, UnknownKeyFarFromAnyNameHasNoSuggestion) {
  std::string e = ErrorOf("job:\n  zzzzzzzzzz: 1\n");
  EXPECT_THAT(e, HasSubstr("unknown key \"zzzzzzzzzz\""));
  EXPECT_EQ(e.find("did you mean"), std::string::npos);
}

TEST(ConfigTest, WrongTypeNamesPathAndLineColumn) {
  std::string e = ErrorOf("job:\n  name: x\n  seed: many\n");
  EXPECT_THAT(e, HasSubstr("job.yaml:3:9: job.seed: expected an integer, got \"many\""));
  std::string list = ErrorOf("stages: {name: a}\n");
  EXPECT_THAT(list, HasSubstr("stages: expected a list, got a mapping"));
  std::string flag = ErrorOf("logging: {color: maybe}\n");
  EXPECT_THAT(flag, HasSubstr("logging.color: expected true or false"));
}

TEST(ConfigTest, OutOfRangeIsRejected) {
  std::string e = ErrorOf("stages:\n  - {name: a, lr: 3.5}\n");
  EXPECT_THAT(e, HasSubstr("job.yaml:2:19: stages[0].lr: 3.5 is out of range [0, 1]"));
  std::string neg = ErrorOf("job: {threads: -1}\n");
  EXPECT_THAT(neg, HasSubstr("job.threads: -1 is out of range [0, 1024]"));
  std::string huge = ErrorOf("job: {threads: 99999999999999999999}\n");
  EXPECT_THAT(huge, HasSubstr("does not fit"));
}

TEST(ConfigTest, EnumValuesAreCheckedWithSuggestion) {
  std::string e = ErrorOf("stages:\n  - {name: a, kind: grop}\n");
  EXPECT_THAT(e, HasSubstr("stages[0].kind: unknown value \"grop\""));
  EXPECT_THAT(e, HasSubstr("did you mean \"grpo\"?"));
}

TEST(ConfigTest, CrossFieldValidationNamesTheSection) {
  std::string e = ErrorOf("stages:\n  - {name: a, kind: grpo, samples_per_prompt: 1}\n");
  EXPECT_THAT(e, HasSubstr("stages[0]: a grpo stage needs samples_per_prompt >= 2"));
  std::string dup = ErrorOf("stages:\n  - {name: a}\n  - {name: a}\n");
  EXPECT_THAT(dup, HasSubstr("stage name \"a\" is used twice"));
  std::string level = ErrorOf("logging: {level: loud}\n");
  EXPECT_THAT(level, HasSubstr("logging: level \"loud\" is not one of"));
  std::string recheck = ErrorOf("stages:\n  - {name: a, kind: sft, protocol: single_turn, demo_recheck: true}\n");
  EXPECT_THAT(recheck, HasSubstr("stages[0]: demo_recheck shapes the synthetic self_correct demonstrations"));
  std::string verdict_only =
      ErrorOf("stages:\n  - {name: a, kind: sft, protocol: single_turn, demo_verdict_only_fraction: 0.5}\n");
  EXPECT_THAT(verdict_only, HasSubstr("stages[0]: demo_verdict_only_fraction shapes the synthetic self_correct"));
  auto ok = ParseRunConfig("stages:\n  - {name: a, kind: sft, protocol: self_correct, demo_recheck: true}\n", "job.yaml");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_TRUE(ok->stages[0].demo_recheck);
}

TEST(ConfigTest, ReportsEveryProblemAtOnce) {
  std::string e = ErrorOf("job: {seed: x, thread: 2}\nlogging: {verbosity: 99}\n");
  EXPECT_THAT(e, HasSubstr("job.seed"));
  EXPECT_THAT(e, HasSubstr("unknown key \"thread\""));
  EXPECT_THAT(e, HasSubstr("logging.verbosity"));
}

TEST(ConfigTest, YamlSyntaxErrorHasLocation) {
  std::string e = ErrorOf("job: {name: x\n");
  EXPECT_THAT(e, HasSubstr("job.yaml:"));
  EXPECT_THAT(e, HasSubstr("YAML syntax error"));
}

TEST(ConfigTest, MdpoStageFieldsHaveDefaultsAndAreChecked) {
  auto c = ParseRunConfig("stages:\n  - {name: m, kind: mdpo, protocol: self_correct}\n"
                          "  - {name: n, kind: mdpo, protocol: two_turn, mdpo_sets: [d3, d1], mdpo_eta: 0.5,"
                          " mdpo_nll_coef: 0.2, mdpo_continuations: 3}\n",
                          "job.yaml");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->stages[0].mdpo_sets, (std::vector<std::string>{"d1", "d2", "d3"}));
  EXPECT_DOUBLE_EQ(c->stages[0].mdpo_eta, 0.1);
  EXPECT_DOUBLE_EQ(c->stages[0].mdpo_nll_coef, 0.0);
  EXPECT_EQ(c->stages[0].mdpo_continuations, 2);
  EXPECT_EQ(c->stages[1].mdpo_sets, (std::vector<std::string>{"d3", "d1"}));
  EXPECT_DOUBLE_EQ(c->stages[1].mdpo_eta, 0.5);
  EXPECT_DOUBLE_EQ(c->stages[1].mdpo_nll_coef, 0.2);
  EXPECT_EQ(c->stages[1].mdpo_continuations, 3);
  auto again = ParseRunConfig(ResolvedConfigYaml(*c), "resolved.yaml");
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->stages[1].mdpo_sets, (std::vector<std::string>{"d3", "d1"}));

  const std::string head = "stages:\n  - {name: m, kind: mdpo, protocol: self_correct, ";
  EXPECT_THAT(ErrorOf(head + "mdpo_sets: [d1, d4]}\n"), HasSubstr("mdpo_sets[1]: \"d4\" is not one of d1, d2, d3"));
  EXPECT_THAT(ErrorOf(head + "mdpo_sets: [d2, d2]}\n"), HasSubstr("mdpo_sets[1]: \"d2\" is listed twice"));
  EXPECT_THAT(ErrorOf(head + "mdpo_sets: []}\n"), HasSubstr("mdpo_sets is empty"));
  EXPECT_THAT(ErrorOf(head + "mdpo_eta: 0}\n"), HasSubstr("mdpo_eta"));
  EXPECT_THAT(ErrorOf(head + "mdpo_nll_coef: -1}\n"), HasSubstr("mdpo_nll_coef"));
  EXPECT_THAT(ErrorOf(head + "mdpo_continuations: 0}\n"), HasSubstr("mdpo_continuations"));
  EXPECT_THAT(ErrorOf("stages:\n  - {name: m, kind: mdpo, protocol: single_turn}\n"),
              HasSubstr("stages[0]: an mdpo stage builds self-correction pairs: protocol must be self_correct or two_turn"));
}

TEST(ConfigOverrideTest, SetsNestedScalarsListsAndCreatesSections) {
  auto c = ParseRunConfig("job: {name: a}\nstages:\n  - {name: s1}\n", "job.yaml",
                          {"job.seed=99", "stages.0.steps=5", "logging.level=warning",
                           "cluster.rollout_workers=3"});
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->job.seed, 99);
  EXPECT_EQ(c->stages[0].steps, 5);
  EXPECT_EQ(c->logging.level, "warning");
  EXPECT_EQ(c->cluster.rollout_workers, 3);
  EXPECT_EQ(c->job.name, "a");
}

TEST(ConfigOverrideTest, LaterOverrideWins) {
  auto c = ParseRunConfig("", "job.yaml", {"job.seed=1", "job.seed=2"});
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->job.seed, 2);
}

TEST(ConfigOverrideTest, BadOverridesNameTheOverride) {
  EXPECT_THAT(ErrorOf("", {"job.seed"}), HasSubstr("--set job.seed: expected KEY.PATH=VALUE"));
  EXPECT_THAT(ErrorOf("", {"job.seed=abc"}),
              HasSubstr("--set job.seed=abc: job.seed: expected an integer"));
  EXPECT_THAT(ErrorOf("", {"job.sed=3"}), HasSubstr("did you mean \"seed\"?"));
  EXPECT_THAT(ErrorOf("stages: [{name: a}]\n", {"stages.4.steps=1"}),
              HasSubstr("index 4 is past the end"));
  EXPECT_THAT(ErrorOf("job: {name: a}\n", {"job.name.x=1"}), HasSubstr("is a value, not a section"));
}

TEST(ConfigRoundTripTest, ResolvedYamlReadsBackIdentically) {
  auto c = ParseRunConfig(
      "job: {name: rt, seed: 5}\nstages:\n  - {name: a, kind: eval, lr: 0.125}\n", "job.yaml");
  ASSERT_TRUE(c.ok());
  std::string text = ResolvedConfigYaml(*c);
  EXPECT_THAT(text, HasSubstr("# master seed"));
  // Each comment sits on its own field's line (scalars) or its section's key line.
  EXPECT_THAT(text, HasSubstr("seed: 5  # master seed"));
  EXPECT_THAT(text, HasSubstr("lr: 0.125  # "));
  EXPECT_THAT(text, HasSubstr("cluster:  # process layout"));
  auto again = ParseRunConfig(text, "resolved.yaml");
  ASSERT_TRUE(again.ok()) << again.status() << "\n" << text;
  EXPECT_EQ(ResolvedConfigYaml(*again), text);
  EXPECT_EQ(again->stages[0].kind, StageKind::kEval);
  EXPECT_DOUBLE_EQ(again->stages[0].lr, 0.125);
}

TEST(SuggestTest, ClosestWithinThreshold) {
  EXPECT_EQ(SuggestClosest("learnr", {"learner", "model"}).value_or(""), "learner");
  EXPECT_FALSE(SuggestClosest("xyz", {"learner", "model"}).has_value());
}

}  // namespace
}  // namespace scorch::config
