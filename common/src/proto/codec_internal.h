// Private to the proto codec: converting message structs to and from nlohmann::json bodies.
//
// ToJson(struct) builds a body object; FromJson(FieldReader, struct*) reads one, with every
// error naming the full field path ("GradeReply.items[2].turns[0].verdict: ..."). Numeric
// arrays go through little-endian bin blobs (Blob*). Validation of cross-field invariants
// lives in validate.cc, not here.
//
// Thread-safety: reentrant; no shared state.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "scorch/common/proto/message.h"
#include "scorch/common/status.h"

namespace scorch::proto::internal {

using json = nlohmann::json;

class FieldReader;

// ---- struct <-> body, one pair per struct (defined in *_codec.cc) ----
json ToJson(const Hello& v);
json ToJson(const Heartbeat& v);
json ToJson(const StepStats& v);
json ToJson(const WeightsAnnounce& v);
json ToJson(const Error& v);
json ToJson(const Shutdown& v);
json ToJson(const SamplingParams& v);
json ToJson(const GenerateRequest& v);
json ToJson(const Segment& v);
json ToJson(const Trajectory& v);
json ToJson(const TrainSample& v);
json ToJson(const TrainBatch& v);
json ToJson(const GradeTurn& v);
json ToJson(const GradeItem& v);
json ToJson(const GradeRequest& v);
json ToJson(const TurnGrade& v);
json ToJson(const GradeResult& v);
json ToJson(const GradeReply& v);

Status FromJson(const FieldReader& r, Hello* v);
Status FromJson(const FieldReader& r, Heartbeat* v);
Status FromJson(const FieldReader& r, StepStats* v);
Status FromJson(const FieldReader& r, WeightsAnnounce* v);
Status FromJson(const FieldReader& r, Error* v);
Status FromJson(const FieldReader& r, Shutdown* v);
Status FromJson(const FieldReader& r, SamplingParams* v);
Status FromJson(const FieldReader& r, GenerateRequest* v);
Status FromJson(const FieldReader& r, Segment* v);
Status FromJson(const FieldReader& r, Trajectory* v);
Status FromJson(const FieldReader& r, TrainSample* v);
Status FromJson(const FieldReader& r, TrainBatch* v);
Status FromJson(const FieldReader& r, GradeTurn* v);
Status FromJson(const FieldReader& r, GradeItem* v);
Status FromJson(const FieldReader& r, GradeRequest* v);
Status FromJson(const FieldReader& r, TurnGrade* v);
Status FromJson(const FieldReader& r, GradeResult* v);
Status FromJson(const FieldReader& r, GradeReply* v);

// ---- writing helpers ----
json BlobOf(const std::vector<int32_t>& v);
json BlobOf(const std::vector<float>& v);
json BlobOf(const std::vector<uint8_t>& v);

template <typename E>
json EnumListOf(const std::vector<E>& v) {
  json out = json::array();
  for (E e : v) out.push_back(std::string(EnumTraits<E>::Name(e)));
  return out;
}

template <typename E>
std::string EnumOf(E e) {
  return std::string(EnumTraits<E>::Name(e));
}

template <typename T>
json ObjectListOf(const std::vector<T>& v) {
  json out = json::array();
  for (const T& item : v) out.push_back(ToJson(item));
  return out;
}

// ---- reading helpers ----

// msgpack-flavoured type name of a decoded value: "nil", "bool", "integer", "float",
// "string", "bin", "ext", "array", "map".
std::string_view WireTypeName(const json& v);

// "<ctx>.<key>" computed only when an error needs it.
struct FieldPath {
  std::string_view ctx;
  std::string_view key;
  std::string str() const;
};

Status TypeError(const FieldPath& p, std::string_view expected, const json& got);

Status Convert(const json& v, const FieldPath& p, int32_t* out);
Status Convert(const json& v, const FieldPath& p, int64_t* out);
Status Convert(const json& v, const FieldPath& p, uint64_t* out);
Status Convert(const json& v, const FieldPath& p, float* out);
Status Convert(const json& v, const FieldPath& p, double* out);
Status Convert(const json& v, const FieldPath& p, bool* out);
Status Convert(const json& v, const FieldPath& p, std::string* out);
Status Convert(const json& v, const FieldPath& p, std::vector<std::string>* out);
Status Convert(const json& v, const FieldPath& p, std::vector<int32_t>* out);  // bin
Status Convert(const json& v, const FieldPath& p, std::vector<float>* out);    // bin
Status Convert(const json& v, const FieldPath& p, std::vector<uint8_t>* out);  // bin
Status Convert(const json& v, const FieldPath& p, std::map<std::string, double>* out);

template <typename E>
requires std::is_enum_v<E> Status Convert(const json& v, const FieldPath& p, E* out) {
  if (!v.is_string()) return TypeError(p, "string", v);
  const auto& s = v.get_ref<const std::string&>();
  auto parsed = EnumTraits<E>::Parse(s);
  if (!parsed) {
    return Status::InvalidArgument(p.str() + ": unknown value '" + s.substr(0, 64) +
                                   "' (expected one of " + EnumChoices<E>() + ")");
  }
  *out = *parsed;
  return Status::Ok();
}

template <typename E>
requires std::is_enum_v<E> Status Convert(const json& v, const FieldPath& p, std::vector<E>* out) {
  if (!v.is_array()) return TypeError(p, "array", v);
  out->clear();
  out->reserve(v.size());
  const std::string base = p.str();
  for (size_t i = 0; i < v.size(); ++i) {
    const std::string key = "[" + std::to_string(i) + "]";
    E e{};
    SCORCH_RETURN_IF_ERROR(Convert(v[i], FieldPath{base, key}, &e));
    out->push_back(e);
  }
  return Status::Ok();
}

// Reads the fields of one map-typed struct body. `ctx` names the struct for errors
// ("Trajectory", "GradeRequest.items[3]").
class FieldReader {
 public:
  // REQUIRES: obj.is_object().
  FieldReader(const json& obj, std::string ctx) : obj_(obj), ctx_(std::move(ctx)) {}

