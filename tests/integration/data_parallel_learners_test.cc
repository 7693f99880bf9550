// Data-parallel learners under mpirun: the same SFT job run with cluster.roles.learner = 1
// and = 2 (each of the two ranks takes half of every global batch, the gradients are summed
// over the learners' own communicator) must train the same — the same loss, gradient norm and
// token count at every step, and the same weights at the end, up to float summation order.
#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scorch/common/metrics_writer.h"
#include "scorch/common/testing/temp_dir.h"
#include "scorch/model/safetensors.h"

namespace scorch {
namespace {

namespace fs = std::filesystem;

std::string Slurp(const fs::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Runs the 6-step sft-only quickstart with `learners` learner ranks (plus the orchestrator and
// one rollout rank) from the source tree; returns mpirun's exit status.
int RunJob(const fs::path& runs, const std::string& name, int learners) {
  std::string cmd = "cd '" + std::string(SCORCH_SOURCE_DIR) + "' && timeout 240 mpirun --oversubscribe --bind-to none";
  if (::geteuid() == 0) cmd += " --allow-run-as-root";
  cmd += " -np " + std::to_string(2 + learners) + " '" + SCORCH_BINARY + "' run configs/quickstart.yaml";
  for (const std::string& kv :
       {"job.runs_dir=" + runs.string(), "job.name=" + name, std::string("job.threads=1"),
        "cluster.roles.learner=" + std::to_string(learners), std::string("learner.micro_batch_rows=4"),
        std::string("stages.0.steps=6"), std::string("stages.1.steps=0"), std::string("stages.2.steps=0"),
        std::string("stages.3.steps=0"), std::string("stages.4.steps=0"), std::string("stages.5.steps=0"),
        std::string("stages.6.steps=0")}) {
    cmd += " --set '" + kv + "'";
  }
  cmd += " > '" + (runs / (name + ".txt")).string() + "' 2>&1";
  const int status = std::system(cmd.c_str());
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(DataParallelLearners, TwoLearnersTrainTheSameAsOne) {
  testing::TempDir tmp;
  ASSERT_EQ(RunJob(tmp.path(), "one", 1), 0) << Slurp(tmp / "one.txt");
  ASSERT_EQ(RunJob(tmp.path(), "two", 2), 0) << Slurp(tmp / "two.txt");
  const std::string follower = Slurp(tmp / "two" / "logs" / "learner-1.log");
  EXPECT_NE(follower.find("follows learner 0 over mpi (2 data-parallel ranks)"), std::string::npos) << follower;

  auto one = MetricsWriter::ReadAll(tmp / "one" / "metrics.jsonl");
  auto two = MetricsWriter::ReadAll(tmp / "two" / "metrics.jsonl");
  ASSERT_TRUE(one.ok()) << one.status();
  ASSERT_TRUE(two.ok()) << two.status();
  ASSERT_EQ(one->size(), 6u);
  ASSERT_EQ(two->size(), 6u);
  for (size_t i = 0; i < one->size(); ++i) {
    const auto& a = (*one)[i];
    const auto& b = (*two)[i];
    EXPECT_EQ(a["tokens"].get<double>(), b["tokens"].get<double>()) << "step " << i + 1;
    for (const char* key : {"loss", "grad_norm"}) {
      const double x = a[key].get<double>(), y = b[key].get<double>();
      EXPECT_NEAR(x, y, 1e-5 * std::max(1.0, std::abs(x))) << key << " at step " << i + 1;
    }
  }

  // The final weights, tensor by tensor.
  auto w1 = model::SafetensorsFile::Open((tmp / "one" / "checkpoints" / "step-000006" / "model" / "model.safetensors").string());
  auto w2 = model::SafetensorsFile::Open((tmp / "two" / "checkpoints" / "step-000006" / "model" / "model.safetensors").string());
  ASSERT_TRUE(w1.ok()) << w1.status();
  ASSERT_TRUE(w2.ok()) << w2.status();
  ASSERT_EQ((*w1)->header().entries.size(), (*w2)->header().entries.size());
  double worst = 0.0;
  for (const auto& entry : (*w1)->header().entries) {
    auto a = (*w1)->Load(entry.name);
    auto b = (*w2)->Load(entry.name);
    ASSERT_TRUE(a.ok() && b.ok()) << entry.name;
    ASSERT_EQ(a->sizes(), b->sizes()) << entry.name;
    worst = std::max(worst, (*a - *b).abs().max().item<double>());
  }
  EXPECT_LT(worst, 1e-5) << "largest weight difference after 6 steps";
  // The starting weights moved (the comparison above is not between two untrained models).
  EXPECT_LT((*one)[5]["loss"].get<double>(), (*one)[0]["loss"].get<double>());
}

}  // namespace
}  // namespace scorch
