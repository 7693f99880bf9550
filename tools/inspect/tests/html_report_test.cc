// The HTML report as text: one chart per key metric with one series path each, placeholders
// for metrics without data, escaping, trajectories marked by segment kind, no network.
#include <gtest/gtest.h>

#include <regex>

#include "run_fixture.h"
#include "scorch/inspect/html_report.h"

namespace scorch::inspect {
namespace {

namespace fs = std::filesystem;

size_t Count(const std::string& hay, const std::string& needle) {
  size_t n = 0;
  for (size_t p = hay.find(needle); p != std::string::npos; p = hay.find(needle, p + 1)) ++n;
  return n;
}

TEST(HtmlReportTest, ChartsTablesAndTrajectories) {
  auto root = testing::TempRunDir("html");
  ASSERT_NO_FATAL_FAILURE(testing::WriteFixtureRun(root));
  auto run = LoadRun(root);
  ASSERT_TRUE(run.ok());
  const std::string html = RenderHtmlReport(*run, SummarizeRun(*run));
  EXPECT_EQ(Count(html, "<svg class=\"chart\""), KeyMetrics().size());
  EXPECT_EQ(Count(html, "<path class=\"series\""), KeyMetrics().size());
  for (const auto& k : KeyMetrics()) {
    EXPECT_NE(html.find("aria-label=\"" + k + "\""), std::string::npos) << k;
  }
  EXPECT_EQ(html.find("no data"), std::string::npos);
  // Stage boundary drawn once per chart (sft → grpo).
  EXPECT_EQ(Count(html, "class=\"stage\""), KeyMetrics().size());
  EXPECT_NE(html.find("eval_grpo"), std::string::npos);
  EXPECT_NE(html.find("<tr class=\"best\">"), std::string::npos);
  EXPECT_NE(html.find("step-000040"), std::string::npos);
  EXPECT_NE(html.find("grader/errors &gt; 0"), std::string::npos);
  // Trajectories: 2 sampled steps × 6, every kind marked, model text escaped.
  EXPECT_EQ(Count(html, "<details class=\"traj\""), 12u);
  for (const char* cls : {"seg-prompt", "seg-attempt", "seg-verify", "seg-instruction"}) {
    EXPECT_GE(Count(html, std::string("<div class=\"seg ") + cls), 12u) << cls;
  }
  EXPECT_NE(html.find("&lt;b&gt;bold?&lt;/b&gt; &amp; more"), std::string::npos);
  EXPECT_EQ(html.find("<b>bold?</b>"), std::string::npos);
  // Self-contained: nothing fetched from elsewhere.
  EXPECT_EQ(html.find("http://"), std::string::npos);
  EXPECT_EQ(html.find("https://"), std::string::npos);
  EXPECT_EQ(html.find("<script"), std::string::npos);
  EXPECT_EQ(html.find("<link"), std::string::npos);

  HtmlReportOptions small;
  small.trajectories_per_file = 2;
  small.rollout_files = 1;
  small.max_segment_chars = 10;
  const std::string cut = RenderHtmlReport(*run, SummarizeRun(*run), small);
  EXPECT_EQ(Count(cut, "<details class=\"traj\""), 2u);
  EXPECT_NE(cut.find("first 2 shown"), std::string::npos);
  EXPECT_NE(cut.find("[… cut]"), std::string::npos);
  fs::remove_all(root);
}

TEST(HtmlReportTest, ChartGapsPlaceholdersAndSinglePoints) {
  using nlohmann::json;
  std::vector<json> m = {
      {{"step", 1}, {"stage", "a"}, {"x", 1.0}},
      {{"step", 2}, {"stage", "a"}, {"x", 2.0}},
      {{"step", 3}, {"stage", "b"}},  // gap
      {{"step", 4}, {"stage", "b"}, {"x", 3.0}},
      {{"step", 5}, {"stage", "b"}, {"x", 4.0}, {"y", 7.0}},
  };
  const std::string svg = RenderChartSvg(m, "x");
  std::smatch d;
  ASSERT_TRUE(std::regex_search(svg, d, std::regex("<path class=\"series\" d=\"([^\"]*)\"")));
  EXPECT_EQ(Count(d[1].str(), "M"), 2u) << d[1];  // broken at the gap
  EXPECT_EQ(Count(d[1].str(), "L"), 2u) << d[1];
  EXPECT_EQ(Count(svg, "class=\"stage\""), 1u);
  const std::string single = RenderChartSvg(m, "y");
  EXPECT_NE(single.find("h1"), std::string::npos) << single;  // a lone point stays visible
  const std::string none = RenderChartSvg(m, "z");
  EXPECT_EQ(none.find("<path"), std::string::npos);
  EXPECT_NE(none.find("no data"), std::string::npos);
  // An empty KL chart says why: KL is measured against a reference only kl_beta > 0 keeps.
  EXPECT_NE(RenderChartSvg(m, "kl/k3").find("kl_beta &gt; 0"), std::string::npos);
  EXPECT_EQ(RenderChartSvg({}, "x").find("<path"), std::string::npos);
  // Records without a step are ignored rather than trusted.
  m.push_back({{"stage", "b"}, {"x", 100.0}});
  m.push_back(json::array());
  EXPECT_EQ(RenderChartSvg(m, "x"), svg);
}

TEST(HtmlReportTest, WriteHtmlReportReportsUnwritablePaths) {
  auto root = testing::TempRunDir("html_write");
  ASSERT_NO_FATAL_FAILURE(testing::WriteFixtureRun(root));
  auto run = LoadRun(root);
  ASSERT_TRUE(run.ok());
  ASSERT_TRUE(WriteHtmlReport(*run, root / "report.html").ok());
  EXPECT_GT(fs::file_size(root / "report.html"), 10000u);
  auto bad = WriteHtmlReport(*run, root / "no_such_dir" / "report.html");
  EXPECT_EQ(bad.code(), StatusCode::kIoError);
  EXPECT_EQ(HtmlEscape("<a href=\"x\">'&'</a>"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;");
  fs::remove_all(root);
}

}  // namespace
}  // namespace scorch::inspect
