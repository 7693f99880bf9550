// ChatML chat template: renders a list of {role, content} messages as
//   <|im_start|>role\ncontent<|im_end|>\n ...
// followed, with add_generation_prompt, by "<|im_start|>assistant\n" — the format of Qwen's
// chat models (their Jinja template, without tools or <think> handling), used by the rollout
// worker for the prompts of ALGORITHMS.md §1.2. Token ids come from encoding the rendered
// text, so the markers become their special-token ids in any tokenizer that defines them
// (BpeTokenizer for Qwen, CharTokenizer's default vocabulary).
//
// Errors (InvalidArgument, naming the message index): an empty role or one containing white
// space or '<'/'|'; content containing "<|im_start|>" or "<|im_end|>" (it would forge turn
// boundaries). Thread-safety: pure functions.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/model/tokenizer.h"

namespace scorch::model {

struct ChatMessage {
  std::string role;     // "system", "user", "assistant", ...
  std::string content;  // the message text
};

struct ChatTemplateOptions {
  bool add_generation_prompt = true;        // end with "<|im_start|>assistant\n"
  std::optional<std::string> default_system;  // prepended as a system turn when messages lack one
};

inline constexpr char kImStart[] = "<|im_start|>";
inline constexpr char kImEnd[] = "<|im_end|>";

// The ChatML text of `messages`.
StatusOr<std::string> RenderChatMl(std::span<const ChatMessage> messages, const ChatTemplateOptions& options = {});

// The token ids of RenderChatMl(messages, options) under `tokenizer` (no post-processor
// tokens added). Fails also when the tokenizer cannot encode the text or lacks the markers.
StatusOr<std::vector<TokenId>> EncodeChatMl(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                            const ChatTemplateOptions& options = {});

}  // namespace scorch::model
