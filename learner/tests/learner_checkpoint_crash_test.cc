// Crash safety of SaveLearnerCheckpoint (issue #6 acceptance: "a checkpoint interrupted
// mid-write (kill the process) leaves the previous checkpoint loadable and `latest` pointing
// at it"). A forked child runs the real SaveLearnerCheckpoint and dies by SIGKILL:
//  * at every atomic-write crash point of the commit (TEST_SetAtomicWriteHook), one child
//    per point, found by counting until a child finishes without reaching the next point;
//  * asynchronously: the parent SIGKILLs a child that keeps writing checkpoints of a larger
//    model, at different delays after a write has started.
// Afterwards `latest` must name a complete checkpoint that verifies and loads, with exactly
// the weights it was written with, and a new writer must be able to save over the debris.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "scorch/common/atomic_file.h"
#include "scorch/common/checkpoint_dir.h"
#include "scorch/learner/learner_checkpoint.h"
#include "scorch/learner/losses.h"
#include "scorch/learner/optimizer.h"
#include "scorch/model/policy.h"

namespace scorch::learner {
namespace {
namespace fs = std::filesystem;

model::ModelConfig Config(int64_t vocab, int64_t hidden, int64_t layers) {
  model::ModelConfig c;
  c.vocab_size = vocab;
  c.hidden_size = hidden;
  c.intermediate_size = 2 * hidden;
  c.num_hidden_layers = layers;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = hidden / 2;
  return c;
}

OptimizerConfig Opt() {
  OptimizerConfig c;
  c.lr = 1e-2;
  return c;
}

void TrainStep(model::Policy& policy, Optimizer& opt, int64_t vocab) {
  auto ids = torch::randint(0, vocab, {2, 6}, torch::kLong);
  auto logp = TokenLogProbs(policy->forward(ids).logits, ids).value();
  SftLoss(logp, torch::ones({2, 6})).value().loss.backward();
  ASSERT_TRUE(opt.Step().ok());
}

// Exit status of a child, as text for assertion messages.
std::string Describe(int status) {
  if (WIFSIGNALED(status)) return "killed by signal " + std::to_string(WTERMSIG(status));
  if (WIFEXITED(status)) return "exited with " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

// `latest` names step `want_step`, which verifies, loads, and holds `want` weights.
void ExpectLatestLoads(const fs::path& dir, const model::ModelConfig& config, int64_t want_step,
                       const std::vector<torch::Tensor>* want) {
  auto latest = LatestCheckpoint(dir);
  ASSERT_TRUE(latest.ok()) << latest.status();
  EXPECT_EQ(latest->filename(), CheckpointName(want_step));
  EXPECT_TRUE(VerifyCheckpoint(*latest).ok());
  model::Policy q(config);
  auto opt = std::move(Optimizer::Create(q->parameters(), Opt()).value());
  auto loaded = LoadLearnerCheckpoint(*latest, *q, *opt);
  ASSERT_TRUE(loaded.ok()) << loaded.status();
  EXPECT_EQ(loaded->step, want_step);
  EXPECT_EQ(opt->step(), want_step);
  if (want != nullptr) {
    auto params = q->parameters();
    ASSERT_EQ(params.size(), want->size());
    for (size_t i = 0; i < params.size(); ++i) EXPECT_TRUE(torch::equal(params[i], (*want)[i])) << i;
  }
}

std::vector<torch::Tensor> Snapshot(model::Policy& p) {
  std::vector<torch::Tensor> out;
  for (const auto& t : p->parameters()) out.push_back(t.detach().clone());
  return out;
}

class LearnerCheckpointCrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    torch::set_num_threads(1);  // fork-safe: no intra-op pool threads in the parent
    dir_ = fs::temp_directory_path() / ("scorch_learner_crash_" + std::to_string(::getpid()) + "_" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(LearnerCheckpointCrashTest, KilledAtEveryCommitCrashPoint) {
  const auto config = Config(31, 16, 2);
  torch::manual_seed(1);
  model::Policy p(config);
  model::InitializeWeights(*p, 0.1, 5);
  auto opt = std::move(Optimizer::Create(p->parameters(), Opt()).value());
  TrainStep(p, *opt, config.vocab_size);
  const auto weights1 = Snapshot(p);
  const fs::path previous = dir_ / "previous";  // a checkpoints folder holding step 1 only
  LearnerCheckpointInfo info1;
  info1.step = 1;
  ASSERT_TRUE(SaveLearnerCheckpoint(previous, *p, config, *opt, info1).ok());
  TrainStep(p, *opt, config.vocab_size);
  const auto weights2 = Snapshot(p);
  const fs::path ckpts = dir_ / "ckpts";

  std::vector<int64_t> latest_after;  // the step `latest` names after a crash at point 1, 2, ...
  bool completed = false;
  for (int k = 1; k <= 16 && !completed; ++k) {
    SCOPED_TRACE("crash at atomic-write point " + std::to_string(k));
    fs::remove_all(ckpts);
    fs::copy(previous, ckpts, fs::copy_options::recursive);
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      int calls = 0;
      TEST_SetAtomicWriteHook([&calls, k](AtomicWritePoint) {
        if (++calls == k) ::raise(SIGKILL);
      });
      LearnerCheckpointInfo info;
      info.step = opt->step();  // 2
      ::_exit(SaveLearnerCheckpoint(ckpts, *p, config, *opt, info).ok() ? 0 : 3);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      // The save finished without reaching point k: every crash point has been tried.
      completed = true;
      ExpectLatestLoads(ckpts, config, 2, &weights2);
      break;
    }
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << Describe(status);
    auto latest = LatestCheckpoint(ckpts);
    ASSERT_TRUE(latest.ok()) << latest.status();
    const int64_t step = latest->filename() == CheckpointName(2) ? 2 : 1;
    latest_after.push_back(step);
    ExpectLatestLoads(ckpts, config, step, step == 1 ? &weights1 : &weights2);
    // A new writer (the restarted learner) saves over whatever the dead one left.
    LearnerCheckpointInfo info;
    info.step = 2;
    auto resaved = SaveLearnerCheckpoint(ckpts, *p, config, *opt, info);
    ASSERT_TRUE(resaved.ok()) << resaved.status();
    ExpectLatestLoads(ckpts, config, 2, &weights2);
    for (const auto& e : fs::directory_iterator(ckpts)) {
      EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
    }
  }
  ASSERT_TRUE(completed);
  // The commit makes at least two atomic writes (manifest, then `latest`), two points each.
  // Only a crash after `latest` itself was renamed (the last point) exposes step 2.
  ASSERT_GE(latest_after.size(), 4u);
  for (size_t i = 0; i + 1 < latest_after.size(); ++i) {
    EXPECT_EQ(latest_after[i], 1) << "crash point " << i + 1;
  }
  EXPECT_EQ(latest_after.back(), 2);
  std::string trace;
  for (int64_t s : latest_after) trace.append(1, ' ').append(std::to_string(s));
  std::printf("[crash points] %zu; step `latest` names after a crash at each:%s\n", latest_after.size(), trace.c_str());
}

TEST_F(LearnerCheckpointCrashTest, SigkillFromOutsideDuringWritesThenResume) {
  // ~3M parameters: one checkpoint (weights + AdamW moments) is ~38 MB, long enough to be
  // killed in the middle of writing or hashing it.
  const auto config = Config(2048, 256, 4);
  torch::manual_seed(2);
  model::Policy p(config);
  model::InitializeWeights(*p, 0.02, 7);
  auto opt = std::move(Optimizer::Create(p->parameters(), Opt()).value());
  TrainStep(p, *opt, config.vocab_size);
  LearnerCheckpointInfo info;
  info.step = 1;
  ASSERT_TRUE(SaveLearnerCheckpoint(dir_, *p, config, *opt, info).ok());

  int interrupted = 0;  // rounds where the kill left a half-written temp folder behind
  for (int delay_ms : {0, 10, 50}) {
    SCOPED_TRACE("kill " + std::to_string(delay_ms) + " ms after a write started");
    const int64_t resumed_step = opt->step();
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      // Child: train one step and checkpoint it, again and again, until killed.
      for (;;) {
        TrainStep(p, *opt, config.vocab_size);
        LearnerCheckpointInfo i;
        i.step = opt->step();
        if (!SaveLearnerCheckpoint(dir_, *p, config, *opt, i).ok()) ::_exit(3);
      }
    }
    // Wait until the temp folder of the child's second checkpoint exists, then kill.
    const std::string tmp_name = CheckpointName(resumed_step + 2) + ".tmp-" + std::to_string(pid);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (!fs::exists(dir_ / tmp_name) && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    const bool started = fs::exists(dir_ / tmp_name);
    if (started) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(started) << "child never started writing " << tmp_name << " (" << Describe(status) << ")";
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << Describe(status);
    if (fs::exists(dir_ / tmp_name)) ++interrupted;

    // `latest` names a complete checkpoint the child wrote (at least its first), which
    // verifies and loads; the parent resumes from it, like a restarted learner.
    auto latest = LatestCheckpoint(dir_);
    ASSERT_TRUE(latest.ok()) << latest.status();
    auto manifest = ReadManifest(*latest);
    ASSERT_TRUE(manifest.ok()) << manifest.status();
    EXPECT_GE(manifest->step, resumed_step + 1);
    ExpectLatestLoads(dir_, config, manifest->step, nullptr);
    auto resumed = LoadLearnerCheckpoint(*latest, *p, *opt);
    ASSERT_TRUE(resumed.ok()) << resumed.status();
    ASSERT_EQ(opt->step(), manifest->step);
  }
  EXPECT_GE(interrupted, 1) << "no kill landed inside a write";
  std::printf("[outside SIGKILL] %d of 3 kills landed inside a checkpoint write\n", interrupted);
}

}  // namespace
}  // namespace scorch::learner
