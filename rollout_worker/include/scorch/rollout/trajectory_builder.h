// TrajectoryBuilder: accumulates one proto::Trajectory turn by turn — context text the
// protocol appends (prompt, instructions, injected verdicts: log-prob 0, trainable 0) and
// token runs the policy generated (their log-probs, trainable 1) — keeping token_ids,
// logprobs, trainable_mask and segments consistent by construction (proto Validate holds).
//
// Token rule: the trajectory is the concatenation of the token ids actually fed to the model,
// never a re-tokenisation of the whole text, so the learner scores exactly what was sampled.
// Context text is encoded on its own (special tokens such as <|im_start|> inside it become
// their ids). Each segment's `text` is the decoded text of its exact token range (special
// tokens rendered), so it may include a stop token or text past a stop string; protocols
// parse the Generator's cut text instead.
//
// Ownership: borrows the Tokenizer. Thread-safety: not thread-safe (one per trajectory).
// Errors: AppendContext returns the tokenizer's InvalidArgument for text it cannot encode.
#pragma once

#include <string_view>
#include <vector>

#include "scorch/common/proto/rollout_messages.h"
#include "scorch/model/tokenizer.h"
#include "scorch/rollout/generator.h"

namespace scorch::rollout {

class TrajectoryBuilder {
 public:
  explicit TrajectoryBuilder(const model::Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  // Encodes `text` and appends it as a non-trainable segment (no segment for empty text).
  [[nodiscard]] Status AppendContext(std::string_view text, proto::ChatRole role, proto::SegmentKind kind,
                                     int32_t turn);
  // Appends given token ids as a non-trainable segment.
  void AppendContextTokens(const std::vector<TokenId>& tokens, proto::ChatRole role, proto::SegmentKind kind,
                           int32_t turn);
  // Appends generated tokens with their log-probs as a trainable segment (no segment when
  // the generation produced no tokens).
  void AppendGenerated(const GenerationResult& result, proto::ChatRole role, proto::SegmentKind kind,
                       int32_t turn);

  // The tokens so far as model input ids.
  const std::vector<TokenId>& tokens() const { return tokens_; }
  // The last token, if any.
  std::optional<TokenId> last_token() const {
    return tokens_.empty() ? std::nullopt : std::optional<TokenId>(tokens_.back());
  }

  proto::Trajectory& trajectory() { return trajectory_; }
  const proto::Trajectory& trajectory() const { return trajectory_; }

 private:
  void AddSegment(size_t begin, proto::ChatRole role, proto::SegmentKind kind, int32_t turn);

  const model::Tokenizer& tokenizer_;
  std::vector<TokenId> tokens_;
  proto::Trajectory trajectory_;
};

}  // namespace scorch::rollout
