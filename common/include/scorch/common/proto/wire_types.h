// Small enums shared by scorch's wire messages, and their on-the-wire names.
//
// Every enum travels as a lower-case string ("rollout", "attempt", "length", ...), not as a
// number, so a message stays readable when dumped and a reordering of an enum here can
// never silently change the meaning of an old message. ParseX returns std::nullopt for an
// unknown name; the decoder turns that into an error naming the field and the allowed
// values (see message.h).
//
// Thread-safety: pure functions over constants; safe from any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace scorch::proto {

// The process role a peer plays (ARCHITECTURE §1).
enum class Role { kOrchestrator, kRollout, kReward, kLearner, kClient };

// Who speaks a segment of a chat-formatted trajectory.
enum class ChatRole { kSystem, kUser, kAssistant };

// What a segment of a trajectory is (ALGORITHMS §1): the prompt, a solution attempt aʰ, a
// self-verification yʰ, a fixed instruction o appended by the protocol, or a PCL
// post-completion evaluation.
enum class SegmentKind { kPrompt, kAttempt, kVerify, kInstruction, kEvaluation };

// Why the generation of one turn ended.
enum class FinishReason {
  kEos,      // the model emitted an end-of-sequence token
  kStop,     // a stop string or stop token id matched
  kLength,   // max_new_tokens reached
  kAborted,  // cancelled (lease revoked, shutdown) or failed
};

// A grade or a self-verification verdict. kError: the grader could not decide (unparsable
// answer, timeout); never a valid forced verdict.
enum class Verdict { kCorrect, kWrong, kError };

// How new policy weights reach the rollout workers (ARCHITECTURE §2).
// kShared: same process (embedded mode): the location names an in-memory snapshot.
enum class WeightsTransport { kNccl, kMpi, kZmq, kFile, kShared };

std::string_view RoleName(Role v);
std::string_view ChatRoleName(ChatRole v);
std::string_view SegmentKindName(SegmentKind v);
std::string_view FinishReasonName(FinishReason v);
std::string_view VerdictName(Verdict v);
std::string_view WeightsTransportName(WeightsTransport v);

std::optional<Role> ParseRole(std::string_view name);
std::optional<ChatRole> ParseChatRole(std::string_view name);
std::optional<SegmentKind> ParseSegmentKind(std::string_view name);
std::optional<FinishReason> ParseFinishReason(std::string_view name);
std::optional<Verdict> ParseVerdict(std::string_view name);
std::optional<WeightsTransport> ParseWeightsTransport(std::string_view name);

// Enum traits used by the codec: the wire name of each value and the enum's own name, so
// an error can say "Segment.kind: unknown value 'foo' (expected one of prompt, attempt, ...)".
template <typename E>
struct EnumTraits;

#define SCORCH_PROTO_ENUM_TRAITS_(E, count)                                   \
  template <>                                                                 \
  struct EnumTraits<E> {                                                      \
    static constexpr int kCount = count;                                      \
    static std::string_view Name(E v) { return E##Name(v); }                  \
    static std::optional<E> Parse(std::string_view s) { return Parse##E(s); } \
  }

SCORCH_PROTO_ENUM_TRAITS_(Role, 5);
SCORCH_PROTO_ENUM_TRAITS_(ChatRole, 3);
SCORCH_PROTO_ENUM_TRAITS_(SegmentKind, 5);
SCORCH_PROTO_ENUM_TRAITS_(FinishReason, 4);
SCORCH_PROTO_ENUM_TRAITS_(Verdict, 3);
SCORCH_PROTO_ENUM_TRAITS_(WeightsTransport, 5);

#undef SCORCH_PROTO_ENUM_TRAITS_

// "a, b, c": every wire name of E, for error messages.
template <typename E>
std::string EnumChoices() {
  std::string out;
  for (int i = 0; i < EnumTraits<E>::kCount; ++i) {
    if (i > 0) out += ", ";
    out += EnumTraits<E>::Name(static_cast<E>(i));
  }
  return out;
}

}  // namespace scorch::proto
