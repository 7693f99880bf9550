// GradeClient tests against a scripted fake reward ROUTER on its own thread (inproc, private
// context): matching replies, per-try timeouts with fresh sockets, stale replies, bounded
// retries, error replies and malformed replies.
#include "scorch/orchestrator/grade_client.h"

#include <gtest/gtest.h>

#include <atomic>
#include <functional>
#include <mutex>
#include <set>
#include <thread>
#include <zmq.hpp>

#include "scorch/common/transport/router.h"

namespace scorch::orchestrator {
namespace {

using namespace std::chrono_literals;

proto::GradeRequest Request(int items, uint64_t id = 77) {
  proto::GradeRequest r;
  r.request_id = id;
  for (int i = 0; i < items; ++i) {
    proto::GradeItem item;
    item.step = 3;
    item.prompt_id = 10 + i;
    item.sample_idx = i % 2;
    item.lease_id = 100 + static_cast<uint64_t>(i);
    item.gold_answer = std::to_string(i);
    item.turns.push_back({0, proto::SegmentKind::kAttempt, "\\boxed{" + std::to_string(i) + "}"});
    r.items.push_back(item);
  }
  return r;
}

proto::GradeReply Answer(const proto::GradeRequest& r) {
  proto::GradeReply reply;
  reply.request_id = r.request_id;
  for (const auto& item : r.items) {
    proto::GradeResult g;
    g.step = item.step;
    g.prompt_id = item.prompt_id;
    g.sample_idx = item.sample_idx;
    g.lease_id = item.lease_id;
    g.final_verdict = proto::Verdict::kCorrect;
    g.reward = 1.0 + static_cast<double>(item.prompt_id);
    reply.items.push_back(g);
  }
  return reply;
}

// What the fake service does with its n-th request (0-based): the messages to send back (to
// the peer that sent it, or — when `to_first_peer` — to the peer of the first request).
struct Script {
  std::vector<proto::Message> replies;
  bool to_first_peer = false;
};
using ScriptFn = std::function<std::vector<Script>(const proto::GradeRequest&, int n)>;

class FakeRewardService {
 public:
  FakeRewardService(zmq::context_t& ctx, const std::string& endpoint, ScriptFn script)
      : script_(std::move(script)) {
    auto r = transport::Router::Bind(endpoint, {}, &ctx);
    EXPECT_TRUE(r.ok()) << r.status();
    router_ = std::move(r).value();
    thread_ = std::thread([this] { Run(); });
  }
  ~FakeRewardService() {
    stop_ = true;
    thread_.join();
  }
  int requests() const { return requests_; }
  size_t peers() const {
    std::lock_guard<std::mutex> l(mu_);
    return peers_.size();
  }

 private:
  void Run() {
    std::string first_peer;
    while (!stop_) {
      auto in = router_->Receive(1ms);
      if (!in.ok()) return;
      if (!*in) continue;
      auto* req = std::get_if<proto::GradeRequest>(&(*in)->message);
      if (req == nullptr) continue;
      const int n = requests_++;
      if (n == 0) first_peer = (*in)->peer;
      {
        std::lock_guard<std::mutex> l(mu_);
        peers_.insert((*in)->peer);
      }
      for (const Script& s : script_(*req, n)) {
        for (const auto& m : s.replies) {
          // A send to a peer that is gone fails (ROUTER_MANDATORY): that is the point.
          (void)router_->Send(s.to_first_peer ? first_peer : (*in)->peer, m);
        }
      }
    }
  }
  ScriptFn script_;
  std::unique_ptr<transport::Router> router_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  mutable std::mutex mu_;
  std::set<std::string> peers_;
  std::thread thread_;
};

GradeClientOptions Options(const std::string& endpoint) {
  GradeClientOptions o;
  o.endpoint = endpoint;
  o.try_timeout = 100ms;
  o.max_tries = 3;
  o.retry_backoff = 1ms;
  return o;
}

std::unique_ptr<GradeClient> MustConnect(const GradeClientOptions& o, zmq::context_t& ctx) {
  auto c = GradeClient::Connect(o, &ctx);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? std::move(c).value() : nullptr;
}

TEST(GradeClientTest, RefusesBadOptions) {
  zmq::context_t ctx(1);
  GradeClientOptions o = Options("inproc://grade-bad");
  o.max_tries = 0;
  auto c = GradeClient::Connect(o, &ctx);
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("max_tries"), std::string::npos);
  o = Options("");
  EXPECT_TRUE(GradeClient::Connect(o, &ctx).status().IsInvalidArgument());
  o = Options("bogus://x");
  EXPECT_FALSE(GradeClient::Connect(o, &ctx).ok());
}

TEST(GradeClientTest, ReplyIsCheckedAndKeepsTheCallersRequestId) {
  zmq::context_t ctx(1);
  FakeRewardService service(ctx, "inproc://grade-ok", [](const proto::GradeRequest& r, int) {
    return std::vector<Script>{{{Answer(r)}}};
  });
  auto client = MustConnect(Options("inproc://grade-ok"), ctx);
  for (int call = 0; call < 3; ++call) {
    auto reply = client->Grade(Request(4, 77 + call));
    ASSERT_TRUE(reply.ok()) << reply.status();
    EXPECT_EQ(reply->request_id, 77u + call);
    ASSERT_EQ(reply->items.size(), 4u);
    EXPECT_EQ(reply->items[2].prompt_id, 12);
    EXPECT_EQ(reply->items[2].reward, 13.0);
  }
  EXPECT_EQ(client->stats().tries, 3);
  EXPECT_EQ(client->stats().timeouts, 0);
  EXPECT_EQ(service.peers(), 1u);  // one socket while nothing goes wrong
}

TEST(GradeClientTest, ATimedOutTryIsRetriedOnAFreshSocketAndItsLateReplyNeverSeen) {
  zmq::context_t ctx(1);
  proto::GradeRequest first_seen;
  FakeRewardService service(ctx, "inproc://grade-retry", [&](const proto::GradeRequest& r, int n) {
    if (n == 0) {
      first_seen = r;
      return std::vector<Script>{};  // dropped: the client times out
    }
    // The first try's reply finally goes out (to the old socket), then the real one.
    return std::vector<Script>{{{Answer(first_seen)}, true}, {{Answer(r)}}};
  });
  auto client = MustConnect(Options("inproc://grade-retry"), ctx);
  auto reply = client->Grade(Request(2));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->request_id, 77u);
  EXPECT_EQ(client->stats().tries, 2);
  EXPECT_EQ(client->stats().timeouts, 1);
  EXPECT_EQ(client->stats().reconnects, 1);
  EXPECT_EQ(client->stats().stale_replies, 0);  // the old socket was gone
  EXPECT_EQ(service.peers(), 2u);
}

