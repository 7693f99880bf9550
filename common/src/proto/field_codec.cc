// Field-level conversions for the proto codec (codec_internal.h): little-endian numeric
// blobs and type-checked reads whose errors name the field path.
#include <bit>
#include <cmath>
#include <cstdio>
#include <limits>

#include "codec_internal.h"

namespace scorch::proto::internal {
namespace {

// Copies `n` elements of 4-byte T into little-endian bytes (byte-swapping on big-endian).
template <typename T>
json LittleEndianBlob(const std::vector<T>& v) {
  static_assert(sizeof(T) == 4 || sizeof(T) == 1);
  const auto* bytes = reinterpret_cast<const uint8_t*>(v.data());
  std::vector<uint8_t> out(bytes, bytes + v.size() * sizeof(T));
  if constexpr (std::endian::native == std::endian::big && sizeof(T) == 4) {
    for (size_t i = 0; i < out.size(); i += 4) {
      std::swap(out[i], out[i + 3]);
      std::swap(out[i + 1], out[i + 2]);
    }
  }
  return json::binary(std::move(out));  // moved in: no second copy
}

template <typename T>
Status FromLittleEndianBlob(const json& v, const FieldPath& p, std::string_view elem,
                            std::vector<T>* out) {
  if (!v.is_binary() || v.get_binary().has_subtype()) {
    return TypeError(p, "bin of " + std::string(elem), v);
  }
  const auto& bytes = v.get_binary();
  if (bytes.size() % sizeof(T) != 0) {
    return Status::InvalidArgument(p.str() + ": bin of " + std::to_string(bytes.size()) +
                                   " bytes is not a multiple of " + std::to_string(sizeof(T)) +
                                   " (" + std::string(elem) + ")");
  }
  out->resize(bytes.size() / sizeof(T));
  if (!bytes.empty()) std::memcpy(out->data(), bytes.data(), bytes.size());
  if constexpr (std::endian::native == std::endian::big && sizeof(T) == 4) {
    auto* b = reinterpret_cast<uint8_t*>(out->data());
    for (size_t i = 0; i < bytes.size(); i += 4) {
      std::swap(b[i], b[i + 3]);
      std::swap(b[i + 1], b[i + 2]);
    }
  }
  return Status::Ok();
}

template <typename T>
Status ConvertInteger(const json& v, const FieldPath& p, std::string_view type_name, T* out) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      return Status::InvalidArgument(p.str() + ": " + std::to_string(u) + " is out of range for " +
                                     std::string(type_name));
    }
    *out = static_cast<T>(u);
    return Status::Ok();
  }
  if (v.is_number_integer()) {
    const int64_t s = v.get<int64_t>();
    if constexpr (std::is_unsigned_v<T>) {
      if (s < 0) {
        return Status::InvalidArgument(p.str() + ": " + std::to_string(s) +
                                       " is out of range for " + std::string(type_name));
      }
    } else {
      if (s < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
          s > static_cast<int64_t>(std::numeric_limits<T>::max())) {
        return Status::InvalidArgument(p.str() + ": " + std::to_string(s) +
                                       " is out of range for " + std::string(type_name));
      }
    }
    *out = static_cast<T>(s);
    return Status::Ok();
  }
  return TypeError(p, "integer", v);
}

}  // namespace

json BlobOf(const std::vector<int32_t>& v) { return LittleEndianBlob(v); }
json BlobOf(const std::vector<float>& v) { return LittleEndianBlob(v); }
json BlobOf(const std::vector<uint8_t>& v) { return LittleEndianBlob(v); }

std::string_view WireTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null:
      return "nil";
    case json::value_t::boolean:
      return "bool";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
      return "integer";
    case json::value_t::number_float:
      return "float";
    case json::value_t::string:
      return "string";
    case json::value_t::binary:
      return v.get_binary().has_subtype() ? "ext" : "bin";
    case json::value_t::array:
      return "array";
    case json::value_t::object:
      return "map";
    default:
      return "invalid value";
  }
}

std::string FieldPath::str() const {
  std::string out(ctx);
  if (key.empty()) return out;
  if (key.front() != '[') out += '.';
  out += key;
  return out;
}

Status TypeError(const FieldPath& p, std::string_view expected, const json& got) {
  return Status::InvalidArgument(p.str() + ": expected " + std::string(expected) + ", got " +
                                 std::string(WireTypeName(got)));
}

Status Convert(const json& v, const FieldPath& p, int32_t* out) {
  return ConvertInteger(v, p, "int32", out);
}
Status Convert(const json& v, const FieldPath& p, int64_t* out) {
  return ConvertInteger(v, p, "int64", out);
}
Status Convert(const json& v, const FieldPath& p, uint64_t* out) {
  return ConvertInteger(v, p, "uint64", out);
}

Status Convert(const json& v, const FieldPath& p, float* out) {
  if (!v.is_number()) return TypeError(p, "float", v);
  const double d = v.get<double>();
  // Narrowing a finite double beyond float's range is undefined behaviour: refuse it.
  if (std::isfinite(d) && std::fabs(d) > static_cast<double>(std::numeric_limits<float>::max())) {
    char text[32];
    std::snprintf(text, sizeof(text), "%g", d);
    return Status::InvalidArgument(p.str() + ": " + text + " is out of range for float32");
  }
  *out = static_cast<float>(d);
  return Status::Ok();
}

Status Convert(const json& v, const FieldPath& p, double* out) {
  if (!v.is_number()) return TypeError(p, "float", v);
  *out = v.get<double>();
  return Status::Ok();
}

Status Convert(const json& v, const FieldPath& p, bool* out) {
  if (!v.is_boolean()) return TypeError(p, "bool", v);
  *out = v.get<bool>();
  return Status::Ok();
}

Status Convert(const json& v, const FieldPath& p, std::string* out) {
  if (!v.is_string()) return TypeError(p, "string", v);
  *out = v.get_ref<const std::string&>();
  return Status::Ok();
}

Status Convert(const json& v, const FieldPath& p, std::vector<std::string>* out) {
  if (!v.is_array()) return TypeError(p, "array of string", v);
  out->clear();
  out->reserve(v.size());
  for (size_t i = 0; i < v.size(); ++i) {
    if (!v[i].is_string()) {
      const std::string base = p.str();
      const std::string key = "[" + std::to_string(i) + "]";
      return TypeError(FieldPath{base, key}, "string", v[i]);
    }
    out->push_back(v[i].get_ref<const std::string&>());
  }
  return Status::Ok();
}

Status Convert(const json& v, const FieldPath& p, std::vector<int32_t>* out) {
  return FromLittleEndianBlob(v, p, "int32", out);
}
Status Convert(const json& v, const FieldPath& p, std::vector<float>* out) {
  return FromLittleEndianBlob(v, p, "float32", out);
}
Status Convert(const json& v, const FieldPath& p, std::vector<uint8_t>* out) {
  return FromLittleEndianBlob(v, p, "uint8", out);
}

Status Convert(const json& v, const FieldPath& p, std::map<std::string, double>* out) {
  if (!v.is_object()) return TypeError(p, "map of string to float", v);
  out->clear();
  for (auto it = v.begin(); it != v.end(); ++it) {
    if (!it.value().is_number()) {
      const std::string base = p.str();
      const std::string key = "[\"" + it.key().substr(0, 64) + "\"]";
      return TypeError(FieldPath{base, key}, "float", it.value());
    }
    out->emplace(it.key(), it.value().get<double>());
  }
  return Status::Ok();
}

}  // namespace scorch::proto::internal
