// SRR IFT segment rules (ALGORITHMS §4.4), the M-DPO mask (§4.3) and kind masks.
#include <gtest/gtest.h>

#include "scorch/learner/segment_masks.h"

namespace scorch::learner {
namespace {

using proto::ChatRole;
using proto::Segment;
using proto::SegmentKind;

Segment Seg(SegmentKind kind, int32_t turn, int32_t begin, int32_t end,
            ChatRole role = ChatRole::kAssistant) {
  Segment s;
  s.kind = kind;
  s.turn = turn;
  s.begin = begin;
  s.end = end;
  s.role = role;
  return s;
}

// x [0,2) a¹ [2,5) y¹ [5,7) o [7,9) a² [9,12) y² [12,14)
std::vector<Segment> TwoTurn() {
  return {Seg(SegmentKind::kPrompt, 0, 0, 2, ChatRole::kUser), Seg(SegmentKind::kAttempt, 0, 2, 5),
          Seg(SegmentKind::kVerify, 0, 5, 7), Seg(SegmentKind::kInstruction, 1, 7, 9, ChatRole::kUser),
          Seg(SegmentKind::kAttempt, 1, 9, 12), Seg(SegmentKind::kVerify, 1, 12, 14)};
}

std::vector<int> Ones(const torch::Tensor& mask) {
  std::vector<int> out;
  for (int64_t i = 0; i < mask.size(0); ++i) {
    if (mask[i].item<float>() != 0.0f) out.push_back(static_cast<int>(i));
  }
  return out;
}

TEST(SrrSftMaskTest, D1TrainsVerdictAndCorrectionNotWrongAttempt) {
  auto m = SrrSftMask(TwoTurn(), 14, SrrSet::kD1);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(Ones(*m), (std::vector<int>{5, 6, 9, 10, 11}));
}

TEST(SrrSftMaskTest, D2TrainsOnlyTheCorrection) {
  auto m = SrrSftMask(TwoTurn(), 14, SrrSet::kD2);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Ones(*m), (std::vector<int>{9, 10, 11}));
}

TEST(SrrSftMaskTest, SecondVerifyIsOptIn) {
  auto m = SrrSftMask(TwoTurn(), 14, SrrSet::kD2, {.train_second_verify = true});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Ones(*m), (std::vector<int>{9, 10, 11, 12, 13}));
}

TEST(SrrSftMaskTest, D3TrainsAttemptAndVerdict) {
  std::vector<Segment> segs = {Seg(SegmentKind::kPrompt, 0, 0, 2, ChatRole::kUser),
                               Seg(SegmentKind::kAttempt, 0, 2, 5), Seg(SegmentKind::kVerify, 0, 5, 7)};
  auto m = SrrSftMask(segs, 8, SrrSet::kD3);  // token 7: trailing padding
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(Ones(*m), (std::vector<int>{2, 3, 4, 5, 6}));
  // A D3 trajectory must stop after turn 0.
  auto bad = SrrSftMask(TwoTurn(), 14, SrrSet::kD3);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("D3"), std::string::npos);
}

TEST(SrrSftMaskTest, MalformedSegmentsAreRejected) {
  // D1 without a².
  std::vector<Segment> one_turn = {Seg(SegmentKind::kAttempt, 0, 0, 3), Seg(SegmentKind::kVerify, 0, 3, 4)};
  EXPECT_FALSE(SrrSftMask(one_turn, 4, SrrSet::kD1).ok());
  // Out of range, overlapping, third turn.
  EXPECT_FALSE(SrrSftMask(TwoTurn(), 13, SrrSet::kD1).ok());
  auto overlap = TwoTurn();
  overlap[2].begin = 4;
  EXPECT_FALSE(SrrSftMask(overlap, 14, SrrSet::kD1).ok());
  auto third = TwoTurn();
  third.push_back(Seg(SegmentKind::kAttempt, 2, 14, 15));
  EXPECT_FALSE(SrrSftMask(third, 15, SrrSet::kD1).ok());
}

TEST(MdpoMaskTest, ModelTokensAfterSharedPrefixWithoutInstructions) {
  auto m = MdpoMask(TwoTurn(), 14, /*shared_prefix=*/6);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(Ones(*m), (std::vector<int>{6, 9, 10, 11, 12, 13}));
  EXPECT_FALSE(MdpoMask(TwoTurn(), 14, 15).ok());
}

TEST(MdpoMaskTest, CommonPrefix) {
  EXPECT_EQ(CommonPrefixLength({1, 2, 3, 4}, {1, 2, 5}), 2);
  EXPECT_EQ(CommonPrefixLength({1, 2}, {1, 2, 3}), 2);
  EXPECT_EQ(CommonPrefixLength({}, {1}), 0);
}

TEST(KindMaskTest, SelectsKinds) {
  auto m = KindMask(TwoTurn(), 14, {SegmentKind::kInstruction, SegmentKind::kPrompt});
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(Ones(*m), (std::vector<int>{0, 1, 7, 8}));
}

}  // namespace
}  // namespace scorch::learner
