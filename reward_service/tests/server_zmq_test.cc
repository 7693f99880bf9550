// The ZeroMQ grade service: GradeRequest → GradeReply round trips over inproc and tcp,
// and malformed or unexpected messages answered with proto::Error without crashing.
#include <gtest/gtest.h>

#include <zmq.hpp>

#include "scorch/common/transport/dealer.h"
#include "scorch/reward/zmq_service.h"

namespace scorch::reward {
namespace {

using std::chrono::milliseconds;

class FakeOracle : public Oracle {
 public:
  OracleResult Grade(const OracleQuery& q) override {
    std::string_view t = q.text;
    size_t b = t.rfind("\\boxed{");
    if (b == std::string_view::npos) return {OracleVerdict::kWrong, "no_answer", 0};
    size_t e = t.find('}', b);
    return t.substr(b + 7, e - b - 7) == q.gold ? OracleResult{OracleVerdict::kCorrect, "string_equal", 0}
                                                : OracleResult{OracleVerdict::kWrong, "not_equal", 0};
  }
};

proto::GradeItem Item(int64_t prompt_id, const std::string& gold, std::vector<proto::GradeTurn> turns) {
  proto::GradeItem it;
  it.step = 3;
  it.prompt_id = prompt_id;
  it.sample_idx = 1;
  it.lease_id = 77;
  it.protocol = "srr";
  it.gold_answer = gold;
  it.turns = std::move(turns);
  return it;
}

class ZmqServiceTest : public testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    RewardApiOptions o;
    o.reward = *RewardConfig::Preset("srr_bonus");
    api_ = std::move(RewardApi::Create(o, &oracle_, &metrics_)).value();
    ZmqGradeServiceOptions zo;
    zo.endpoint = GetParam();
    zo.poll_interval = milliseconds(20);
    service_ = std::make_unique<ZmqGradeService>(zo, api_.get(), &ctx_);
    ASSERT_TRUE(service_->Start().ok());
    auto d = transport::Dealer::Connect(service_->endpoint(), {}, &ctx_);
    ASSERT_TRUE(d.ok()) << d.status();
    dealer_ = std::move(d).value();
  }
  void TearDown() override {
    dealer_.reset();
    service_->Stop();
  }

  proto::Message Call(const proto::Message& m) {
    EXPECT_TRUE(dealer_->Send(m).ok());
    auto r = dealer_->Receive(milliseconds(5000));
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(r->has_value()) << "no reply";
    return r->has_value() ? **r : proto::Message(proto::Shutdown{});
  }

  zmq::context_t ctx_{1};
  FakeOracle oracle_;
  ServerMetrics metrics_;
  std::unique_ptr<RewardApi> api_;
  std::unique_ptr<ZmqGradeService> service_;
  std::unique_ptr<transport::Dealer> dealer_;
};

TEST_P(ZmqServiceTest, GradeRequestRoundTrip) {
  using K = proto::SegmentKind;
  proto::GradeRequest req;
  req.request_id = 42;
  req.items.push_back(Item(1, "4", {{0, K::kPrompt, "What is 2+2? \\boxed{4}"},
                                    {1, K::kAttempt, "\\boxed{5}"},
                                    {2, K::kVerify, "[VERIFY] wrong."},
                                    {3, K::kAttempt, "\\boxed{4}"},
                                    {4, K::kVerify, "[VERIFY] correct."}}));
  req.items.push_back(Item(2, "4", {{1, K::kAttempt, "\\boxed{3}"}}));
  proto::Message reply = Call(req);
  const auto* r = std::get_if<proto::GradeReply>(&reply);
  ASSERT_NE(r, nullptr) << proto::MessageTypeName(reply);
  EXPECT_EQ(r->request_id, 42u);
  ASSERT_EQ(r->items.size(), 2u);
  const auto& a = r->items[0];
  EXPECT_EQ(a.prompt_id, 1);
  EXPECT_EQ(a.lease_id, 77u);
  EXPECT_EQ(a.final_verdict, proto::Verdict::kCorrect);
  EXPECT_DOUBLE_EQ(a.reward, 1.5);  // wrong → correct under the srr_bonus preset
  EXPECT_DOUBLE_EQ(a.reward_components.at("turn1_correct"), 0.0);
  ASSERT_EQ(a.turns.size(), 4u);
  EXPECT_EQ(a.turns[0].turn, 1);  // the prompt turn is not graded
  EXPECT_EQ(a.turns[0].verdict, proto::Verdict::kWrong);
  EXPECT_EQ(a.turns[1].reason, "self_verdict");
  EXPECT_EQ(r->items[1].final_verdict, proto::Verdict::kWrong);
  EXPECT_DOUBLE_EQ(r->items[1].reward, 0.0);
  EXPECT_EQ(service_->requests_served(), 1u);
}

TEST_P(ZmqServiceTest, UnexpectedOrInvalidMessagesGetErrors) {
  proto::Message reply = Call(proto::Heartbeat{});
  const auto* e = std::get_if<proto::Error>(&reply);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("only GradeRequest"), std::string::npos);
  proto::GradeRequest bad;
  bad.items.push_back(Item(1, "4", {}));
  bad.items[0].protocol = "klingon";
  reply = Call(bad);
  e = std::get_if<proto::Error>(&reply);
  ASSERT_NE(e, nullptr);
  EXPECT_NE(e->message.find("items[0]"), std::string::npos) << e->message;
  // Garbage bytes: the router answers with an Error and the service keeps serving.
  ASSERT_TRUE(dealer_->SendEncoded("\xc1\xff not msgpack").ok());
  auto g = dealer_->Receive(milliseconds(5000));
  ASSERT_TRUE(g.ok());
  ASSERT_TRUE(g->has_value());
  EXPECT_NE(std::get_if<proto::Error>(&**g), nullptr);
  proto::GradeRequest ok;
  ok.items.push_back(Item(9, "4", {{1, proto::SegmentKind::kAttempt, "\\boxed{4}"}}));
  reply = Call(ok);
  ASSERT_NE(std::get_if<proto::GradeReply>(&reply), nullptr);
  EXPECT_GE(service_->errors_sent(), 2u);
}

INSTANTIATE_TEST_SUITE_P(Endpoints, ZmqServiceTest,
                         testing::Values("inproc://scorch-reward-test", "tcp://127.0.0.1:*"));

}  // namespace
}  // namespace scorch::reward
