// FormatStatusText: scalars, tables for arrays of objects, sections for objects.
#include "scorch/inspect/status_view.h"

#include <gtest/gtest.h>

namespace scorch::inspect {
namespace {

using nlohmann::json;

TEST(StatusViewTest, RendersScalarsTablesAndSections) {
  json s = {{"stage", "grpo"},
            {"step", 120},
            {"uptime_s", 3600.5},
            {"workers",
             json::array({{{"id", "rollout-0"}, {"leases", 3}, {"last_heartbeat_s", 0.25}},
                          {{"id", "rollout-1"}, {"leases", 0}, {"state", "draining"}}})},
            {"queues", {{"pending_prompts", 17}, {"results", 2}}},
            {"last_metrics", {{"reward/mean", 0.5}, {"kl", {{"k3", 0.001}}}}},
            {"empty", json::object()}};
  const std::string text = FormatStatusText(s);
  EXPECT_NE(text.find("stage:    grpo\nstep:     120\nuptime_s: 3600\n"), std::string::npos) << text;
  EXPECT_NE(text.find("workers (2):\n  id         last_heartbeat_s  leases  state\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  rollout-0  0.25              3       -\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  rollout-1  -                 0       draining\n"), std::string::npos) << text;
  EXPECT_NE(text.find("queues:\n  pending_prompts  17\n  results          2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("  kl.k3        0.001\n"), std::string::npos) << text;
  EXPECT_NE(text.find("empty:\n  (empty)\n"), std::string::npos) << text;
  EXPECT_EQ(FormatStatusText(json("odd")), "odd\n");
}

}  // namespace
}  // namespace scorch::inspect
