// Learner checkpoints: exact resume (N steps straight == N/2, save, fresh process state,
// load, N/2 — bitwise on CPU with one thread), a writer killed mid-checkpoint leaves the
// previous checkpoint as `latest` and loadable, and a corrupted file is refused.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>

#include "scorch/common/checkpoint_dir.h"
#include "scorch/learner/learner_checkpoint.h"
#include "scorch/learner/losses.h"
#include "scorch/learner/optimizer.h"
#include "scorch/model/checkpoint.h"
#include "scorch/model/policy.h"

namespace scorch::learner {
namespace {
namespace fs = std::filesystem;

model::ModelConfig TinyConfig() {
  model::ModelConfig c;
  c.vocab_size = 23;
  c.hidden_size = 16;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = 8;
  c.attention_bias = true;
  return c;
}

OptimizerConfig Opt() {
  OptimizerConfig c;
  c.lr = 5e-3;
  c.warmup_steps = 2;
  c.total_steps = 6;
  return c;
}

// One training step whose batch comes from the global RNG, so a resume is only exact if
// the RNG state is restored too.
void TrainStep(model::Policy& policy, Optimizer& opt) {
  auto ids = torch::randint(0, 23, {3, 8}, torch::kLong);
  auto mask = (torch::rand({3, 8}) > 0.3).to(torch::kFloat);
  auto logits = policy->forward(ids).logits;
  auto logp = TokenLogProbs(logits, ids).value();
  auto loss = SftLoss(logp, mask).value();
  loss.loss.backward();
  ASSERT_TRUE(opt.Step().ok());
}

class LearnerCheckpointTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);
    dir_ = fs::temp_directory_path() / ("scorch_learner_ckpt_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LearnerCheckpointTest, ResumeIsBitwiseExact) {
  const int n = 6;
  // Straight run.
  torch::manual_seed(42);
  model::Policy a(TinyConfig());
  model::InitializeWeights(*a, 0.1, 5);
  auto opt_a = std::move(Optimizer::Create(a->parameters(), Opt()).value());
  for (int i = 0; i < n; ++i) TrainStep(a, *opt_a);

  // Half, checkpoint, then a fresh "process": other weights, other RNG, new optimiser.
  torch::manual_seed(42);
  model::Policy b(TinyConfig());
  model::InitializeWeights(*b, 0.1, 5);
  auto opt_b = std::move(Optimizer::Create(b->parameters(), Opt()).value());
  for (int i = 0; i < n / 2; ++i) TrainStep(b, *opt_b);
  LearnerCheckpointInfo info;
  info.step = opt_b->step();
  info.stage = "sft";
  auto saved = SaveLearnerCheckpoint(dir_, *b, TinyConfig(), *opt_b, info);
  ASSERT_TRUE(saved.ok()) << saved.status();

  torch::manual_seed(7);
  model::Policy c(TinyConfig());
  model::InitializeWeights(*c, 0.1, 99);
  auto opt_c = std::move(Optimizer::Create(c->parameters(), Opt()).value());
  auto latest = LatestCheckpoint(dir_);
  ASSERT_TRUE(latest.ok()) << latest.status();
  auto loaded = LoadLearnerCheckpoint(*latest, *c, *opt_c);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->step, n / 2);
  EXPECT_EQ(loaded->stage, "sft");
  EXPECT_EQ(opt_c->step(), n / 2);
  for (int i = n / 2; i < n; ++i) TrainStep(c, *opt_c);

  auto pa = a->named_parameters();
  auto pc = c->named_parameters();
  ASSERT_EQ(pa.size(), pc.size());
  for (const auto& item : pa) {
    EXPECT_TRUE(torch::equal(item.value(), pc[item.key()])) << item.key();
  }
}

TEST_F(LearnerCheckpointTest, WriterKilledMidCheckpointLeavesPreviousLatest) {
  model::Policy p(TinyConfig());
  model::InitializeWeights(*p, 0.1, 5);
  auto opt = std::move(Optimizer::Create(p->parameters(), Opt()).value());
  TrainStep(p, *opt);
  LearnerCheckpointInfo info;
  info.step = opt->step();
  auto first = SaveLearnerCheckpoint(dir_, *p, TinyConfig(), *opt, info);
  ASSERT_TRUE(first.ok()) << first.status();

  TrainStep(p, *opt);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: write most of step-2's files, then die by SIGKILL before the commit.
    auto tmp = BeginCheckpoint(dir_, 2);
    if (tmp.ok()) {
      (void)model::SaveModelDir(*p, TinyConfig(), (*tmp / "model").string());
      (void)opt->Save((*tmp / "optimizer.pt").string());
    }
    ::raise(SIGKILL);
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFSIGNALED(status));

  auto latest = LatestCheckpoint(dir_);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->filename(), CheckpointName(1));
  model::Policy q(TinyConfig());
  auto opt_q = std::move(Optimizer::Create(q->parameters(), Opt()).value());
  auto loaded = LoadLearnerCheckpoint(*latest, *q, *opt_q);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->step, 1);
}

TEST_F(LearnerCheckpointTest, CorruptedFileIsRefused) {
  model::Policy p(TinyConfig());
  model::InitializeWeights(*p, 0.1, 5);
  auto opt = std::move(Optimizer::Create(p->parameters(), Opt()).value());
  TrainStep(p, *opt);
  LearnerCheckpointInfo info;
  info.step = 1;
  auto saved = SaveLearnerCheckpoint(dir_, *p, TinyConfig(), *opt, info);
  ASSERT_TRUE(saved.ok()) << saved.status();
  {
    std::fstream f(*saved / "optimizer.pt", std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(100);
    const char byte = static_cast<char>(f.get());
    f.seekp(100);
    f.put(static_cast<char>(~byte));  // flip every bit of one byte
  }
  auto loaded = LoadLearnerCheckpoint(*saved, *p, *opt);
  ASSERT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.status().code(), StatusCode::kDataLoss);
  EXPECT_NE(loaded.status().message().find("optimizer.pt"), std::string::npos);
}

}  // namespace
}  // namespace scorch::learner
