// Transport tests: ROUTER/DEALER round trips over inproc, ipc and tcp loopback, receive
// timeouts, several dealers on one router, peers that are gone, garbage that must not kill
// either side, and heartbeat expiry driven by a fake clock.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <set>
#include <thread>
#include <zmq_addon.hpp>

#include "scorch/common/transport/dealer.h"
#include "scorch/common/transport/heartbeat.h"
#include "scorch/common/transport/router.h"
#include "wire_samples.h"

namespace scorch::transport {
namespace {

using namespace std::chrono_literals;
using ::testing::HasSubstr;
using ::testing::StartsWith;

// Generous bound for "a message that is on its way arrives": never reached when healthy.
constexpr auto kArrive = 5000ms;

std::unique_ptr<Router> MustBind(std::string_view endpoint, zmq::context_t* ctx) {
  auto router = Router::Bind(endpoint, {}, ctx);
  EXPECT_TRUE(router.ok()) << router.status();
  return router.ok() ? std::move(router).value() : nullptr;
}

std::unique_ptr<Dealer> MustConnect(std::string_view endpoint, zmq::context_t* ctx,
                                    std::string identity = "") {
  DealerOptions opts;
  opts.identity = std::move(identity);
  auto dealer = Dealer::Connect(endpoint, opts, ctx);
  EXPECT_TRUE(dealer.ok()) << dealer.status();
  return dealer.ok() ? std::move(dealer).value() : nullptr;
}

Incoming MustReceive(Router& router) {
  auto in = router.Receive(kArrive);
  EXPECT_TRUE(in.ok()) << in.status();
  EXPECT_TRUE(in.ok() && in->has_value()) << "nothing received";
  return in.ok() && in->has_value() ? std::move(**in) : Incoming{};
}

proto::Message MustReceive(Dealer& dealer) {
  auto in = dealer.Receive(kArrive);
  EXPECT_TRUE(in.ok()) << in.status();
  EXPECT_TRUE(in.ok() && in->has_value()) << "nothing received";
  return in.ok() && in->has_value() ? std::move(**in) : proto::Message{};
}

// Dealer → Router → Dealer with a large trajectory and a small reply.
void RoundTrip(std::string_view bind_endpoint, bool expect_resolved_port) {
  zmq::context_t ctx(1);
  auto router = MustBind(bind_endpoint, &ctx);
  ASSERT_NE(router, nullptr);
  if (expect_resolved_port) {
    EXPECT_THAT(router->endpoint(), StartsWith("tcp://127.0.0.1:"));
    EXPECT_EQ(router->endpoint().find('*'), std::string::npos);
  }
  auto dealer = MustConnect(router->endpoint(), &ctx, "rollout-0");
  ASSERT_NE(dealer, nullptr);

  const proto::Trajectory traj = proto::testing::SampleTrajectory(4096);
  ASSERT_TRUE(dealer->Send(traj).ok());
  Incoming in = MustReceive(*router);
  EXPECT_EQ(in.peer, "rollout-0");
  ASSERT_TRUE(std::holds_alternative<proto::Trajectory>(in.message));
  EXPECT_TRUE(std::get<proto::Trajectory>(in.message) == traj);

  ASSERT_TRUE(router->Send(in.peer, proto::testing::SampleHeartbeat()).ok());
  proto::Message reply = MustReceive(*dealer);
  EXPECT_TRUE(reply == proto::Message(proto::testing::SampleHeartbeat()));
  EXPECT_EQ(router->malformed_count(), 0u);
  EXPECT_EQ(dealer->malformed_count(), 0u);
  // Clean shutdown: sockets close before the context, and the context's destructor returns.
  dealer->Close();
  router->Close();
}

TEST(TransportTest, InprocRoundTrip) { RoundTrip("inproc://transport-test", false); }

TEST(TransportTest, TcpLoopbackRoundTrip) { RoundTrip(kLoopbackAnyPort, true); }

TEST(TransportTest, IpcRoundTrip) {
  RoundTrip("ipc:///tmp/scorch-transport-test-" + std::to_string(::getpid()), false);
}

TEST(TransportTest, SharedContextWorksForInproc) {
  auto router = MustBind("inproc://shared-context-test", nullptr);
  ASSERT_NE(router, nullptr);
  auto dealer = MustConnect(router->endpoint(), nullptr);
  ASSERT_NE(dealer, nullptr);
  ASSERT_TRUE(dealer->Send(proto::testing::SampleShutdown()).ok());
  Incoming in = MustReceive(*router);
  EXPECT_TRUE(in.message == proto::Message(proto::testing::SampleShutdown()));
  EXPECT_FALSE(in.peer.empty());  // a generated binary routing id
}

TEST(TransportTest, ReceiveTimeoutReturnsNulloptWithinBound) {
  zmq::context_t ctx(1);
  auto router = MustBind(kLoopbackAnyPort, &ctx);
  ASSERT_NE(router, nullptr);
  auto dealer = MustConnect(router->endpoint(), &ctx);
  ASSERT_NE(dealer, nullptr);

  auto start = std::chrono::steady_clock::now();
  auto in = router->Receive(50ms);
  auto waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_FALSE(in->has_value());
  EXPECT_GE(waited, 50ms);
  EXPECT_LT(waited, kArrive);  // loose: a loaded CI machine may be slow, never stuck

  start = std::chrono::steady_clock::now();
  auto reply = dealer->Receive(30ms);
  waited = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(reply.ok()) << reply.status();
  EXPECT_FALSE(reply->has_value());
  EXPECT_GE(waited, 30ms);
  EXPECT_LT(waited, kArrive);

  auto zero = router->Receive(0ms);  // a poll
  ASSERT_TRUE(zero.ok());
  EXPECT_FALSE(zero->has_value());
}

TEST(TransportTest, ManyDealersOneRouter) {
  zmq::context_t ctx(1);
  auto router = MustBind("inproc://many-dealers", &ctx);
  ASSERT_NE(router, nullptr);
  constexpr int kDealers = 5;
  std::vector<std::unique_ptr<Dealer>> dealers;
  for (int i = 0; i < kDealers; ++i) {
    dealers.push_back(MustConnect(router->endpoint(), &ctx, "worker-" + std::to_string(i)));
    ASSERT_NE(dealers.back(), nullptr);
    proto::Hello hello = proto::testing::SampleHello();
    hello.rank = i;
    ASSERT_TRUE(dealers.back()->Send(hello).ok());
  }
  std::set<std::string> seen;
  for (int i = 0; i < kDealers; ++i) {
    Incoming in = MustReceive(*router);
    ASSERT_TRUE(std::holds_alternative<proto::Hello>(in.message));
    const int rank = std::get<proto::Hello>(in.message).rank;
    EXPECT_EQ(in.peer, "worker-" + std::to_string(rank));
    seen.insert(in.peer);
    // Reply to that peer only, echoing its rank in the heartbeat sequence number.
    proto::Heartbeat hb;
    hb.seq = static_cast<uint64_t>(rank);
    ASSERT_TRUE(router->Send(in.peer, hb).ok());
  }
  EXPECT_EQ(seen.size(), static_cast<size_t>(kDealers));
  for (int i = 0; i < kDealers; ++i) {
    proto::Message reply = MustReceive(*dealers[i]);
    ASSERT_TRUE(std::holds_alternative<proto::Heartbeat>(reply));
    EXPECT_EQ(std::get<proto::Heartbeat>(reply).seq, static_cast<uint64_t>(i));
    auto more = dealers[i]->Receive(0ms);
    ASSERT_TRUE(more.ok());
    EXPECT_FALSE(more->has_value()) << "dealer " << i << " got another peer's reply";
  }
}

TEST(TransportTest, SendToUnknownPeerIsUnavailable) {
  zmq::context_t ctx(1);
  auto router = MustBind("inproc://unknown-peer", &ctx);
  ASSERT_NE(router, nullptr);
  Status s = router->Send("nobody", proto::testing::SampleHeartbeat());
  EXPECT_TRUE(s.IsUnavailable()) << s;
  EXPECT_THAT(s.message(), HasSubstr("nobody"));
}

TEST(TransportTest, InvalidMessagesAreNotSent) {
  zmq::context_t ctx(1);
  auto router = MustBind("inproc://invalid-send", &ctx);
  auto dealer = MustConnect(router->endpoint(), &ctx);
  proto::Trajectory bad = proto::testing::SampleTrajectory(8);
  bad.trainable_mask.pop_back();
  Status s = dealer->Send(bad);
  EXPECT_TRUE(s.IsInvalidArgument()) << s;
  auto in = router->Receive(20ms);
  ASSERT_TRUE(in.ok());
  EXPECT_FALSE(in->has_value());
}

TEST(TransportTest, GarbageFramesDoNotKillTheRouter) {
  zmq::context_t ctx(1);
  auto router = MustBind(kLoopbackAnyPort, &ctx);
  ASSERT_NE(router, nullptr);

  // A raw DEALER that speaks garbage: undecodable bytes, a wrong frame count, a message of
  // an unknown protocol version.
  zmq::socket_t raw(ctx, zmq::socket_type::dealer);
  raw.set(zmq::sockopt::routing_id, "vandal");
  raw.set(zmq::sockopt::linger, 0);
  raw.connect(router->endpoint());
  raw.send(zmq::str_buffer("\xc1garbage"), zmq::send_flags::none);
  raw.send(zmq::str_buffer("a"), zmq::send_flags::sndmore);
  raw.send(zmq::str_buffer("b"), zmq::send_flags::none);
  raw.send(zmq::buffer(std::string("\x83\xa1v\x02\xa4type\xa5Hello\xa4"
                                   "body\x80")),
           zmq::send_flags::none);

  // Then a well-behaved dealer: its message still arrives, after the garbage is skipped.
  auto good = MustConnect(router->endpoint(), &ctx, "good");
  ASSERT_NE(good, nullptr);
  // Consume the garbage (all three) before the good message is sent, so the order is
  // deterministic. Receive skips each bad message and keeps waiting.
  const auto give_up = std::chrono::steady_clock::now() + kArrive;
  while (router->malformed_count() < 3 && std::chrono::steady_clock::now() < give_up) {
    auto none = router->Receive(20ms);
    ASSERT_TRUE(none.ok()) << none.status();
    ASSERT_FALSE(none->has_value());
  }
  EXPECT_EQ(router->malformed_count(), 3u);

  ASSERT_TRUE(good->Send(proto::testing::SampleStepStats()).ok());
  Incoming in = MustReceive(*router);
  EXPECT_EQ(in.peer, "good");
  EXPECT_TRUE(in.message == proto::Message(proto::testing::SampleStepStats()));

  // The vandal was answered with one proto::Error per bad message, naming the problem.
  std::vector<std::string> problems;
  for (int i = 0; i < 3; ++i) {
    zmq::message_t reply;
    raw.set(zmq::sockopt::rcvtimeo, 5000);
    ASSERT_TRUE(raw.recv(reply)) << "no error reply " << i;
    auto decoded = proto::DecodeMessage(reply.to_string_view());
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    ASSERT_TRUE(std::holds_alternative<proto::Error>(*decoded));
    problems.push_back(std::get<proto::Error>(*decoded).message);
  }
  EXPECT_THAT(problems[0], HasSubstr("reserved type byte"));
  EXPECT_THAT(problems[1], HasSubstr("expected 2 frames"));
  EXPECT_THAT(problems[2], HasSubstr("unsupported protocol version 2"));
  raw.close();
}

TEST(TransportTest, GarbageFromTheRouterIsSkippedByTheDealer) {
  zmq::context_t ctx(1);
  zmq::socket_t raw(ctx, zmq::socket_type::router);
  raw.set(zmq::sockopt::linger, 0);
  raw.bind("inproc://raw-router");
  auto dealer = MustConnect("inproc://raw-router", &ctx, "w");
  ASSERT_NE(dealer, nullptr);
  ASSERT_TRUE(dealer->Send(proto::testing::SampleHello()).ok());
  std::vector<zmq::message_t> frames;
  raw.set(zmq::sockopt::rcvtimeo, 5000);
  ASSERT_TRUE(zmq::recv_multipart(raw, std::back_inserter(frames)));
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].to_string(), "w");

