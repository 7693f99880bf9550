// Dispatcher tests: fake rollout workers and a fake learner (DEALER peers on their own
// threads, written here) talk to a real Dispatcher over inproc:// in a private ZeroMQ
// context. Timeouts are short (tens to hundreds of ms) and faults are scripted; lease expiry
// is driven by an injected clock that the fake worker moves forward, so nothing sleeps.
#include "scorch/orchestrator/dispatcher.h"

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <zmq.hpp>

#include "scorch/common/transport/dealer.h"

namespace scorch::orchestrator {
namespace {

using namespace std::chrono_literals;
using Ms = std::chrono::milliseconds;

// Real time plus an offset a test can move forward (so the dispatcher's clock can jump
// while its socket waits stay real and short).
struct OffsetClock {
  std::atomic<int64_t> offset_ns{0};
  void Advance(std::chrono::nanoseconds d) { offset_ns += d.count(); }
  transport::NowFn fn() {
    return [this] { return transport::SteadyNow() + std::chrono::nanoseconds(offset_ns.load()); };
  }
};

proto::GenerateRequest Request(int64_t step, int64_t prompt, int32_t sample) {
  proto::GenerateRequest r;
  r.step = step;
  r.prompt_id = prompt;
  r.sample_idx = sample;
  r.prompt_text = "What is " + std::to_string(prompt) + " + 1?";
  r.protocol = "single";
  return r;
}

// A trajectory that encodes its item in its tokens, so a test can check it was not mixed up.
proto::Trajectory Canned(const proto::GenerateRequest& r, int64_t version) {
  proto::Trajectory t;
  t.step = r.step;
  t.prompt_id = r.prompt_id;
  t.sample_idx = r.sample_idx;
  t.lease_id = r.lease_id;
  t.policy_version = version;
  t.token_ids = {static_cast<int32_t>(r.prompt_id), r.sample_idx, static_cast<int32_t>(r.step)};
  t.logprobs = {0.0f, -0.5f, -0.25f};
  t.trainable_mask = {0, 1, 1};
  return t;
}

enum class Act { kAnswer, kHold, kError, kRefuse };

struct FakeWorkerConfig {
  std::string identity{};
  int capacity = 2;
  int64_t version = 0;
  std::optional<std::string> token{};
  Ms heartbeat{5};
  Ms answer_after{0};               // held requests are answered once this old (0: only on Release)
  bool reverse = false;             // answer held requests newest first
  bool silent_after_first = false;  // stop heartbeats and answers after the first request
  std::function<Act(const proto::GenerateRequest&)> policy{};  // default: answer at once
};

// A rollout worker: says Hello, heartbeats, answers requests as its policy says.
class FakeWorker {
 public:
  FakeWorker(zmq::context_t& ctx, std::string endpoint, FakeWorkerConfig cfg)
      : ctx_(ctx), endpoint_(std::move(endpoint)), cfg_(std::move(cfg)), thread_([this] { Run(); }) {}
  ~FakeWorker() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  // Answers every held request now (late, if the worker was declared lost) and speaks again.
  void Release() { release_ = true; }

  int received() const { return received_; }
  int answered() const { return answered_; }
  int max_outstanding() const { return max_outstanding_; }
  std::vector<proto::WeightsAnnounce> announces() const {
    std::lock_guard<std::mutex> l(mu_);
    return announces_;
  }
  std::vector<proto::Error> errors() const {
    std::lock_guard<std::mutex> l(mu_);
    return errors_;
  }
  std::vector<proto::Shutdown> shutdowns() const {
    std::lock_guard<std::mutex> l(mu_);
    return shutdowns_;
  }

 private:
  void Answer(transport::Dealer& d, const proto::GenerateRequest& r) {
    --outstanding_;
    ++answered_;  // counted before sending: the test may look as soon as the result lands
    ASSERT_TRUE(d.Send(Canned(r, version_)).ok());
  }
  void AnswerHeld(transport::Dealer& d) {
    while (!held_.empty()) {
      auto r = cfg_.reverse ? held_.back().first : held_.front().first;
      cfg_.reverse ? held_.pop_back() : held_.pop_front();
      Answer(d, r);
    }
  }

