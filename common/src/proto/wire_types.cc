// Wire names of the protocol enums (wire_types.h). The arrays are indexed by enum value, so
// their order must match the enum declarations; ParseX is a linear search over a handful.
#include "scorch/common/proto/wire_types.h"

#include <array>

namespace scorch::proto {
namespace {

constexpr std::array<std::string_view, 5> kRoleNames = {"orchestrator", "rollout", "reward",
                                                        "learner", "client"};
constexpr std::array<std::string_view, 3> kChatRoleNames = {"system", "user", "assistant"};
constexpr std::array<std::string_view, 5> kSegmentKindNames = {"prompt", "attempt", "verify",
                                                               "instruction", "evaluation"};
constexpr std::array<std::string_view, 4> kFinishReasonNames = {"eos", "stop", "length", "aborted"};
constexpr std::array<std::string_view, 3> kVerdictNames = {"correct", "wrong", "error"};
constexpr std::array<std::string_view, 5> kWeightsTransportNames = {"nccl", "mpi", "zmq", "file", "shared"};

template <typename E, size_t N>
std::string_view NameOf(const std::array<std::string_view, N>& names, E v) {
  const auto i = static_cast<size_t>(v);
  return i < N ? names[i] : std::string_view("?");
}

template <typename E, size_t N>
std::optional<E> ParseOf(const std::array<std::string_view, N>& names, std::string_view s) {
  for (size_t i = 0; i < N; ++i) {
    if (names[i] == s) return static_cast<E>(i);
  }
  return std::nullopt;
}

}  // namespace

std::string_view RoleName(Role v) { return NameOf(kRoleNames, v); }
std::string_view ChatRoleName(ChatRole v) { return NameOf(kChatRoleNames, v); }
std::string_view SegmentKindName(SegmentKind v) { return NameOf(kSegmentKindNames, v); }
std::string_view FinishReasonName(FinishReason v) { return NameOf(kFinishReasonNames, v); }
std::string_view VerdictName(Verdict v) { return NameOf(kVerdictNames, v); }
std::string_view WeightsTransportName(WeightsTransport v) {
  return NameOf(kWeightsTransportNames, v);
}

std::optional<Role> ParseRole(std::string_view s) { return ParseOf<Role>(kRoleNames, s); }
std::optional<ChatRole> ParseChatRole(std::string_view s) {
  return ParseOf<ChatRole>(kChatRoleNames, s);
}
std::optional<SegmentKind> ParseSegmentKind(std::string_view s) {
  return ParseOf<SegmentKind>(kSegmentKindNames, s);
}
std::optional<FinishReason> ParseFinishReason(std::string_view s) {
  return ParseOf<FinishReason>(kFinishReasonNames, s);
}
std::optional<Verdict> ParseVerdict(std::string_view s) {
  return ParseOf<Verdict>(kVerdictNames, s);
}
std::optional<WeightsTransport> ParseWeightsTransport(std::string_view s) {
  return ParseOf<WeightsTransport>(kWeightsTransportNames, s);
}

}  // namespace scorch::proto