  raw.send(zmq::str_buffer("w"), zmq::send_flags::sndmore);
  raw.send(zmq::str_buffer("\x91\x91\x91"), zmq::send_flags::none);  // truncated
  auto bytes = proto::EncodeMessage(proto::testing::SampleShutdown());
  ASSERT_TRUE(bytes.ok());
  raw.send(zmq::str_buffer("w"), zmq::send_flags::sndmore);
  raw.send(zmq::buffer(*bytes), zmq::send_flags::none);

  proto::Message m = MustReceive(*dealer);
  EXPECT_TRUE(m == proto::Message(proto::testing::SampleShutdown()));
  EXPECT_EQ(dealer->malformed_count(), 1u);
  raw.close();
}

TEST(TransportTest, BadEndpointsAreErrors) {
  zmq::context_t ctx(1);
  auto bad = Router::Bind("bogus://nowhere", {}, &ctx);
  ASSERT_FALSE(bad.ok());
  EXPECT_TRUE(bad.status().IsInvalidArgument()) << bad.status();
  EXPECT_THAT(bad.status().message(), HasSubstr("bogus://nowhere"));

  auto first = MustBind(kLoopbackAnyPort, &ctx);
  ASSERT_NE(first, nullptr);
  auto second = Router::Bind(first->endpoint(), {}, &ctx);
  ASSERT_FALSE(second.ok());
  EXPECT_TRUE(second.status().IsUnavailable()) << second.status();

  auto dealer = Dealer::Connect("tcp://", {}, &ctx);
  EXPECT_FALSE(dealer.ok());
  DealerOptions nul;
  nul.identity = std::string("\0x", 2);
  EXPECT_TRUE(Dealer::Connect("inproc://x", nul, &ctx).status().IsInvalidArgument());
}

