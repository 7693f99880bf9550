// `scorch rollout` end to end, through RunWorkerProcess (the command's whole body) in a
// thread: a fake orchestrator ROUTER on tcp://127.0.0.1:<random port> checks the Hello
// handshake, gets trajectories equal to a local reference built from the same job yaml,
// publishes new weights over the `file` transport and sees the next trajectories generated
// by them and stamped with their version, then shuts the worker down (drained). Bad configs,
// model directories and corrupt weights end the worker with an error naming the problem.
#include "scorch/rollout/worker_process.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <thread>

#include "scorch/common/transport/router.h"
#include "scorch/model/char_tokenizer.h"
#include "scorch/model/model_config.h"
#include "scorch/model/policy.h"
#include "scorch/model/weight_exchange.h"
#include "scorch/rollout/rollout_engine.h"
#include "scorch/rollout/step_model.h"

namespace scorch::rollout {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

const std::string kTinyConfig = std::string(SCORCH_SOURCE_DIR) + "/configs/models/tiny.json";
constexpr int64_t kSeed = 77;

class WorkerProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("scorch_worker_process_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    yaml_ = (dir_ / "job.yaml").string();
    std::ofstream(yaml_) << "job: {name: worker-test, seed: " << kSeed << ", threads: 1}\n"
                         << "model: {init_config: \"" << kTinyConfig << "\", tokenizer: char}\n"
                         << "prompts: {srr_system_prompt: \"Solve.\", eval_system_prompt: \"Answer.\"}\n"
                         << "rollout: {slots: 4, max_seq_len: 1024, max_turns: 2, max_new_tokens: 8}\n"
                         << "stages:\n  - {name: e, kind: eval, protocol: single_turn, steps: 1, batch_prompts: 1}\n";
  }
  void TearDown() override { fs::remove_all(dir_); }

  // The job's starting policy, built here independently of the worker.
  static model::Policy StartingPolicy() {
    auto c = model::LoadModelConfig(kTinyConfig);
    EXPECT_TRUE(c.ok()) << c.status();
    model::Policy p(*c);
    model::InitializeWeights(*p, c->initializer_range, kSeed);
    p->eval();
    return p;
  }

  static proto::GenerateRequest Req(uint64_t lease, const std::string& protocol, const std::string& prompt) {
    proto::GenerateRequest r;
    r.lease_id = lease;
    r.prompt_id = static_cast<int64_t>(lease);
    r.prompt_text = prompt;
    r.protocol = protocol;
    r.sampling.temperature = 0.0f;
    r.sampling.max_new_tokens = 8;
    return r;
  }

  // Token ids of `r` generated locally by `policy` with the job's protocol settings.
  std::vector<int32_t> Reference(model::Policy policy, const proto::GenerateRequest& r) {
    PolicyStepModel m(policy, PolicyStepModelOptions{2, 1024});
    Generator g(m, *tok_);
    ProtocolOptions po;
    po.max_turns = 2;
    po.texts.srr_system_prompt = "Solve.";
    po.texts.eval_system_prompt = "Answer.";
    RolloutEngine e(g, *tok_, po);
    EXPECT_TRUE(e.Submit(r, 0).ok());
    auto out = e.RunToCompletion();
    EXPECT_EQ(out.size(), 1u);
    return out.empty() ? std::vector<int32_t>{} : out[0].trajectory.token_ids;
  }

