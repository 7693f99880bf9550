// The versioned envelope around every message (message.h): {"v", "type", "body"}, encoded as
// MessagePack. Decoding goes: size limit → iterative structural scan and iterative parse into
// an nlohmann::json tree (msgpack_scan.h) → envelope checks → typed body → Validate. No step
// throws out of this file.
#include <array>
#include <exception>
#include <utility>

#include "codec_internal.h"
#include "scorch/common/proto/msgpack_scan.h"

namespace scorch::proto {
namespace {

using internal::FieldPath;
using internal::FieldReader;
using internal::json;

// Wire type names, in the order of the Message variant's alternatives.
constexpr std::array<std::string_view, std::variant_size_v<Message>> kTypeNames = {
    "Hello",      "Heartbeat", "GenerateRequest", "Trajectory", "GradeRequest", "GradeReply",
    "TrainBatch", "StepStats", "WeightsAnnounce", "Error",      "Shutdown"};

template <size_t I>
StatusOr<Message> DecodeBodyAs(const json& body) {
  std::variant_alternative_t<I, Message> value{};
  SCORCH_RETURN_IF_ERROR(internal::FromJson(FieldReader(body, std::string(kTypeNames[I])), &value));
  return Message(std::in_place_index<I>, std::move(value));
}

using BodyDecoder = StatusOr<Message> (*)(const json&);

template <size_t... I>
constexpr std::array<BodyDecoder, sizeof...(I)> MakeDecoders(std::index_sequence<I...>) {
  return {&DecodeBodyAs<I>...};
}

constexpr auto kDecoders = MakeDecoders(std::make_index_sequence<std::variant_size_v<Message>>());

StatusOr<Message> DecodeParsed(const json& root) {
  if (!root.is_object()) return internal::TypeError(FieldPath{"envelope", {}}, "map", root);
  const FieldReader envelope(root, "envelope");
  int64_t version = 0;
  SCORCH_RETURN_IF_ERROR(envelope.Read("v", &version));
  if (version != kProtocolVersion) {
    return Status::FailedPrecondition("unsupported protocol version " + std::to_string(version) +
                                      " (this build speaks version " +
                                      std::to_string(kProtocolVersion) + ")");
  }
  std::string type;
  SCORCH_RETURN_IF_ERROR(envelope.Read("type", &type));
  auto body = root.find("body");
  if (body == root.end()) return Status::InvalidArgument("envelope.body: missing");
  if (!body->is_object()) {
    return internal::TypeError(FieldPath{"envelope", "body"}, "map", *body);
  }
  for (size_t i = 0; i < kTypeNames.size(); ++i) {
    if (kTypeNames[i] == type) {
      SCORCH_ASSIGN_OR_RETURN(Message message, kDecoders[i](*body));
      SCORCH_RETURN_IF_ERROR(Validate(message));
      return message;
    }
  }
  return Status::InvalidArgument("envelope.type: unknown message type '" + type.substr(0, 64) +
                                 "'");
}

// An upper-ish estimate of the encoded size, so the output buffer is allocated once. The
// tree is one we built from a message struct (depth ≤ 6), so recursion is bounded.
size_t EncodedSizeHint(const json& j) {
  switch (j.type()) {
    case json::value_t::string:
      return 5 + j.get_ref<const std::string&>().size();
    case json::value_t::binary:
      return 6 + j.get_binary().size();
    case json::value_t::array: {
      size_t n = 5;
      for (const json& v : j) n += EncodedSizeHint(v);
      return n;
    }
    case json::value_t::object: {
      size_t n = 5;
      for (auto it = j.begin(); it != j.end(); ++it) {
        n += 5 + it.key().size() + EncodedSizeHint(it.value());
      }
      return n;
    }
    default:
      return 9;
  }
}

}  // namespace

std::string_view MessageTypeName(const Message& message) { return kTypeNames[message.index()]; }

StatusOr<std::string> EncodeMessage(const Message& message, const CodecOptions& options) {
  SCORCH_RETURN_IF_ERROR(Validate(message));
  try {
    json envelope = json::object();
    envelope["v"] = kProtocolVersion;
    envelope["type"] = std::string(MessageTypeName(message));
    envelope["body"] = std::visit([](const auto& m) { return internal::ToJson(m); }, message);
    std::string out;
    out.reserve(EncodedSizeHint(envelope));
    json::to_msgpack(envelope, out);
    if (out.size() > options.max_message_bytes) {
      return Status::ResourceExhausted(std::string(MessageTypeName(message)) + ": encoded size " +
                                       std::to_string(out.size()) + " bytes exceeds the limit of " +
                                       std::to_string(options.max_message_bytes));
    }
    return out;
  } catch (const std::exception& e) {  // allocation failure; nlohmann does not throw here
    return Status::Internal(std::string("EncodeMessage: ") + e.what());
  }
}

StatusOr<Message> DecodeMessage(std::string_view bytes, const CodecOptions& options) {
  if (bytes.size() > options.max_message_bytes) {
    return Status::ResourceExhausted("message of " + std::to_string(bytes.size()) +
                                     " bytes exceeds the limit of " +
                                     std::to_string(options.max_message_bytes));
  }
  if (bytes.empty()) return Status::DataLoss("empty message");
  try {
    SCORCH_ASSIGN_OR_RETURN(
        json root, ParseMsgpack(bytes, MsgpackScanLimits{options.max_depth, options.max_elements}));
    return DecodeParsed(root);
  } catch (const std::exception& e) {  // allocation failure; nothing here throws otherwise
    return Status::ResourceExhausted(std::string("DecodeMessage: ") + e.what());
  }
}

Error ErrorFromStatus(const Status& status, std::string_view in_reply_to) {
  Error error;
  error.code = static_cast<int32_t>(status.ok() ? StatusCode::kInternal : status.code());
  error.message = status.ok() ? "ErrorFromStatus called with OK" : status.message();
  error.in_reply_to = std::string(in_reply_to);
  return error;
}

Status StatusFromError(const Error& error) {
  if (!Validate(Message(error)).ok()) {
    return Status::Internal("peer sent error code " + std::to_string(error.code) + ": " +
                            error.message);
  }
  return Status(static_cast<StatusCode>(error.code), error.message);
}

}  // namespace scorch::proto