TEST(TransportTest, ClosedSocketsReportFailedPrecondition) {
  zmq::context_t ctx(1);
  auto router = MustBind("inproc://closing", &ctx);
  auto dealer = MustConnect("inproc://closing", &ctx);
  router->Close();
  router->Close();  // idempotent
  dealer->Close();
  EXPECT_EQ(router->Receive(1ms).status().code(), StatusCode::kFailedPrecondition);
  EXPECT_EQ(dealer->Send(proto::testing::SampleShutdown()).code(), StatusCode::kFailedPrecondition);
}

TEST(TransportTest, ContextShutdownUnblocksAReceiver) {
  auto ctx = std::make_unique<zmq::context_t>(1);
  auto router = MustBind("inproc://shutdown", ctx.get());
  ASSERT_NE(router, nullptr);
  Status result;
  std::thread receiver([&] {
    auto in = router->Receive(-1ms);  // forever, until the context shuts down
    result = in.status();
    router->Close();
  });
  std::this_thread::sleep_for(20ms);
  ctx->shutdown();  // makes blocking calls fail with ETERM
  receiver.join();
  EXPECT_EQ(result.code(), StatusCode::kCancelled) << result;
  ctx.reset();  // returns: every socket of the context is closed
}

TEST(TransportTest, PeerNamesArePrintable) {
  EXPECT_EQ(PeerName("rollout-1"), "rollout-1");
  EXPECT_EQ(PeerName(std::string("\0\x80\x01", 3)), "0x008001");
}

