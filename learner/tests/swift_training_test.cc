// Tests of SWIFT head training on a separable toy set: BCE, pairwise and hinge losses learn,
// early stopping keeps the best epoch's weights, the split is by group, bad inputs are
// rejected and training is deterministic in the seed.
#include "scorch/learner/swift_training.h"

#include <gtest/gtest.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <set>
#include <string>
#include <vector>

namespace scorch::learner {
namespace {

using model::SwiftHead;

constexpr int64_t kDim = 8;

// `groups` problems × `per_group` responses. A response's token features are noise plus
// +direction (correct) or −direction (wrong), with 3..10 tokens. With `random_labels` the
// features carry no information about the label.
std::vector<SwiftExample> ToySet(int64_t groups, int64_t per_group, uint64_t seed, bool random_labels = false,
                                 double noise = 0.7) {
  torch::manual_seed(seed);
  auto dir = torch::randn({kDim});
  dir = dir / dir.norm();
  std::vector<SwiftExample> out;
  for (int64_t g = 0; g < groups; ++g) {
    for (int64_t k = 0; k < per_group; ++k) {
      const int64_t T = 3 + torch::randint(0, 8, {1}).item<int64_t>();
      const float label = (k % 2 == 0) ? 1.0f : 0.0f;
      const float sign = random_labels ? (torch::rand({1}).item<float>() < 0.5f ? 1.0f : -1.0f)
                                       : (label == 1.0f ? 1.0f : -1.0f);
      auto f = torch::randn({T, kDim}) * noise + sign * dir;
      out.push_back({f, label, 100 + g});
    }
  }
  return out;
}

SwiftTrainOptions FastOptions(const std::string& loss = "bce") {
  SwiftTrainOptions o;
  o.loss = loss;
  o.lr = 0.05;
  o.max_epochs = 30;
  o.seed = 5;
  return o;
}

double ValBce(SwiftHead& head, const std::vector<SwiftExample>& ex, const SwiftTrainOptions& o) {
  auto split = SplitSwiftExamples(ex, o);
  EXPECT_TRUE(split.ok()) << split.status();
  auto ev = EvaluateSwiftHead(head, ex, split->val, o.batch_size);
  EXPECT_TRUE(ev.ok()) << ev.status();
  return ev->bce;
}

TEST(SwiftTrainingTest, BceLearnsSeparableSet) {
  auto ex = ToySet(16, 8, 1);
  auto o = FastOptions();
  SwiftHead head(kDim);
  const double initial = ValBce(head, ex, o);
  EXPECT_NEAR(initial, std::log(2.0), 1e-6);  // zero-initialised head: R = 0
  auto report = TrainSwiftHead(head, ex, o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_EQ(report->train_examples + report->val_examples, 128);
  EXPECT_NEAR(static_cast<double>(report->val_examples), 0.2 * 128, 8.0);
  EXPECT_LT(report->best_val_loss, 0.3 * initial);
  EXPECT_GT(report->best_val_accuracy, 0.9);
  EXPECT_LT(report->train_loss.back(), report->train_loss.front());
  EXPECT_EQ(static_cast<int64_t>(report->val_loss.size()), report->epochs_run);
  EXPECT_NEAR(ValBce(head, ex, o), report->best_val_loss, 1e-5);
  auto j = report->ToJson();
  EXPECT_EQ(j["epochs_run"], report->epochs_run);
  EXPECT_EQ(j["val_loss"].size(), report->val_loss.size());
}

TEST(SwiftTrainingTest, PairwiseAndHingeLearn) {
  auto ex = ToySet(16, 8, 2);
  for (const std::string loss : {"pairwise", "hinge"}) {
    SwiftHead head(kDim);
    auto report = TrainSwiftHead(head, ex, FastOptions(loss));
    ASSERT_TRUE(report.ok()) << loss << ": " << report.status();
    EXPECT_GT(report->best_val_accuracy, 0.9) << loss;
    EXPECT_LT(report->best_val_loss, std::log(2.0)) << loss;
    EXPECT_GT(report->best_val_pair_accuracy, 0.9) << loss;
  }
}

// Early stopping reads the training loss's own validation value: for pairwise, −log σ(R⁺ − R⁻)
// over every correct×wrong pair of one problem in the validation split, recomputed here from
// the returned (best-epoch) head, with the pair accuracy beside it.
TEST(SwiftTrainingTest, PairwiseValidationLossCoversEveryValidationPair) {
  auto ex = ToySet(16, 8, 7, /*random_labels=*/false, /*noise=*/1.5);
  const auto o = FastOptions("pairwise");
  SwiftHead head(kDim);
  auto report = TrainSwiftHead(head, ex, o);
  ASSERT_TRUE(report.ok()) << report.status();
  auto split = SplitSwiftExamples(ex, o);
  ASSERT_TRUE(split.ok());
  auto ev = EvaluateSwiftHead(head, ex, split->val, o.batch_size);
  ASSERT_TRUE(ev.ok()) << ev.status();
  double loss = 0.0, wins = 0.0;
  int64_t pairs = 0;
  for (size_t a = 0; a < split->val.size(); ++a) {
    for (size_t b = 0; b < split->val.size(); ++b) {
      const auto& ea = ex[static_cast<size_t>(split->val[a])];
      const auto& eb = ex[static_cast<size_t>(split->val[b])];
      if (ea.group != eb.group || ea.label != 1.0f || eb.label != 0.0f) continue;
      const double diff = ev->scores[a] - ev->scores[b];
      loss += std::log1p(std::exp(-diff));
      wins += diff > 0 ? 1.0 : (diff == 0 ? 0.5 : 0.0);
      ++pairs;
    }
  }
  EXPECT_EQ(pairs, static_cast<int64_t>(split->val.size() / 8) * 16);  // 4 correct × 4 wrong per held-out problem
  EXPECT_EQ(report->val_pairs, pairs);
  EXPECT_NEAR(report->best_val_loss, loss / static_cast<double>(pairs), 1e-5);
  EXPECT_NEAR(report->best_val_pair_accuracy, wins / static_cast<double>(pairs), 1e-9);
  EXPECT_EQ(report->val_loss[static_cast<size_t>(report->best_epoch - 1)], report->best_val_loss);
  EXPECT_EQ(report->ToJson()["val_pair_accuracy"].size(), report->val_loss.size());
}

TEST(SwiftTrainingTest, GateOffLearnsToo) {
  auto ex = ToySet(12, 6, 3);
  SwiftHead head(kDim, /*gate=*/false);
  auto report = TrainSwiftHead(head, ex, FastOptions());
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_GT(report->best_val_accuracy, 0.9);
}

TEST(SwiftTrainingTest, EarlyStoppingKeepsBestEpoch) {
  auto ex = ToySet(16, 8, 4, /*random_labels=*/true, /*noise=*/1.0);
  auto o = FastOptions();
  o.patience = 1;
  o.max_epochs = 40;
  o.lr = 0.1;
  SwiftHead head(kDim);
  auto report = TrainSwiftHead(head, ex, o);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_LT(report->epochs_run, o.max_epochs);
  EXPECT_EQ(report->epochs_run - report->best_epoch, o.patience);
  const double best = *std::min_element(report->val_loss.begin(), report->val_loss.end());
  EXPECT_EQ(report->best_val_loss, best);
  EXPECT_EQ(report->val_loss[static_cast<size_t>(report->best_epoch - 1)], best);
  // The returned head is the best epoch's, not the last one's.
  EXPECT_NEAR(ValBce(head, ex, o), report->best_val_loss, 1e-5);
  EXPECT_GT(report->val_loss.back(), report->best_val_loss);
}

TEST(SwiftTrainingTest, SplitIsByGroupAndTooFewExamplesFail) {
  auto ex = ToySet(10, 4, 5);
  auto o = FastOptions();
  auto split = SplitSwiftExamples(ex, o);
  ASSERT_TRUE(split.ok()) << split.status();
  std::set<int64_t> train_groups, val_groups;
  for (int64_t i : split->train) train_groups.insert(ex[static_cast<size_t>(i)].group);
  for (int64_t i : split->val) val_groups.insert(ex[static_cast<size_t>(i)].group);
  for (int64_t g : val_groups) EXPECT_EQ(train_groups.count(g), 0u) << "group " << g << " on both sides";
  EXPECT_EQ(split->train.size() + split->val.size(), ex.size());
  EXPECT_EQ(split->val.size(), 8u);  // two whole groups of 4 = 20% of 40

  SwiftHead head(kDim);
  std::vector<SwiftExample> one = {ex[0]};
  auto r = TrainSwiftHead(head, one, o);
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  std::vector<SwiftExample> one_group(ex.begin(), ex.begin() + 4);  // all group 100
  r = TrainSwiftHead(head, one_group, o);
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("train = 0"), std::string::npos) << r.status();
  EXPECT_TRUE(TrainSwiftHead(head, {}, o).status().IsInvalidArgument());

  // Pairwise needs a group with both labels on the training side.
  auto all_correct = ex;
  for (auto& e : all_correct) e.label = 1.0f;
  r = TrainSwiftHead(head, all_correct, FastOptions("pairwise"));
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  // ... and on the validation side, which early stopping reads.
  auto split_ex = SplitSwiftExamples(ex, o);
  ASSERT_TRUE(split_ex.ok());
  auto val_all_correct = ex;
  for (int64_t i : split_ex->val) val_all_correct[static_cast<size_t>(i)].label = 1.0f;
  r = TrainSwiftHead(head, val_all_correct, FastOptions("pairwise"));
  EXPECT_TRUE(r.status().IsInvalidArgument()) << r.status();
  EXPECT_NE(r.status().message().find("validation group"), std::string::npos) << r.status();
}

TEST(SwiftTrainingTest, RejectsBadOptionsAndExamples) {
  auto ex = ToySet(5, 4, 6);
  SwiftHead head(kDim);
  auto o = FastOptions();
  o.loss = "nca";
  auto r = TrainSwiftHead(head, ex, o);
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("loss"), std::string::npos);
  o = FastOptions();
  o.val_fraction = 1.0;
  EXPECT_NE(TrainSwiftHead(head, ex, o).status().message().find("val_fraction"), std::string::npos);
  o = FastOptions();
  o.batch_size = 0;
  EXPECT_NE(TrainSwiftHead(head, ex, o).status().message().find("batch_size"), std::string::npos);