TEST(GradeClientTest, StaleRepliesAreDropped) {
  zmq::context_t ctx(1);
  FakeRewardService service(ctx, "inproc://grade-stale", [](const proto::GradeRequest& r, int) {
    proto::GradeReply stale = Answer(r);
    stale.request_id = r.request_id + 12345;
    stale.items.clear();
    proto::StepStats noise;
    return std::vector<Script>{{{stale, noise, Answer(r)}}};
  });
  auto client = MustConnect(Options("inproc://grade-stale"), ctx);
  auto reply = client->Grade(Request(3));
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->items.size(), 3u);
  EXPECT_EQ(client->stats().stale_replies, 2);
  EXPECT_EQ(client->stats().tries, 1);
}

TEST(GradeClientTest, GivesUpWithAClearErrorAfterTheLastTry) {
  zmq::context_t ctx(1);
  FakeRewardService service(ctx, "inproc://grade-dead",
                            [](const proto::GradeRequest&, int) { return std::vector<Script>{}; });
  GradeClientOptions o = Options("inproc://grade-dead");
  o.try_timeout = 50ms;
  auto client = MustConnect(o, ctx);
  const auto start = std::chrono::steady_clock::now();
  auto reply = client->Grade(Request(1));
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(reply.status().IsDeadlineExceeded()) << reply.status();
  EXPECT_NE(reply.status().message().find("after 3 tries of 50 ms"), std::string::npos)
      << reply.status();
  EXPECT_NE(reply.status().message().find("inproc://grade-dead"), std::string::npos);
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 3s);
  EXPECT_EQ(service.requests(), 3);
  EXPECT_EQ(client->stats().timeouts, 3);
}

TEST(GradeClientTest, ServiceErrorsEndTheCallUnlessTheServiceIsBusy) {
  zmq::context_t ctx(1);
  FakeRewardService service(ctx, "inproc://grade-error", [](const proto::GradeRequest& r, int n) {
    if (r.items.size() == 1) {
      return std::vector<Script>{{{proto::Error{1, "unknown protocol 'zzz'", "GradeRequest"}}}};
    }
    if (n == 1) return std::vector<Script>{{{proto::Error{6, "busy", "GradeRequest"}}}};
    return std::vector<Script>{{{Answer(r)}}};
  });
  auto client = MustConnect(Options("inproc://grade-error"), ctx);
  auto bad = client->Grade(Request(1));
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument());
  EXPECT_NE(bad.status().message().find("unknown protocol 'zzz'"), std::string::npos);
  EXPECT_EQ(service.requests(), 1);  // not retried
  auto busy_then_ok = client->Grade(Request(2));
  ASSERT_TRUE(busy_then_ok.ok()) << busy_then_ok.status();
  EXPECT_EQ(service.requests(), 3);
  EXPECT_EQ(client->stats().errors, 2);
}

TEST(GradeClientTest, AReplyThatDoesNotMatchTheRequestIsAnInternalError) {
  zmq::context_t ctx(1);
  FakeRewardService service(ctx, "inproc://grade-mismatch", [](const proto::GradeRequest& r, int n) {
    proto::GradeReply reply = Answer(r);
    if (n == 0) {
      reply.items.pop_back();
    } else {
      reply.items[1].lease_id = 999;
    }
    return std::vector<Script>{{{reply}}};
  });
  auto client = MustConnect(Options("inproc://grade-mismatch"), ctx);
  auto short_reply = client->Grade(Request(3));
  ASSERT_FALSE(short_reply.ok());
  EXPECT_EQ(short_reply.status().code(), StatusCode::kInternal);
  EXPECT_NE(short_reply.status().message().find("2 results for 3 items"), std::string::npos);
  auto wrong_ids = client->Grade(Request(3));
  ASSERT_FALSE(wrong_ids.ok());
  EXPECT_NE(wrong_ids.status().message().find("items[1]"), std::string::npos) << wrong_ids.status();
}

TEST(GradeClientTest, AnInvalidRequestIsRefusedWithoutSending) {
  zmq::context_t ctx(1);
  FakeRewardService service(ctx, "inproc://grade-invalid", [](const proto::GradeRequest& r, int) {
    return std::vector<Script>{{{Answer(r)}}};
  });
  auto client = MustConnect(Options("inproc://grade-invalid"), ctx);
  proto::GradeRequest r = Request(2);
  r.items[1].max_new_tokens = -5;
  auto reply = client->Grade(r);
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(reply.status().IsInvalidArgument());
  EXPECT_NE(reply.status().message().find("max_new_tokens"), std::string::npos);
  EXPECT_EQ(client->stats().tries, 0);
  EXPECT_EQ(service.requests(), 0);
}

}  // namespace
}  // namespace scorch::orchestrator