  void Run() {
    transport::DealerOptions opts;
    opts.identity = cfg_.identity;
    auto dealer = transport::Dealer::Connect(endpoint_, opts, &ctx_);
    ASSERT_TRUE(dealer.ok()) << dealer.status();
    auto& d = **dealer;
    version_ = cfg_.version;
    proto::Hello hello;
    hello.role = proto::Role::kRollout;
    hello.capacity = cfg_.capacity;
    hello.policy_version = version_;
    hello.token = cfg_.token;
    hello.host = "test";
    ASSERT_TRUE(d.Send(hello).ok());
    auto next_hb = std::chrono::steady_clock::now();
    uint64_t seq = 0;
    while (!stop_) {
      auto in = d.Receive(1ms);
      if (!in.ok()) return;
      if (*in) {
        proto::Message& m = **in;
        if (auto* r = std::get_if<proto::GenerateRequest>(&m)) {
          ++received_;
          max_outstanding_ = std::max(max_outstanding_.load(), ++outstanding_);
          const Act act = cfg_.policy ? cfg_.policy(*r) : Act::kAnswer;
          if (cfg_.silent_after_first && !went_silent_) silent_ = went_silent_ = true;
          if (silent_ || act == Act::kHold || (act == Act::kAnswer && cfg_.answer_after > 0ms)) {
            held_.emplace_back(*r, std::chrono::steady_clock::now());
          } else if (act == Act::kAnswer) {
            Answer(d, *r);
          } else {
            proto::Error e;
            e.code = static_cast<int32_t>(act == Act::kRefuse ? StatusCode::kUnavailable
                                                             : StatusCode::kInvalidArgument);
            e.message = act == Act::kRefuse ? "shutting down" : "bad request";
            e.in_reply_to = "GenerateRequest lease " + std::to_string(r->lease_id);
            ASSERT_TRUE(d.Send(e).ok());
            --outstanding_;
          }
        } else if (auto* w = std::get_if<proto::WeightsAnnounce>(&m)) {
          version_ = w->version;
          std::lock_guard<std::mutex> l(mu_);
          announces_.push_back(*w);
        } else if (auto* e = std::get_if<proto::Error>(&m)) {
          std::lock_guard<std::mutex> l(mu_);
          errors_.push_back(*e);
        } else if (auto* s = std::get_if<proto::Shutdown>(&m)) {
          {
            std::lock_guard<std::mutex> l(mu_);
            shutdowns_.push_back(*s);
          }
          if (s->drain) AnswerHeld(d);
          return;
        }
      }
      if (release_.exchange(false)) {
        silent_ = false;
        AnswerHeld(d);
      }
      const auto now = std::chrono::steady_clock::now();
      if (!silent_ && cfg_.answer_after > 0ms && !held_.empty() &&
          now - held_.front().second >= cfg_.answer_after) {
        AnswerHeld(d);
      }
      if (!silent_ && now >= next_hb) {
        proto::Heartbeat hb;
        hb.seq = seq++;
        hb.in_flight = outstanding_;
        hb.policy_version = version_;
        ASSERT_TRUE(d.Send(hb).ok());
        next_hb = now + cfg_.heartbeat;
      }
    }
  }

  zmq::context_t& ctx_;
  std::string endpoint_;
  FakeWorkerConfig cfg_;
  std::atomic<bool> stop_{false}, silent_{false}, release_{false};
  std::atomic<int> received_{0}, answered_{0}, outstanding_{0}, max_outstanding_{0};
  int64_t version_ = 0;
  bool went_silent_ = false;
  std::deque<std::pair<proto::GenerateRequest, std::chrono::steady_clock::time_point>> held_;
  mutable std::mutex mu_;
  std::vector<proto::WeightsAnnounce> announces_;
  std::vector<proto::Error> errors_;
  std::vector<proto::Shutdown> shutdowns_;
  std::thread thread_;  // last: starts after every other member exists
};

// A learner rank 0: answers a TrainBatch with StepStats then WeightsAnnounce; stage "bad" is
// refused with an Error, stage "slow" is never answered, an empty batch gets StepStats only.
class FakeLearner {
 public:
  FakeLearner(zmq::context_t& ctx, std::string endpoint)
      : ctx_(ctx), endpoint_(std::move(endpoint)), thread_([this] { Run(); }) {}
  ~FakeLearner() {
    stop_ = true;
    thread_.join();
  }
  int batches() const { return batches_; }