  const std::string& ctx() const { return ctx_; }

  // A required field: missing is an error.
  template <typename T>
  Status Read(std::string_view key, T* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    return Convert(*v, FieldPath{ctx_, key}, out);
  }

  // An optional field: absent (or nil) leaves *out empty.
  template <typename T>
  Status ReadOptional(std::string_view key, std::optional<T>* out) const {
    const json* v = Find(key);
    if (v == nullptr || v->is_null()) {
      out->reset();
      return Status::Ok();
    }
    T value{};
    SCORCH_RETURN_IF_ERROR(Convert(*v, FieldPath{ctx_, key}, &value));
    *out = std::move(value);
    return Status::Ok();
  }

  // A required nested struct.
  template <typename T>
  Status ReadObject(std::string_view key, T* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    const FieldPath p{ctx_, key};
    if (!v->is_object()) return TypeError(p, "map", *v);
    return FromJson(FieldReader(*v, p.str()), out);
  }

  // A required array of nested structs.
  template <typename T>
  Status ReadObjectList(std::string_view key, std::vector<T>* out) const {
    const json* v = Find(key);
    if (v == nullptr) return Missing(key);
    const FieldPath p{ctx_, key};
    if (!v->is_array()) return TypeError(p, "array", *v);
    const std::string base = p.str();
    out->clear();
    out->resize(v->size());
    for (size_t i = 0; i < v->size(); ++i) {
      const json& item = (*v)[i];
      const std::string item_ctx = base + "[" + std::to_string(i) + "]";
      if (!item.is_object()) return TypeError(FieldPath{item_ctx, {}}, "map", item);
      SCORCH_RETURN_IF_ERROR(FromJson(FieldReader(item, item_ctx), &(*out)[i]));
    }
    return Status::Ok();
  }

 private:
  const json* Find(std::string_view key) const {
    auto it = obj_.find(key);
    return it == obj_.end() ? nullptr : &*it;
  }
  Status Missing(std::string_view key) const {
    return Status::InvalidArgument(FieldPath{ctx_, key}.str() + ": missing");
  }

  const json& obj_;
  std::string ctx_;
};

}  // namespace scorch::proto::internal
