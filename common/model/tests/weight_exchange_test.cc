// PublishWeights/ApplyWeights over the shared registry and over files: round trips, version
// rotation, and refusals (checksum, shape) that leave the replica untouched.
#include "scorch/model/weight_exchange.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include "scorch/common/testing/temp_dir.h"
#include "scorch/model/policy.h"

namespace scorch::model {
namespace {

namespace fs = std::filesystem;

ModelConfig Tiny(int64_t hidden = 16) {
  ModelConfig c;
  c.vocab_size = 37;
  c.hidden_size = hidden;
  c.intermediate_size = 24;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 2;
  c.num_key_value_heads = 1;
  c.head_dim = hidden / 2;
  c.tie_word_embeddings = true;
  EXPECT_TRUE(c.Validate().ok());
  return c;
}

Policy Seeded(const ModelConfig& c, uint64_t seed) {
  Policy p(c);
  InitializeWeights(*p, c.initializer_range, seed);
  return p;
}

bool SameWeights(Policy& a, Policy& b) {
  auto pa = a->named_parameters();
  auto pb = b->named_parameters();
  for (const auto& item : pa) {
    if (!torch::equal(item.value(), pb[item.key()])) return false;
  }
  return true;
}

TEST(WeightExchangeTest, SharedRoundTripIsExactAndIndependentOfLaterTraining) {
  const auto c = Tiny();
  Policy learner = Seeded(c, 1);
  Policy worker = Seeded(c, 2);
  ASSERT_FALSE(SameWeights(learner, worker));
  WeightPublishOptions o;
  o.channel = "test-shared-roundtrip";
  auto announce = PublishWeights(*learner, 7, o);
  ASSERT_TRUE(announce.ok()) << announce.status();
  EXPECT_EQ(announce->transport, proto::WeightsTransport::kShared);
  EXPECT_EQ(announce->location, "shared://test-shared-roundtrip/v7");
  EXPECT_GT(announce->size_bytes, 0u);
  Policy snapshot_reference = Seeded(c, 1);
  {  // The learner moves on after publishing: the snapshot must not follow.
    torch::NoGradGuard g;
    for (auto& p : learner->parameters()) p.add_(1.0);
  }
  ASSERT_TRUE(ApplyWeights(*announce, *worker).ok());
  EXPECT_TRUE(SameWeights(worker, snapshot_reference));
  ClearSharedWeights(o.channel);
}

TEST(WeightExchangeTest, SharedKeepsOnlyNewestVersions) {
  const auto c = Tiny();
  Policy learner = Seeded(c, 1);
  Policy worker = Seeded(c, 2);
  WeightPublishOptions o;
  o.channel = "test-shared-keep";
  o.keep = 2;
  proto::WeightsAnnounce first;
  for (int64_t v = 1; v <= 3; ++v) {
    auto a = PublishWeights(*learner, v, o);
    ASSERT_TRUE(a.ok());
    if (v == 1) first = *a;
  }
  auto st = ApplyWeights(first, *worker);
  EXPECT_EQ(st.code(), StatusCode::kNotFound) << st;
  proto::WeightsAnnounce bad = first;
  bad.location = "shared://test-shared-keep/v9";
  EXPECT_EQ(ApplyWeights(bad, *worker).code(), StatusCode::kInvalidArgument);
  ClearSharedWeights(o.channel);
}

TEST(WeightExchangeTest, FileRoundTripVerifiesChecksumAndRotates) {
  testing::TempDir tmp;
  const auto c = Tiny();
  Policy learner = Seeded(c, 3);
  Policy worker = Seeded(c, 4);
  WeightPublishOptions o;
  o.transport = proto::WeightsTransport::kFile;
  o.dir = (tmp.path() / "weights").string();
  o.keep = 2;
  StatusOr<proto::WeightsAnnounce> last = Status::Internal("unset");
  for (int64_t v = 1; v <= 3; ++v) last = PublishWeights(*learner, v, o);
  ASSERT_TRUE(last.ok()) << last.status();
  EXPECT_EQ(last->transport, proto::WeightsTransport::kFile);
  EXPECT_EQ(last->checksum.rfind("sha256:", 0), 0u);
  EXPECT_FALSE(fs::exists(tmp.path() / "weights" / "v1.safetensors"));
  EXPECT_TRUE(fs::exists(tmp.path() / "weights" / "v2.safetensors"));
  ASSERT_TRUE(ApplyWeights(*last, *worker).ok());
  EXPECT_TRUE(SameWeights(worker, learner));

  // A corrupted file is refused before any parameter changes.
  Policy fresh = Seeded(c, 5);
  Policy fresh_copy = Seeded(c, 5);
  {
    std::fstream f(last->location, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(-3, std::ios::end);
    f.put('\x7f');
  }
  auto st = ApplyWeights(*last, *fresh);
  EXPECT_EQ(st.code(), StatusCode::kDataLoss) << st;
  EXPECT_TRUE(SameWeights(fresh, fresh_copy));
}

TEST(WeightExchangeTest, ShapeMismatchLeavesReplicaUntouched) {
  Policy learner = Seeded(Tiny(16), 1);
  Policy other = Seeded(Tiny(8), 2);
  Policy other_copy = Seeded(Tiny(8), 2);
  WeightPublishOptions o;
  o.channel = "test-shape";
  auto a = PublishWeights(*learner, 1, o);
  ASSERT_TRUE(a.ok());
  auto st = ApplyWeights(*a, *other);
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st;
  EXPECT_NE(st.message().find("shape"), std::string::npos) << st;
  EXPECT_TRUE(SameWeights(other, other_copy));
  ClearSharedWeights(o.channel);
}

}  // namespace
}  // namespace scorch::model
