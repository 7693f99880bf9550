// The HTTP service end to end on the real, isolated grader (GraderPool): correct answers,
// pathological ones answered `error` within the deadline and counted apart, via curl.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "scorch/reward/grader_pool.h"
#include "scorch/reward/http_server.h"
#include "scorch/reward/reward_grader_oracle.h"
#include "scorch/reward/server_api.h"

namespace scorch::reward {
namespace {

using nlohmann::json;

std::string Curl(const std::string& args) {
  std::string out;
  FILE* p = popen(("curl -s -S --max-time 30 " + args + " 2>&1").c_str(), "r");
  if (p == nullptr) return out;
  std::array<char, 4096> buf;
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), p)) > 0) out.append(buf.data(), n);
  pclose(p);
  return out;
}

TEST(ServerOnGraderPoolTest, GradesThroughIsolatedWorkers) {
  // The pool forks before any server thread exists.
  GraderPoolOptions po;
  po.num_workers = 2;
  auto pool = GraderPool::Create(po);
  ASSERT_TRUE(pool.ok()) << pool.status();
  GraderPoolOracle oracle(pool->get());
  ServerMetrics metrics;
  auto api = RewardApi::Create({}, &oracle, &metrics);
  ASSERT_TRUE(api.ok()) << api.status();
  HttpServer server({}, [a = api->get()](const HttpRequest& r) { return a->Handle(r); }, &metrics);
  ASSERT_TRUE(server.Start().ok());
  std::string url = "http://127.0.0.1:" + std::to_string(server.port());

  json req = {{"query",
               {"Q: half? A: so \\boxed{\\dfrac{1}{2}}", "Q: big? A: \\boxed{2^{2^{2^{2^{2^{2}}}}}}",
                "Q: fact? A: \\boxed{((9!)!)!}", "Q: sq? A: \\boxed{2\\sqrt{2}}"}},
              {"prompts", {"Q: half? A:", "Q: big? A:", "Q: fact? A:", "Q: sq? A:"}},
              {"labels", {"0.5", "1", "1", "\\sqrt{8}"}}};
  std::string out = Curl("-X POST -H 'Content-Type: application/json' --data-binary '" + req.dump() + "' " +
                         url + "/get_reward");
  // A hang would hit curl's 30 s limit and fail the parse below (no wall-clock assertion).
  json j = json::parse(out, nullptr, false);
  ASSERT_FALSE(j.is_discarded()) << out;
  EXPECT_EQ(j["rewards"], json({1.0, 0.0, 0.0, 1.0})) << out;
  // The towers are refused before being computed: `error`, counted apart, wrong reward.
  EXPECT_EQ(j["extra_logs"]["grader_error"][1], 1.0) << out;
  EXPECT_EQ(j["extra_logs"]["grader_error"][2], 1.0) << out;
  EXPECT_EQ(metrics.VerdictCount(OracleVerdict::kError), 2u);
  EXPECT_EQ(metrics.VerdictCount(OracleVerdict::kCorrect), 2u);
  server.Stop();
}

}  // namespace
}  // namespace scorch::reward