  // Receives until a message of type T arrives (skipping heartbeats); fails after ~20 s.
  template <typename T>
  std::optional<T> Expect(transport::Router& router, std::string* peer = nullptr) {
    for (int i = 0; i < 2000; ++i) {
      auto in = router.Receive(10ms);
      EXPECT_TRUE(in.ok()) << in.status();
      if (!in.ok()) return std::nullopt;
      if (!*in) continue;
      if (std::holds_alternative<proto::Heartbeat>((*in)->message)) {
        ++heartbeats_;
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

  fs::path dir_;
  std::string yaml_;
  std::unique_ptr<model::CharTokenizer> tok_ = model::CharTokenizer::CreateDefault();
  int heartbeats_ = 0;
};

TEST_F(WorkerProcessTest, HandshakeTrajectoriesFileWeightsAndDrainedShutdown) {
  auto router = transport::Router::Bind("tcp://127.0.0.1:*");
  ASSERT_TRUE(router.ok()) << router.status();
  WorkerProcessOptions o;
  o.endpoint = (*router)->endpoint();
  o.config_path = yaml_;
  o.capacity = 3;
  o.rank = 2;
  o.token = "s3cret";
  o.heartbeat_interval = 20ms;
  Status result = Status::Internal("not run");
  RolloutWorkerStats stats;
  std::thread worker([&] { result = RunWorkerProcess(o, &stats); });

  std::string peer;
  auto hello = Expect<proto::Hello>(**router, &peer);
  ASSERT_TRUE(hello);
  EXPECT_EQ(peer, "rollout-2");
  EXPECT_EQ(hello->role, proto::Role::kRollout);
  EXPECT_EQ(hello->rank, 2);
  EXPECT_EQ(hello->capacity, 3);
  EXPECT_EQ(hello->policy_version, 0);
  EXPECT_EQ(hello->token, std::optional<std::string>("s3cret"));

  // Version 0: the worker built the same starting weights as the job (init_config + seed).
  model::Policy v0 = StartingPolicy();
  std::vector<proto::GenerateRequest> first = {Req(1, "single_turn", "1+2="), Req(2, "self_correct", "3*4=")};
  for (const auto& r : first) ASSERT_TRUE((*router)->Send(peer, r).ok());
  std::map<uint64_t, proto::Trajectory> got;
  for (int i = 0; i < 2; ++i) {
    auto t = Expect<proto::Trajectory>(**router);
    ASSERT_TRUE(t);
    got[t->lease_id] = *t;
  }
  for (const auto& r : first) {
    EXPECT_EQ(got[r.lease_id].policy_version, 0);
    EXPECT_EQ(got[r.lease_id].token_ids, Reference(v0, r)) << "lease " << r.lease_id;
  }

  // Version 3 over the file transport: new weights, the next trajectory is theirs.
  model::Policy v3 = StartingPolicy();
  model::InitializeWeights(*v3, 0.3, 99);
  v3->eval();
  model::WeightPublishOptions wp;
  wp.transport = proto::WeightsTransport::kFile;
  wp.dir = (dir_ / "weights").string();
  auto announce = model::PublishWeights(*v3, 3, wp);
  ASSERT_TRUE(announce.ok()) << announce.status();
  ASSERT_TRUE((*router)->Send(peer, *announce).ok());
  auto after = Req(3, "single_turn", "1+2=");
  ASSERT_TRUE((*router)->Send(peer, after).ok());
  auto t3 = Expect<proto::Trajectory>(**router);
  ASSERT_TRUE(t3);
  EXPECT_EQ(t3->lease_id, 3u);
  EXPECT_EQ(t3->policy_version, 3);
  EXPECT_EQ(t3->token_ids, Reference(v3, after));
  EXPECT_NE(t3->logprobs, got[1].logprobs);  // same prompt, other weights

  // Drained shutdown: a request sent just before Shutdown is still answered.
  ASSERT_TRUE((*router)->Send(peer, Req(4, "two_turn", "5-1=")).ok());
  ASSERT_TRUE((*router)->Send(peer, proto::Shutdown{"test over", true}).ok());
  auto t4 = Expect<proto::Trajectory>(**router);
  ASSERT_TRUE(t4);
  EXPECT_EQ(t4->lease_id, 4u);
  EXPECT_EQ(t4->policy_version, 3);
  worker.join();
  EXPECT_TRUE(result.ok()) << result;
  EXPECT_EQ(stats.trajectories, 4);
  EXPECT_EQ(stats.weight_swaps, 1);
  EXPECT_GT(heartbeats_, 0);
}

TEST_F(WorkerProcessTest, CorruptWeightsEndTheWorkerWithTheError) {
  auto router = transport::Router::Bind("tcp://127.0.0.1:*");
  ASSERT_TRUE(router.ok()) << router.status();
  WorkerProcessOptions o;
  o.endpoint = (*router)->endpoint();
  o.config_path = yaml_;
  Status result;
  std::thread worker([&] { result = RunWorkerProcess(o); });
  std::string peer;
  ASSERT_TRUE(Expect<proto::Hello>(**router, &peer));
  model::Policy p = StartingPolicy();
  model::WeightPublishOptions wp;
  wp.transport = proto::WeightsTransport::kFile;
  wp.dir = (dir_ / "weights").string();
  auto announce = model::PublishWeights(*p, 5, wp);
  ASSERT_TRUE(announce.ok()) << announce.status();
  announce->checksum = "sha256:" + std::string(64, '0');
  ASSERT_TRUE((*router)->Send(peer, *announce).ok());
  worker.join();
  EXPECT_FALSE(result.ok());
  EXPECT_NE(result.ToString().find("version 5"), std::string::npos) << result;
}

TEST_F(WorkerProcessTest, BadInputsAreNamed) {
  WorkerProcessOptions o;
  o.endpoint = "tcp://127.0.0.1:1";
  o.config_path = (dir_ / "missing.yaml").string();
  Status s = RunWorkerProcess(o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("missing.yaml"), std::string::npos) << s;

  o.config_path = yaml_;
  o.model_dir = (dir_ / "no_model").string();
  s = RunWorkerProcess(o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("no_model"), std::string::npos) << s;

  o.model_dir.clear();
  o.overrides = {"rollout.max_seq_len=4096"};  // tiny.json: max_position_embeddings 2048
  s = RunWorkerProcess(o);
  EXPECT_FALSE(s.ok());
  EXPECT_NE(s.ToString().find("max_position_embeddings"), std::string::npos) << s;

  o.overrides.clear();
  o.endpoint.clear();
  s = RunWorkerProcess(o);
  EXPECT_NE(s.ToString().find("--connect"), std::string::npos) << s;
}

}  // namespace
}  // namespace scorch::rollout