 private:
  void Run() {
    auto dealer = transport::Dealer::Connect(endpoint_, {}, &ctx_);
    ASSERT_TRUE(dealer.ok());
    auto& d = **dealer;
    proto::Hello hello;
    hello.role = proto::Role::kLearner;
    ASSERT_TRUE(d.Send(hello).ok());
    while (!stop_) {
      auto in = d.Receive(1ms);
      if (!in.ok()) return;
      if (!*in) continue;
      auto* b = std::get_if<proto::TrainBatch>(&**in);
      if (b == nullptr) continue;
      ++batches_;
      if (b->stage == "slow") continue;
      if (b->stage == "bad") {
        ASSERT_TRUE(d.Send(proto::Error{1, "unknown stage 'bad'", "TrainBatch"}).ok());
        continue;
      }
      proto::StepStats stats;
      stats.step = b->step;
      stats.metrics["samples"] = static_cast<double>(b->samples.size());
      ASSERT_TRUE(d.Send(stats).ok());
      if (b->samples.empty()) continue;
      proto::WeightsAnnounce w;
      w.version = b->step + 1;
      w.location = "/tmp/weights-" + std::to_string(w.version);
      ASSERT_TRUE(d.Send(w).ok());
    }
  }
  zmq::context_t& ctx_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<int> batches_{0};
  std::thread thread_;
};

DispatcherOptions FastOptions(const std::string& name) {
  DispatcherOptions o;
  o.endpoint = "inproc://dispatcher-test-" + name;
  o.poll_interval = 2ms;
  o.heartbeat_timeout = 10s;
  o.lease_timeout = 30s;
  o.stall_timeout = 5s;
  o.train_timeout = 5s;
  return o;
}

std::unique_ptr<Dispatcher> MustBind(const DispatcherOptions& o, zmq::context_t& ctx) {
  auto d = Dispatcher::Bind(o, &ctx);
  EXPECT_TRUE(d.ok()) << d.status();
  return d.ok() ? std::move(d).value() : nullptr;
}

// Waits (polling the flag, bounded) for something a fake peer thread does.
bool Eventually(const std::function<bool()>& cond, Ms limit = 5s) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!cond()) {
    if (std::chrono::steady_clock::now() > end) return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

void ExpectMatches(const std::vector<proto::GenerateRequest>& requests,
                   const std::vector<proto::Trajectory>& out) {
  ASSERT_EQ(out.size(), requests.size());
  for (size_t i = 0; i < out.size(); ++i) {
    EXPECT_EQ(out[i].step, requests[i].step) << i;
    EXPECT_EQ(out[i].prompt_id, requests[i].prompt_id) << i;
    EXPECT_EQ(out[i].sample_idx, requests[i].sample_idx) << i;
    ASSERT_EQ(out[i].token_ids.size(), 3u);
    EXPECT_EQ(out[i].token_ids[0], requests[i].prompt_id) << i;
    EXPECT_EQ(out[i].token_ids[1], requests[i].sample_idx) << i;
  }
}

TEST(DispatcherTest, BindRefusesBadOptionsAndBadEndpoints) {
  zmq::context_t ctx(1);
  DispatcherOptions o = FastOptions("bad");
  o.lease_timeout = 0ms;
  auto d = Dispatcher::Bind(o, &ctx);
  ASSERT_FALSE(d.ok());
  EXPECT_NE(d.status().message().find("lease_timeout"), std::string::npos);
  o = FastOptions("bad");
  o.endpoint = "nonsense";
  EXPECT_FALSE(Dispatcher::Bind(o, &ctx).ok());
}

TEST(DispatcherTest, CreditIsRespected) {
  zmq::context_t ctx(1);
  auto d = MustBind(FastOptions("credit"), ctx);
  FakeWorker a(ctx, d->endpoint(), {.identity = "a", .capacity = 2, .answer_after = 2ms});
  FakeWorker b(ctx, d->endpoint(), {.identity = "b", .capacity = 3, .answer_after = 2ms});
  ASSERT_TRUE(d->WaitForPeers(2, 0, 5s).ok());
  std::vector<proto::GenerateRequest> requests;
  for (int p = 0; p < 40; ++p) requests.push_back(Request(0, p, 0));
  GenerateStats stats;
  auto out = d->Generate(requests, &stats);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectMatches(requests, *out);
  EXPECT_LE(a.max_outstanding(), 2);
  EXPECT_LE(b.max_outstanding(), 3);
  EXPECT_GT(a.received(), 0);
  EXPECT_GT(b.received(), 0);
  EXPECT_EQ(a.received() + b.received(), 40);
  // The job-loop thread reads the live state; another thread (e.g. the /status server) gets
  // the pump's latest snapshot, never a torn read.
  EXPECT_EQ(d->StatusJson()["workers"].size(), 2u);
  std::thread([&] {
    const auto snapshot = d->StatusJson();
    ASSERT_TRUE(snapshot["workers"].is_array());
    EXPECT_TRUE(snapshot["leases"].contains("completed"));
  }).join();
  EXPECT_EQ(stats.requests, 40);
  EXPECT_EQ(stats.leases, 40);
  EXPECT_EQ(stats.duplicates, 0);
}

TEST(DispatcherTest, ResultsComeBackInRequestOrder) {
  zmq::context_t ctx(1);
  DispatcherOptions o = FastOptions("order");
  std::atomic<int> hook_calls{0};
  o.on_result = [&](uint64_t, transport::SteadyTime leased, transport::SteadyTime accepted) {
    EXPECT_LE(leased, accepted);
    ++hook_calls;
  };
  auto d = MustBind(o, ctx);
  std::vector<std::unique_ptr<FakeWorker>> workers;
  for (int i = 0; i < 3; ++i) {
    workers.push_back(std::make_unique<FakeWorker>(
        ctx, d->endpoint(),
        FakeWorkerConfig{.identity = "w" + std::to_string(i), .capacity = 4, .answer_after = 3ms,
                         .reverse = true}));
  }
  ASSERT_TRUE(d->WaitForPeers(3, 0, 5s).ok());
  std::vector<proto::GenerateRequest> requests;
  for (int k = 0; k < 30; ++k) {
    requests.push_back(Request(2, (k * 17) % 31, k % 2));  // scrambled prompt ids
  }
  auto out = d->Generate(requests);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectMatches(requests, *out);
  EXPECT_EQ(hook_calls, 30);
  // Empty calls return at once.
  auto none = d->Generate({});
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
}

TEST(DispatcherTest, RefusesInvalidOrRepeatedRequests) {
  zmq::context_t ctx(1);
  auto d = MustBind(FastOptions("refuse"), ctx);
  FakeWorker w(ctx, d->endpoint(), {.identity = "w"});
  ASSERT_TRUE(d->WaitForPeers(1, 0, 5s).ok());
  auto dup = d->Generate({Request(0, 1, 0), Request(0, 1, 0)});
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(dup.status().IsInvalidArgument());
  EXPECT_NE(dup.status().message().find("same item"), std::string::npos);
  proto::GenerateRequest bad = Request(0, 2, 0);
  bad.sampling.temperature = -1;
  auto invalid = d->Generate({bad});
  ASSERT_FALSE(invalid.ok());
  EXPECT_NE(invalid.status().message().find("request 0"), std::string::npos);
  ASSERT_TRUE(d->Generate({Request(0, 1, 0)}).ok());
  auto again = d->Generate({Request(0, 1, 0)});
  ASSERT_FALSE(again.ok());
  EXPECT_NE(again.status().message().find("already generated"), std::string::npos);
}

TEST(DispatcherTest, SilentWorkerIsLostItsItemsRedoneAndItsLateResultsDropped) {
  zmq::context_t ctx(1);
  DispatcherOptions o = FastOptions("silent");
  o.heartbeat_timeout = 300ms;
  auto d = MustBind(o, ctx);
  FakeWorker silent(ctx, d->endpoint(),
                    {.identity = "silent", .capacity = 2, .silent_after_first = true});
  FakeWorker healthy(ctx, d->endpoint(), {.identity = "healthy", .capacity = 2});
  ASSERT_TRUE(d->WaitForPeers(2, 0, 5s).ok());
  std::vector<proto::GenerateRequest> requests;
  for (int p = 0; p < 10; ++p) requests.push_back(Request(0, p, 0));
  GenerateStats stats;
  auto out = d->Generate(requests, &stats);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectMatches(requests, *out);
  EXPECT_EQ(silent.received(), 2);
  EXPECT_EQ(silent.answered(), 0);
  EXPECT_EQ(stats.workers_lost, 1);
  EXPECT_EQ(stats.lost_leases, 2);
  EXPECT_EQ(stats.leases, 12);
  EXPECT_EQ(healthy.answered(), 10);

  // The lost worker wakes up and delivers its two old results: both are dropped, and it is
  // taken back as a worker.
  silent.Release();
  ASSERT_TRUE(Eventually([&] { return silent.answered() == 2; }));
  std::vector<proto::GenerateRequest> next;
  for (int p = 0; p < 6; ++p) next.push_back(Request(1, p, 0));
  GenerateStats stats2;
  auto out2 = d->Generate(next, &stats2);
  ASSERT_TRUE(out2.ok()) << out2.status();
  ExpectMatches(next, *out2);
  EXPECT_EQ(stats2.duplicates, 2);
  const auto status = d->StatusJson();
  EXPECT_EQ(status["leases"]["completed"], 16);
  EXPECT_EQ(status["peer_faults"]["workers_lost"], 1);
  EXPECT_EQ(d->Peers().size(), 2u);
}

TEST(DispatcherTest, AWorkerThatRestartsUnderItsIdentityHasItsOldLeasesRequeued) {
  zmq::context_t ctx(1);
  auto d = MustBind(FastOptions("restart"), ctx);
  auto first = std::make_unique<FakeWorker>(
      ctx, d->endpoint(),
      FakeWorkerConfig{.identity = "r", .capacity = 3,
                       .policy = [](const proto::GenerateRequest&) { return Act::kHold; }});
  ASSERT_TRUE(d->WaitForPeers(1, 0, 5s).ok());
  std::vector<proto::GenerateRequest> requests;
  for (int p = 0; p < 3; ++p) requests.push_back(Request(0, p, 0));
  std::thread restart([&] {
    // Once the first incarnation holds all three, it "crashes" and comes back.
    ASSERT_TRUE(Eventually([&] { return first->received() == 3; }));
    first->Stop();
    auto second = std::make_unique<FakeWorker>(ctx, d->endpoint(),
                                               FakeWorkerConfig{.identity = "r", .capacity = 3});
    ASSERT_TRUE(Eventually([&] { return second->answered() == 3; }));
  });
  GenerateStats stats;
  auto out = d->Generate(requests, &stats);
  restart.join();
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectMatches(requests, *out);
  EXPECT_EQ(stats.leases, 6);
  EXPECT_EQ(d->Peers().size(), 1u);
}

TEST(DispatcherTest, AWorkerThatCannotBeReachedIsDeclaredLost) {
  zmq::context_t ctx(1);
  auto d = MustBind(FastOptions("unreachable"), ctx);
  FakeWorker stays(ctx, d->endpoint(), {.identity = "stays"});
  auto leaves = std::make_unique<FakeWorker>(ctx, d->endpoint(), FakeWorkerConfig{.identity = "leaves"});
  ASSERT_TRUE(d->WaitForPeers(2, 0, 5s).ok());
  leaves->Stop();  // its socket closes; nothing tells the dispatcher but the failed send
  int64_t version = 1;
  ASSERT_TRUE(Eventually([&] {
    d->AnnounceWeights({version++, proto::WeightsTransport::kFile, "/tmp/w", 1, ""});
    return d->Peers().size() == 1u;
  }));
  EXPECT_EQ(d->Peers()[0].id, "stays");
  EXPECT_EQ(d->StatusJson()["peer_faults"]["workers_lost"], 1);
}

TEST(DispatcherTest, ExpiredLeaseIsRequeuedAndTheLateOriginalDropped) {
  zmq::context_t ctx(1);
  OffsetClock clock;
  DispatcherOptions o = FastOptions("expire");
  o.now = clock.fn();
  o.lease_timeout = 10s;
  o.heartbeat_timeout = 1h;
  o.stall_timeout = 1h;  // on the jumping clock; the real bound is the ctest timeout
  auto d = MustBind(o, ctx);
  std::atomic<int> slow_calls{0};
  FakeWorker slow(ctx, d->endpoint(),
                  {.identity = "slow", .capacity = 1, .policy = [&](const proto::GenerateRequest&) {
                     if (slow_calls++ > 0) return Act::kAnswer;
                     clock.Advance(30s);  // the lease's deadline passes while it is held
                     return Act::kHold;
                   }});
  FakeWorker fast(ctx, d->endpoint(), {.identity = "fast", .capacity = 2});
  ASSERT_TRUE(d->WaitForPeers(2, 0, 5s).ok());
  std::vector<proto::GenerateRequest> requests;
  for (int p = 0; p < 6; ++p) requests.push_back(Request(0, p, 0));
  GenerateStats stats;
  auto out = d->Generate(requests, &stats);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectMatches(requests, *out);
  EXPECT_GE(stats.expired, 1);
  EXPECT_GT(stats.leases, 6);
  EXPECT_EQ(stats.workers_lost, 0);
  slow.Release();  // the original finally answers
  ASSERT_TRUE(Eventually([&] { return slow.answered() >= 1 && slow.received() == slow.answered(); }));
  GenerateStats stats2;
  ASSERT_TRUE(d->Generate({Request(1, 0, 0)}, &stats2).ok());
  EXPECT_EQ(d->StatusJson()["leases"]["completed"], 7);
  EXPECT_GE(d->StatusJson()["leases"]["duplicates"].get<int>(), 1);
}

TEST(DispatcherTest, ErrorReplyRequeuesTheItem) {
  zmq::context_t ctx(1);
  auto d = MustBind(FastOptions("error"), ctx);
  std::atomic<int> failures{0};
  FakeWorker w(ctx, d->endpoint(), {.identity = "w", .capacity = 2,
                                    .policy = [&](const proto::GenerateRequest& r) {
                                      if (r.prompt_id == 3 && failures++ == 0) return Act::kError;
                                      return Act::kAnswer;
                                    }});
  ASSERT_TRUE(d->WaitForPeers(1, 0, 5s).ok());
  std::vector<proto::GenerateRequest> requests;
  for (int p = 0; p < 6; ++p) requests.push_back(Request(0, p, 0));
  GenerateStats stats;
  auto out = d->Generate(requests, &stats);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectMatches(requests, *out);
  EXPECT_EQ(stats.errors, 1);
  EXPECT_EQ(stats.leases, 7);
  EXPECT_EQ(w.received(), 7);
}

TEST(DispatcherTest, AnItemThatKeepsFailingFailsGenerateWithTheWorkersError) {
  zmq::context_t ctx(1);
  DispatcherOptions o = FastOptions("poison");
  o.max_item_errors = 3;
  auto d = MustBind(o, ctx);
  FakeWorker w(ctx, d->endpoint(), {.identity = "w", .policy = [](const proto::GenerateRequest& r) {
                                      return r.prompt_id == 1 ? Act::kError : Act::kAnswer;
                                    }});
  ASSERT_TRUE(d->WaitForPeers(1, 0, 5s).ok());
  auto out = d->Generate({Request(0, 0, 0), Request(0, 1, 0), Request(0, 2, 0)});
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.status().IsInvalidArgument()) << out.status();
  EXPECT_NE(out.status().message().find("failed 3 times"), std::string::npos) << out.status();
  EXPECT_NE(out.status().message().find("bad request"), std::string::npos) << out.status();
}

TEST(DispatcherTest, AWorkerThatRefusesWorkGetsNoMore) {
  zmq::context_t ctx(1);
  auto d = MustBind(FastOptions("refusing"), ctx);
  FakeWorker refusing(ctx, d->endpoint(),
                      {.identity = "refusing", .capacity = 1,
                       .policy = [](const proto::GenerateRequest&) { return Act::kRefuse; }});
  ASSERT_TRUE(d->WaitForPeers(1, 0, 5s).ok());
  FakeWorker good(ctx, d->endpoint(), {.identity = "good", .capacity = 1});
  ASSERT_TRUE(d->WaitForPeers(2, 0, 5s).ok());
  std::vector<proto::GenerateRequest> requests;
  for (int p = 0; p < 5; ++p) requests.push_back(Request(0, p, 0));
  auto out = d->Generate(requests);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectMatches(requests, *out);
  EXPECT_LE(refusing.received(), 1);
  EXPECT_EQ(good.answered(), 5);
}

TEST(DispatcherTest, GenerateFailsWithinItsBoundWhenNoWorkerExists) {
  zmq::context_t ctx(1);
  DispatcherOptions o = FastOptions("noworker");
  o.stall_timeout = 150ms;
  auto d = MustBind(o, ctx);
  const auto start = std::chrono::steady_clock::now();
  auto out = d->Generate({Request(0, 0, 0)});
  const auto took = std::chrono::steady_clock::now() - start;
  ASSERT_FALSE(out.ok());
  EXPECT_TRUE(out.status().IsDeadlineExceeded()) << out.status();
  EXPECT_NE(out.status().message().find("0 rollout worker"), std::string::npos) << out.status();
  EXPECT_GE(took, 150ms);
  EXPECT_LT(took, 3s);
  auto wait = d->WaitForPeers(1, 1, 50ms);
  EXPECT_TRUE(wait.IsDeadlineExceeded());
  EXPECT_NE(wait.message().find("have 0 rollout worker"), std::string::npos) << wait;
}

TEST(DispatcherTest, ResultsOfAFailedCallAreKeptForARetry) {
  zmq::context_t ctx(1);
  DispatcherOptions o = FastOptions("retry");
  o.stall_timeout = 100ms;
  auto d = MustBind(o, ctx);
  FakeWorker w(ctx, d->endpoint(), {.identity = "w", .capacity = 4,
                                    .policy = [](const proto::GenerateRequest& r) {
                                      return r.prompt_id < 2 ? Act::kAnswer : Act::kHold;
                                    }});
  ASSERT_TRUE(d->WaitForPeers(1, 0, 5s).ok());
  std::vector<proto::GenerateRequest> requests;
  for (int p = 0; p < 4; ++p) requests.push_back(Request(0, p, 0));
  auto first = d->Generate(requests);
  ASSERT_FALSE(first.ok());
  EXPECT_NE(first.status().message().find("2 of 4 items missing"), std::string::npos)
      << first.status();
  w.Release();
  ASSERT_TRUE(Eventually([&] { return w.answered() == 4; }));
  GenerateStats stats;
  auto retry = d->Generate(requests, &stats);
  ASSERT_TRUE(retry.ok()) << retry.status();
  ExpectMatches(requests, *retry);
  EXPECT_EQ(stats.leases, 0);  // nothing had to be redone
  EXPECT_EQ(w.received(), 4);
}

TEST(DispatcherTest, TrainRoundTripWithALearner) {
  zmq::context_t ctx(1);
  DispatcherOptions o = FastOptions("train");
  o.train_timeout = 200ms;
  auto d = MustBind(o, ctx);
  FakeLearner learner(ctx, d->endpoint());
  ASSERT_TRUE(d->WaitForPeers(0, 1, 5s).ok());
  proto::TrainBatch batch;
  batch.step = 4;
  batch.stage = "grpo";
  proto::TrainSample s;
  s.trajectory = Canned(Request(4, 0, 0), 4);
  batch.samples = {s, s};
  auto reply = d->Train(batch);
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_EQ(reply->stats.step, 4);
  EXPECT_EQ(reply->stats.metrics.at("samples"), 2.0);
  ASSERT_TRUE(reply->weights.has_value());
  EXPECT_EQ(reply->weights->version, 5);
  ASSERT_TRUE(d->latest_weights().has_value());
  EXPECT_EQ(d->latest_weights()->version, 5);

  proto::TrainBatch checkpoint_only;  // no samples: stats only, no new weights
  checkpoint_only.step = 5;
  checkpoint_only.stage = "grpo";
  auto ck = d->Train(checkpoint_only);
  ASSERT_TRUE(ck.ok()) << ck.status();
  EXPECT_FALSE(ck->weights.has_value());

  batch.stage = "bad";
  auto bad = d->Train(batch);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status();
  EXPECT_NE(bad.status().message().find("unknown stage 'bad'"), std::string::npos);

  batch.stage = "slow";
  const auto start = std::chrono::steady_clock::now();
  auto slow = d->Train(batch);
  ASSERT_FALSE(slow.ok());
  EXPECT_TRUE(slow.status().IsDeadlineExceeded()) << slow.status();
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  EXPECT_EQ(learner.batches(), 4);
}

TEST(DispatcherTest, TrainFailsWithinItsBoundWithoutALearner) {
  zmq::context_t ctx(1);
  DispatcherOptions o = FastOptions("nolearner");
  o.train_timeout = 100ms;
  auto d = MustBind(o, ctx);
  auto reply = d->Train(proto::TrainBatch{});
  ASSERT_FALSE(reply.ok());
  EXPECT_TRUE(reply.status().IsDeadlineExceeded());
  EXPECT_NE(reply.status().message().find("no learner rank 0"), std::string::npos);
}

TEST(DispatcherTest, HelloWithAWrongTokenIsRefused) {
  zmq::context_t ctx(1);
  DispatcherOptions o = FastOptions("token");
  o.token = "s3cret";
  auto d = MustBind(o, ctx);
  FakeWorker intruder(ctx, d->endpoint(), {.identity = "intruder", .token = "guess"});
  FakeWorker anonymous(ctx, d->endpoint(), {.identity = "anonymous"});
  EXPECT_TRUE(d->WaitForPeers(1, 0, 100ms).IsDeadlineExceeded());
  ASSERT_TRUE(Eventually([&] { return !intruder.errors().empty() && !anonymous.errors().empty(); }));
  EXPECT_NE(intruder.errors()[0].message.find("token"), std::string::npos);
  EXPECT_EQ(d->StatusJson()["peer_faults"]["refused_hellos"], 2);
  FakeWorker member(ctx, d->endpoint(), {.identity = "member", .token = "s3cret"});
  ASSERT_TRUE(d->WaitForPeers(1, 0, 5s).ok());
  auto out = d->Generate({Request(0, 0, 0), Request(0, 1, 0)});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(member.answered(), 2);
  EXPECT_EQ(intruder.received() + anonymous.received(), 0);
  ASSERT_EQ(d->Peers().size(), 1u);
  EXPECT_EQ(d->Peers()[0].id, "member");
}

TEST(DispatcherTest, WeightsReachCurrentWorkersAndLateJoinersGetTheLatest) {
  zmq::context_t ctx(1);
  auto d = MustBind(FastOptions("weights"), ctx);
  FakeWorker a(ctx, d->endpoint(), {.identity = "a"});
  FakeWorker b(ctx, d->endpoint(), {.identity = "b"});
  ASSERT_TRUE(d->WaitForPeers(2, 0, 5s).ok());
  proto::WeightsAnnounce w2{2, proto::WeightsTransport::kFile, "/tmp/w2", 10, ""};
  proto::WeightsAnnounce w3{3, proto::WeightsTransport::kFile, "/tmp/w3", 10, ""};
  d->AnnounceWeights(w2);
  d->AnnounceWeights(w3);
  ASSERT_TRUE(Eventually([&] { return a.announces().size() == 2 && b.announces().size() == 2; }));
  EXPECT_EQ(a.announces().back(), w3);
  FakeWorker late(ctx, d->endpoint(), {.identity = "late", .version = 0});
  ASSERT_TRUE(d->WaitForPeers(3, 0, 5s).ok());
  ASSERT_TRUE(Eventually([&] { return late.announces().size() == 1; }));
  EXPECT_EQ(late.announces()[0], w3);
  EXPECT_EQ(d->latest_weights()->version, 3);
  // Heartbeats report the version the workers now hold.
  ASSERT_TRUE(Eventually([&] {
    (void)d->WaitForPeers(4, 0, 5ms);  // pumps for a moment
    for (const auto& p : d->Peers()) {
      if (p.policy_version != 3) return false;
    }
    return true;
  }));
}

TEST(DispatcherTest, MalformedAndUnexpectedMessagesNeverCrashIt) {
  zmq::context_t ctx(1);
  auto d = MustBind(FastOptions("malformed"), ctx);
  zmq::socket_t raw(ctx, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::routing_id, "raw");
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(d->endpoint());
  auto send = [&](std::string_view bytes) { raw.send(zmq::buffer(bytes), zmq::send_flags::none); };
  send("garbage");
  send("");
  raw.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);
  raw.send(zmq::str_buffer("b"), zmq::send_flags::none);  // 3 frames at the router
  auto msgpack = [](const nlohmann::json& j) {
    auto v = nlohmann::json::to_msgpack(j);
    return std::string(v.begin(), v.end());
  };
  send(msgpack({{"v", 1}, {"type", "Hello"}, {"body", {{"capacity", "many"}}}}));
  send(msgpack({{"v", 1}, {"type", "NoSuchType"}, {"body", nlohmann::json::object()}}));
  send(msgpack({{"v", 99}, {"type", "Hello"}, {"body", nlohmann::json::object()}}));
  send(std::string(1000, '\x91'));  // deeply nested arrays
  // Well-formed but unexpected: a trajectory before Hello, then after Hello a lease-less
  // error, a trajectory for an unknown item, a message type workers never send.
  send(*proto::EncodeMessage(Canned(Request(0, 0, 0), 0)));
  proto::Hello hello;
  hello.capacity = 0;  // takes no work: it only misbehaves
  send(*proto::EncodeMessage(hello));
  send(*proto::EncodeMessage(proto::Error{1, "whatever", "nothing"}));
  send(*proto::EncodeMessage(Canned(Request(9, 9, 9), 0)));
  send(*proto::EncodeMessage(proto::TrainBatch{}));
  send(*proto::EncodeMessage(proto::GradeRequest{}));