// ---- heartbeats, with a fake clock ----

struct FakeClock {
  SteadyTime now{};
  NowFn fn() {
    return [this] { return now; };
  }
};

TEST(HeartbeatTest, PeersExpireAfterTheTimeout) {
  FakeClock clock;
  HeartbeatTracker tracker(1000ms, clock.fn());
  tracker.Beat("a");
  clock.now += 400ms;
  tracker.Beat("b");
  EXPECT_EQ(tracker.size(), 2u);
  EXPECT_EQ(tracker.NextDeadline(), SteadyTime{} + 1000ms);

  clock.now += 600ms;  // t=1000: a's deadline, not yet past
  EXPECT_TRUE(tracker.IsAlive("a"));
  EXPECT_TRUE(tracker.TakeExpired().empty());

  clock.now += 1ms;  // t=1001: a expired, b (deadline 1400) alive
  EXPECT_FALSE(tracker.IsAlive("a"));
  EXPECT_TRUE(tracker.IsAlive("b"));
  EXPECT_EQ(tracker.TakeExpired(), std::vector<std::string>{"a"});
  EXPECT_TRUE(tracker.TakeExpired().empty());  // handed out once
  EXPECT_FALSE(tracker.IsAlive("a"));

  tracker.Beat("b");  // t=1001: refreshed to 2001
  clock.now += 999ms;
  EXPECT_TRUE(tracker.TakeExpired().empty());
  tracker.Beat("c");
  clock.now += 5000ms;
  EXPECT_EQ(tracker.TakeExpired(), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(tracker.size(), 0u);
  EXPECT_FALSE(tracker.NextDeadline().has_value());
}

TEST(HeartbeatTest, ForgetStopsTracking) {
  FakeClock clock;
  HeartbeatTracker tracker(10ms, clock.fn());
  tracker.Beat("a");
  EXPECT_TRUE(tracker.Forget("a"));
  EXPECT_FALSE(tracker.Forget("a"));
  clock.now += 1s;
  EXPECT_TRUE(tracker.TakeExpired().empty());
}

TEST(HeartbeatTest, ScheduleFiresOncePerInterval) {
  FakeClock clock;
  HeartbeatSchedule schedule(100ms, clock.fn());
  EXPECT_TRUE(schedule.Due());
  EXPECT_FALSE(schedule.Due());
  clock.now += 99ms;
  EXPECT_FALSE(schedule.Due());
  clock.now += 1ms;
  EXPECT_TRUE(schedule.Due());
  EXPECT_FALSE(schedule.Due());
  EXPECT_EQ(schedule.NextSeq(), 0u);
  EXPECT_EQ(schedule.NextSeq(), 1u);
}

TEST(HeartbeatTest, TrackerDrivesLivenessOverARealSocket) {
  // The pieces together: heartbeats over inproc feed a tracker; a dealer that stops
  // beating expires once the (fake) clock passes its deadline.
  zmq::context_t ctx(1);
  FakeClock clock;
  HeartbeatTracker tracker(3000ms, clock.fn());
  auto router = MustBind("inproc://hb", &ctx);
  auto w0 = MustConnect("inproc://hb", &ctx, "w0");
  auto w1 = MustConnect("inproc://hb", &ctx, "w1");
  ASSERT_TRUE(w0->Send(proto::Heartbeat{0, 0, 1, 3}).ok());
  ASSERT_TRUE(w1->Send(proto::Heartbeat{0, 0, 2, 3}).ok());
  for (int i = 0; i < 2; ++i) tracker.Beat(MustReceive(*router).peer);
  clock.now += 2000ms;
  ASSERT_TRUE(w1->Send(proto::Heartbeat{1, 0, 2, 3}).ok());
  tracker.Beat(MustReceive(*router).peer);
  clock.now += 1500ms;
  EXPECT_EQ(tracker.TakeExpired(), std::vector<std::string>{"w0"});
  EXPECT_TRUE(tracker.IsAlive("w1"));
}

}  // namespace
}  // namespace scorch::transport
