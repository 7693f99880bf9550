// TrajectoryBuilder: consistent token / log-prob / mask / segment accumulation.
#include "scorch/rollout/trajectory_builder.h"

#include "scorch/model/unicode.h"

namespace scorch::rollout {

void TrajectoryBuilder::AddSegment(size_t begin, proto::ChatRole role, proto::SegmentKind kind, int32_t turn) {
  proto::Segment s;
  s.role = role;
  s.kind = kind;
  s.turn = turn;
  s.begin = static_cast<int32_t>(begin);
  s.end = static_cast<int32_t>(tokens_.size());
  auto text = tokenizer_.DecodeBytes(std::span<const TokenId>(tokens_).subspan(begin));
  s.text = text.ok() ? model::unicode::Utf8Lossy(*text) : std::string();
  trajectory_.segments.push_back(std::move(s));
}

Status TrajectoryBuilder::AppendContext(std::string_view text, proto::ChatRole role, proto::SegmentKind kind,
                                        int32_t turn) {
  if (text.empty()) return Status::Ok();
  SCORCH_ASSIGN_OR_RETURN(auto ids, tokenizer_.Encode(text));
  AppendContextTokens(ids, role, kind, turn);
  return Status::Ok();
}

void TrajectoryBuilder::AppendContextTokens(const std::vector<TokenId>& tokens, proto::ChatRole role,
                                            proto::SegmentKind kind, int32_t turn) {
  if (tokens.empty()) return;
  const size_t begin = tokens_.size();
  for (TokenId t : tokens) {
    tokens_.push_back(t);
    trajectory_.token_ids.push_back(t);
    trajectory_.logprobs.push_back(0.0f);
    trajectory_.trainable_mask.push_back(0);
  }
  AddSegment(begin, role, kind, turn);
}

void TrajectoryBuilder::AppendGenerated(const GenerationResult& result, proto::ChatRole role,
                                        proto::SegmentKind kind, int32_t turn) {
  if (result.tokens.empty()) return;
  const size_t begin = tokens_.size();
  for (size_t i = 0; i < result.tokens.size(); ++i) {
    tokens_.push_back(result.tokens[i]);
    trajectory_.token_ids.push_back(result.tokens[i]);
    trajectory_.logprobs.push_back(i < result.logprobs.size() ? result.logprobs[i] : 0.0f);
    trajectory_.trainable_mask.push_back(1);
  }
  AddSegment(begin, role, kind, turn);
}

}  // namespace scorch::rollout
