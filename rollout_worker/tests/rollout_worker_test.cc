// RolloutWorker over inproc ZeroMQ with a scripted model: Hello, requests in, trajectories
// out, heartbeats, weight swaps only between sequences (drain), errors, drained shutdown.
#include "scorch/rollout/rollout_worker.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "scorch/common/transport/router.h"
#include "test_support.h"

namespace scorch::rollout {
namespace {

using namespace std::chrono_literals;

class WorkerTest : public ::testing::Test {
 protected:
  // Receives until a message of type T arrives (skipping heartbeats), or fails after 10 s.
  template <typename T>
  std::optional<T> Expect(transport::Router& router, std::string* peer = nullptr) {
    for (int i = 0; i < 1000; ++i) {
      auto in = router.Receive(10ms);
      EXPECT_TRUE(in.ok()) << in.status();
      if (!in.ok()) return std::nullopt;
      if (!*in) continue;
      if (auto* hb = std::get_if<proto::Heartbeat>(&(*in)->message)) {
        heartbeats_.push_back(*hb);
        continue;
      }
      if (peer) *peer = (*in)->peer;
      if (auto* t = std::get_if<T>(&(*in)->message)) return *t;
      ADD_FAILURE() << "unexpected message " << proto::MessageTypeName((*in)->message);
      return std::nullopt;
    }
    ADD_FAILURE() << "timed out";
    return std::nullopt;
  }

  proto::GenerateRequest Req(uint64_t lease, int n) {
    proto::GenerateRequest r;
    r.lease_id = lease;
    r.prompt_text = std::to_string(n);  // the script answers n characters
    r.protocol = "single_turn";
    r.sampling.temperature = 0.0f;
    r.sampling.max_new_tokens = 100;
    return r;
  }

  std::unique_ptr<model::CharTokenizer> tok_ = model::CharTokenizer::CreateDefault();
  std::vector<proto::Heartbeat> heartbeats_;
};

TEST_F(WorkerTest, ServesRequestsSwapsWeightsBetweenSequencesAndDrains) {
  auto router = transport::Router::Bind("inproc://rollout-worker-test");
  ASSERT_TRUE(router.ok()) << router.status();
  // Prompt text ends with "{n}<suffix>": answer n 'x' then <|im_end|>.
  const std::string suffix = kEvalUserSuffix + std::string("<|im_end|>\n<|im_start|>assistant\n");
  ScriptedStepModel model({2, 4096, 101, 2}, [&](std::span<const TokenId> prompt) {
    std::string p = testing::Dec(*tok_, prompt);
    p = p.substr(0, p.size() - suffix.size());
    const int n = std::stoi(p.substr(p.rfind('\n') + 1));
    auto plan = testing::Enc(*tok_, std::string(static_cast<size_t>(n), 'x'));
    plan.push_back(2);
    return plan;
  });
  Generator gen(model, *tok_);
  RolloutEngine engine(gen, *tok_, {});
  std::vector<std::pair<int64_t, bool>> swaps;  // (version, engine idle at the swap)
  RolloutWorkerConfig cfg;
  cfg.endpoint = "inproc://rollout-worker-test";
  cfg.identity = "rollout-0";
  cfg.capacity = 4;
  cfg.heartbeat_interval = 5ms;
  cfg.idle_poll = 5ms;
  RolloutWorker worker(cfg, engine, [&](const proto::WeightsAnnounce& w) {
    swaps.emplace_back(w.version, engine.Idle());
    return w.location == "bad" ? Status::IoError("cannot read bad") : Status::Ok();
  });
  Status result = Status::Internal("not run");
  std::thread t([&] { result = worker.Run(); });

  std::string peer;
  auto hello = Expect<proto::Hello>(**router, &peer);
  ASSERT_TRUE(hello);
  EXPECT_EQ(hello->role, proto::Role::kRollout);
  EXPECT_EQ(hello->capacity, 4);
  EXPECT_EQ(hello->policy_version, 0);
  EXPECT_EQ(peer, "rollout-0");

  // A (long) before the announcement, B (short) after it: A finishes under version 0, the
  // swap waits for it, B runs under version 5.
  ASSERT_TRUE((*router)->Send(peer, Req(1, 40)).ok());
  proto::WeightsAnnounce w;
  w.version = 5;
  w.location = "/weights/5";
  ASSERT_TRUE((*router)->Send(peer, w).ok());
  ASSERT_TRUE((*router)->Send(peer, Req(2, 3)).ok());
  auto a = Expect<proto::Trajectory>(**router);
  auto b = Expect<proto::Trajectory>(**router);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->lease_id, 1u);
  EXPECT_EQ(a->policy_version, 0);
  EXPECT_EQ(a->segments.back().text, std::string(40, 'x') + "<|im_end|>");
  EXPECT_EQ(b->lease_id, 2u);
  EXPECT_EQ(b->policy_version, 5);
  ASSERT_EQ(swaps.size(), 1u);
  EXPECT_EQ(swaps[0], std::make_pair(int64_t{5}, true));

  // A bad request gets an Error naming its lease; the worker carries on.
  auto bad = Req(3, 1);
  bad.protocol = "no_such_protocol";
  ASSERT_TRUE((*router)->Send(peer, bad).ok());
  auto err = Expect<proto::Error>(**router);
  ASSERT_TRUE(err);
  EXPECT_NE(err->in_reply_to.find("lease 3"), std::string::npos);
  EXPECT_NE(err->message.find("no_such_protocol"), std::string::npos);

  // Drained shutdown: C, sent before Shutdown, is still answered.
  ASSERT_TRUE((*router)->Send(peer, Req(4, 20)).ok());
  ASSERT_TRUE((*router)->Send(peer, proto::Shutdown{"test", true}).ok());
  auto c = Expect<proto::Trajectory>(**router);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->lease_id, 4u);
  t.join();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_EQ(worker.stats().trajectories, 3);
  EXPECT_EQ(worker.stats().rejected, 1);
  EXPECT_FALSE(heartbeats_.empty());
  for (size_t i = 1; i < heartbeats_.size(); ++i) EXPECT_EQ(heartbeats_[i].seq, heartbeats_[i - 1].seq + 1);
}

TEST_F(WorkerTest, FailedWeightLoadStopsTheWorkerWithTheError) {
  auto router = transport::Router::Bind("inproc://rollout-worker-test-2");
  ASSERT_TRUE(router.ok());
  ScriptedStepModel model({1, 256, 101, 2}, nullptr);
  Generator gen(model, *tok_);
  RolloutEngine engine(gen, *tok_, {});
  RolloutWorkerConfig cfg;
  cfg.endpoint = "inproc://rollout-worker-test-2";
  cfg.identity = "rollout-1";
  cfg.idle_poll = 5ms;
  RolloutWorker worker(cfg, engine, [](const proto::WeightsAnnounce&) { return Status::IoError("cannot read bad"); });
  Status result = Status::Ok();
  std::thread t([&] { result = worker.Run(); });
  std::string peer;
  ASSERT_TRUE(Expect<proto::Hello>(**router, &peer));
  proto::WeightsAnnounce w;
  w.version = 2;
  ASSERT_TRUE((*router)->Send(peer, w).ok());
  t.join();
  EXPECT_EQ(result.code(), StatusCode::kIoError);
  EXPECT_NE(result.message().find("version 2"), std::string::npos) << result;
}

}  // namespace
}  // namespace scorch::rollout