  FakeWorker good(ctx, d->endpoint(), {.identity = "good", .capacity = 2});
  ASSERT_TRUE(d->WaitForPeers(2, 0, 5s).ok());
  std::vector<proto::GenerateRequest> requests;
  for (int p = 0; p < 4; ++p) requests.push_back(Request(0, p, 0));
  GenerateStats stats;
  auto out = d->Generate(requests, &stats);
  ASSERT_TRUE(out.ok()) << out.status();
  ExpectMatches(requests, *out);
  const auto status = d->StatusJson();
  EXPECT_GE(status["peer_faults"]["malformed_frames"].get<int>(), 6) << status.dump();
  EXPECT_GE(status["peer_faults"]["unexpected_messages"].get<int>(), 3) << status.dump();
  // The raw peer was told what was wrong (errors for the malformed frames and the rest).
  int replies = 0;
  zmq::message_t m;
  while (raw.recv(m, zmq::recv_flags::dontwait)) ++replies;
  EXPECT_GE(replies, 8);
}

TEST(DispatcherTest, ShutdownDrainsWorkInFlight) {
  zmq::context_t ctx(1);
  DispatcherOptions o = FastOptions("shutdown");
  o.stall_timeout = 100ms;
  auto d = MustBind(o, ctx);
  FakeWorker w(ctx, d->endpoint(), {.identity = "w", .capacity = 3,
                                    .policy = [](const proto::GenerateRequest&) { return Act::kHold; }});
  FakeLearner learner(ctx, d->endpoint());
  ASSERT_TRUE(d->WaitForPeers(1, 1, 5s).ok());
  auto out = d->Generate({Request(0, 0, 0), Request(0, 1, 0), Request(0, 2, 0)});
  ASSERT_FALSE(out.ok());  // held: stalls
  EXPECT_EQ(d->StatusJson()["leases"]["in_flight"], 3);
  const auto start = std::chrono::steady_clock::now();
  d->Shutdown("test over", /*drain=*/true, 5s);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 3s);
  ASSERT_EQ(w.shutdowns().size(), 1u);
  EXPECT_TRUE(w.shutdowns()[0].drain);
  const auto status = d->StatusJson();
  EXPECT_EQ(status["leases"]["in_flight"], 0);
  EXPECT_EQ(status["parked_results"], 3);
  EXPECT_TRUE(status["shutting_down"].get<bool>());
  EXPECT_EQ(d->Generate({Request(1, 0, 0)}).status().code(), StatusCode::kFailedPrecondition);
}

}  // namespace
}  // namespace scorch::orchestrator
