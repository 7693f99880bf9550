// ChatML rendering (see chat_template.h).
#include "scorch/model/chat_template.h"

namespace scorch::model {
namespace {

Status CheckMessage(const ChatMessage& m, size_t index) {
  const std::string where = "chat message " + std::to_string(index);
  if (m.role.empty()) return Status::InvalidArgument(where + ": empty role");
  for (char c : m.role) {
    if (c == ' ' || c == '\n' || c == '\r' || c == '\t' || c == '<' || c == '|') {
      return Status::InvalidArgument(where + ": role \"" + m.role + "\" contains white space or a marker character");
    }
  }
  for (const char* marker : {kImStart, kImEnd}) {
    if (m.content.find(marker) != std::string::npos) {
      return Status::InvalidArgument(where + " (" + m.role + "): content contains the ChatML marker " + marker);
    }
  }
  return Status::Ok();
}

void AppendTurn(const std::string& role, const std::string& content, std::string* out) {
  out->append(kImStart).append(role).append("\n").append(content).append(kImEnd).append("\n");
}

}  // namespace

StatusOr<std::string> RenderChatMl(std::span<const ChatMessage> messages, const ChatTemplateOptions& options) {
  std::string out;
  size_t bytes = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    SCORCH_RETURN_IF_ERROR(CheckMessage(messages[i], i));
    bytes += messages[i].role.size() + messages[i].content.size() + 32;
  }
  out.reserve(bytes + 64);
  if (options.default_system && (messages.empty() || messages[0].role != "system")) {
    SCORCH_RETURN_IF_ERROR(CheckMessage({"system", *options.default_system}, 0).WithContext("default system prompt"));
    AppendTurn("system", *options.default_system, &out);
  }
  for (const ChatMessage& m : messages) AppendTurn(m.role, m.content, &out);
  if (options.add_generation_prompt) out.append(kImStart).append("assistant\n");
  return out;
}

StatusOr<std::vector<TokenId>> EncodeChatMl(const Tokenizer& tokenizer, std::span<const ChatMessage> messages,
                                            const ChatTemplateOptions& options) {
  for (const char* marker : {kImStart, kImEnd}) {
    if (!tokenizer.TokenToId(marker)) {
      return Status::FailedPrecondition(std::string("tokenizer has no ") + marker + " token; ChatML needs it");
    }
  }
  SCORCH_ASSIGN_OR_RETURN(std::string text, RenderChatMl(messages, options));
  return tokenizer.Encode(text, /*add_special_tokens=*/false);
}

}  // namespace scorch::model