  auto wrong_dim = ex;
  wrong_dim[3].features = torch::randn({4, kDim + 1});
  r = TrainSwiftHead(head, wrong_dim, FastOptions());
  EXPECT_TRUE(r.status().IsInvalidArgument());
  EXPECT_NE(r.status().message().find("example 3"), std::string::npos) << r.status();
  auto bad_label = ex;
  bad_label[2].label = 0.5f;
  EXPECT_TRUE(TrainSwiftHead(head, bad_label, FastOptions()).status().IsInvalidArgument());

  // Non-finite features make the loss non-finite: FailedPrecondition, head left as it was.
  auto nan = ex;
  for (auto& e : nan) e.features = torch::full_like(e.features, std::nanf(""));
  r = TrainSwiftHead(head, nan, FastOptions());
  EXPECT_EQ(r.status().code(), StatusCode::kFailedPrecondition) << r.status();
  EXPECT_EQ(head->linear->weight.abs().sum().item<float>(), 0.0f);
}

TEST(SwiftTrainingTest, DeterministicGivenSeed) {
  auto ex = ToySet(12, 6, 7);
  auto o = FastOptions();
  o.max_epochs = 8;
  SwiftHead a(kDim), b(kDim), c(kDim);
  auto ra = TrainSwiftHead(a, ex, o);
  auto rb = TrainSwiftHead(b, ex, o);
  ASSERT_TRUE(ra.ok() && rb.ok());
  EXPECT_EQ(ra->ToJson(), rb->ToJson());
  EXPECT_TRUE(torch::equal(a->linear->weight, b->linear->weight));
  EXPECT_TRUE(torch::equal(a->linear->bias, b->linear->bias));
  o.seed = 6;
  auto rc = TrainSwiftHead(c, ex, o);
  ASSERT_TRUE(rc.ok());
  EXPECT_NE(rc->val_loss, ra->val_loss);
}

}  // namespace
}  // namespace scorch::learner
