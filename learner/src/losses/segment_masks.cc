// Training masks from trajectory segments: SRR IFT sets, M-DPO, kind masks. See
// segment_masks.h.
#include "scorch/learner/segment_masks.h"

#include <algorithm>
#include <string>

namespace scorch::learner {
namespace {

using proto::Segment;
using proto::SegmentKind;

Status CheckSegments(const std::vector<Segment>& segments, int64_t num_tokens, const char* who) {
  if (num_tokens < 0) return Status::InvalidArgument(std::string(who) + ": num_tokens must be >= 0");
  int64_t prev_end = 0;
  for (size_t i = 0; i < segments.size(); ++i) {
    const auto& s = segments[i];
    if (s.begin < 0 || s.end < s.begin || s.end > num_tokens) {
      return Status::InvalidArgument(std::string(who) + ": segment " + std::to_string(i) + " [" +
                                     std::to_string(s.begin) + ", " + std::to_string(s.end) +
                                     ") is outside [0, " + std::to_string(num_tokens) + ")");
    }
    if (s.begin < prev_end) {
      return Status::InvalidArgument(std::string(who) + ": segment " + std::to_string(i) +
                                     " overlaps or precedes the previous one");
    }
    prev_end = s.end;
  }
  return Status::Ok();
}

bool IsModelWritten(SegmentKind k) {
  return k == SegmentKind::kAttempt || k == SegmentKind::kVerify || k == SegmentKind::kEvaluation;
}

const Segment* Find(const std::vector<Segment>& segments, SegmentKind kind, int32_t turn) {
  for (const auto& s : segments) {
    if (s.kind == kind && s.turn == turn) return &s;
  }
  return nullptr;
}

void Fill(torch::Tensor& mask, const Segment& s, int64_t from = 0) {
  const int64_t b = std::max<int64_t>(s.begin, from);
  if (s.end > b) mask.slice(0, b, s.end).fill_(1.0);
}

const char* SetName(SrrSet set) {
  switch (set) {
    case SrrSet::kD1:
      return "D1";
    case SrrSet::kD2:
      return "D2";
    case SrrSet::kD3:
      return "D3";
  }
  return "?";
}

}  // namespace

StatusOr<torch::Tensor> SrrSftMask(const std::vector<Segment>& segments, int64_t num_tokens, SrrSet set,
                                   const SrrMaskOptions& options) {
  SCORCH_RETURN_IF_ERROR(CheckSegments(segments, num_tokens, "SrrSftMask"));
  const std::string who = std::string("SrrSftMask(") + SetName(set) + "): ";
  for (const auto& s : segments) {
    if (IsModelWritten(s.kind) && (s.turn < 0 || s.turn > 1)) {
      return Status::InvalidArgument(who + "SRR trajectories have turns 0 and 1, got a model segment in turn " +
                                     std::to_string(s.turn));
    }
    if (s.kind == SegmentKind::kEvaluation) {
      return Status::InvalidArgument(who + "an evaluation segment has no place in an SRR trajectory");
    }
  }
  const Segment* a1 = Find(segments, SegmentKind::kAttempt, 0);
  const Segment* y1 = Find(segments, SegmentKind::kVerify, 0);
  const Segment* a2 = Find(segments, SegmentKind::kAttempt, 1);
  const Segment* y2 = Find(segments, SegmentKind::kVerify, 1);
  if (a1 == nullptr || y1 == nullptr) return Status::InvalidArgument(who + "the trajectory needs a¹ and y¹ segments");
  auto mask = torch::zeros({num_tokens}, torch::kFloat);
  switch (set) {
    case SrrSet::kD1:
    case SrrSet::kD2:
      if (a2 == nullptr) return Status::InvalidArgument(who + "the trajectory needs an a² (turn-1 attempt) segment");
      if (set == SrrSet::kD1) Fill(mask, *y1);
      Fill(mask, *a2);
      if (options.train_second_verify && y2 != nullptr) Fill(mask, *y2);
      break;
    case SrrSet::kD3:
      if (a2 != nullptr || y2 != nullptr) {
        return Status::InvalidArgument(who + "a D3 trajectory stops after turn 0 but has a turn-1 segment");
      }
      Fill(mask, *a1);
      Fill(mask, *y1);
      break;
  }
  return mask;
}

StatusOr<torch::Tensor> MdpoMask(const std::vector<Segment>& segments, int64_t num_tokens, int64_t shared_prefix) {
  SCORCH_RETURN_IF_ERROR(CheckSegments(segments, num_tokens, "MdpoMask"));
  if (shared_prefix < 0 || shared_prefix > num_tokens) {
    return Status::InvalidArgument("MdpoMask: shared_prefix " + std::to_string(shared_prefix) + " is outside [0, " +
                                   std::to_string(num_tokens) + "]");
  }
  auto mask = torch::zeros({num_tokens}, torch::kFloat);
  for (const auto& s : segments) {
    if (IsModelWritten(s.kind)) Fill(mask, s, shared_prefix);
  }
  return mask;
}

StatusOr<torch::Tensor> KindMask(const std::vector<Segment>& segments, int64_t num_tokens,
                                 const std::vector<SegmentKind>& kinds) {
  SCORCH_RETURN_IF_ERROR(CheckSegments(segments, num_tokens, "KindMask"));
  auto mask = torch::zeros({num_tokens}, torch::kFloat);
  for (const auto& s : segments) {
    if (std::find(kinds.begin(), kinds.end(), s.kind) != kinds.end()) Fill(mask, s);
  }
  return mask;
}

int64_t CommonPrefixLength(const std::vector<int32_t>& a, const std::vector<int32_t>& b) {
  const size_t n = std::min(a.size(), b.size());
  size_t i = 0;
  while (i < n && a[i] == b[i]) ++i;
  return static_cast<int64_t>(i);
}

}  // namespace scorch::learner
