// The config schema machinery: typed config structs describe their fields once, and the same
// description drives YAML reading (with type/range checks, unknown-key rejection with a
// "did you mean" suggestion, and errors that name the key path and file:line:column) and
// YAML writing (the resolved config, with each field's doc as a comment).
//
// A config struct lists its fields in a member template:
//
//   struct LearnerConfig {
//     double lr = 1e-6;       // learning rate
//     int micro_batch = 4;    // sequences per micro-batch
//     template <class V> void VisitFields(V& v) {
//       v.Field("lr", &lr, "learning rate", Range<double>{0, 1});
//       v.Field("micro_batch", &micro_batch, "sequences per micro-batch", Range<int>{1, 4096});
//     }
//     Status Validate() const;  // optional: cross-field checks, called after reading
//   };
//
// Supported field types: bool, integers, double, std::string, enums with EnumNames<E>
// specialised, nested structs with VisitFields, std::vector<T> and std::map<std::string, T>
// of any of these. Not thread-safe; a reader is used once by one thread.
#pragma once

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::config {

// Inclusive numeric range for a field.
template <typename T>
struct Range {
  T min = std::numeric_limits<T>::lowest();
  T max = std::numeric_limits<T>::max();
};

// Specialise for each enum used in a config: a list of {value, name} pairs.
template <typename E>
struct EnumNames;

// The closest candidate to `word` by edit distance, if it is close enough to be a plausible typo.
std::optional<std::string> SuggestClosest(std::string_view word,
                                          const std::vector<std::string>& candidates);

// Where values came from: the file name, and the key paths set by --set (reported instead of
// a line:column for those keys).
struct SourceInfo {
  std::string file;
  std::map<std::string, std::string> overrides;  // key path -> "--set path=value"
};

// Collects every problem found while reading, each as one line.
class ErrorList {
 public:
  // `path` locates the value (and names it in the message unless `shown_path` is given).
  void Add(const SourceInfo& src, const YAML::Node& node, const std::string& path,
           const std::string& what, const std::string* shown_path = nullptr);
  bool empty() const { return lines_.empty(); }
  // All problems, one per line, as an InvalidArgument status (OK when there are none).
  Status ToStatus() const;

 private:
  std::vector<std::string> lines_;
};

std::string JoinPath(const std::string& parent, std::string_view key);
std::string IndexPath(const std::string& parent, size_t index);

template <typename T>
concept ConfigStruct = requires(T t, class YamlReader& r) { t.VisitFields(r); };
template <typename T>
concept ValidatedStruct = requires(const T t) {
  { t.Validate() } -> std::same_as<Status>;
};

template <typename T>
struct IsVector : std::false_type {};
template <typename T>
struct IsVector<std::vector<T>> : std::true_type {};
template <typename T>
struct IsStringMap : std::false_type {};
template <typename T>
struct IsStringMap<std::map<std::string, T>> : std::true_type {};

// Reads one YAML mapping into a struct. Keys the struct does not declare are errors.
class YamlReader {
 public:
  YamlReader(const YAML::Node& node, std::string path, const SourceInfo& src, ErrorList* errors)
      : node_(node), path_(std::move(path)), src_(src), errors_(errors) {}

  template <typename T, typename R = int>
  void Field(const char* key, T* value, const char* doc, R range = R{}) {
    known_.emplace_back(key);
    if (!node_.IsMap()) return;
    YAML::Node child = node_[key];
    if (!child.IsDefined() || child.IsNull()) return;  // absent: keep the default
    std::string path = JoinPath(path_, key);
    ParseValue(child, path, value);
    if constexpr (std::is_arithmetic_v<T> && !std::is_same_v<T, bool> &&
                  std::is_same_v<R, Range<T>>) {
      if (*value < range.min || *value > range.max) {
        errors_->Add(src_, child, path,
                     ValueString(*value) + " is out of range [" + ValueString(range.min) + ", " +
                         ValueString(range.max) + "]");
      }
    }
  }

  // Checks the mapping itself and reports keys no Field() claimed. Call after VisitFields.
  void Finish();

  template <typename T>
  void ParseValue(const YAML::Node& n, const std::string& path, T* out);

 private:
  template <typename T>
  static std::string ValueString(T v) {
    if constexpr (std::is_floating_point_v<T>) {
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
      return std::string(buf, end);
    } else {
      return std::to_string(v);
    }
  }
  void Error(const YAML::Node& n, const std::string& path, const std::string& what) {
    errors_->Add(src_, n, path, what);
  }
  static std::string Describe(const YAML::Node& n);

  YAML::Node node_;
  std::string path_;
  const SourceInfo& src_;
  ErrorList* errors_;
  std::vector<std::string> known_;
};

template <typename T>
void YamlReader::ParseValue(const YAML::Node& n, const std::string& path, T* out) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!n.IsScalar()) return Error(n, path, "expected true or false, got " + Describe(n));
    const std::string& s = n.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") *out = true;
    else if (s == "false" || s == "False" || s == "FALSE") *out = false;
    else Error(n, path, "expected true or false, got \"" + s + "\"");
  } else if constexpr (std::is_integral_v<T>) {
    if (!n.IsScalar()) return Error(n, path, "expected an integer, got " + Describe(n));
    const std::string& s = n.Scalar();
    T v{};
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) {
      return Error(n, path, "integer \"" + s + "\" does not fit in this field");
    }
    if (ec != std::errc() || ptr != s.data() + s.size()) {
      return Error(n, path, "expected an integer, got \"" + s + "\"");
    }
    *out = v;
  } else if constexpr (std::is_floating_point_v<T>) {
    if (!n.IsScalar()) return Error(n, path, "expected a number, got " + Describe(n));
    const std::string& s = n.Scalar();
    T v{};
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(v)) {
      return Error(n, path, "expected a finite number, got \"" + s + "\"");
    }
    *out = v;
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!n.IsScalar()) return Error(n, path, "expected a string, got " + Describe(n));
    *out = n.Scalar();
  } else if constexpr (std::is_enum_v<T>) {
    if (!n.IsScalar()) return Error(n, path, "expected one of its names, got " + Describe(n));
    std::vector<std::string> names;
    for (const auto& [value, name] : EnumNames<T>::kValues) {
      if (n.Scalar() == name) {
        *out = value;
        return;
      }
      names.emplace_back(name);
    }
    std::string msg = "unknown value \"" + n.Scalar() + "\"; expected one of";
    for (size_t i = 0; i < names.size(); ++i) msg += (i ? ", " : " ") + names[i];
    if (auto s = SuggestClosest(n.Scalar(), names)) msg += " (did you mean \"" + *s + "\"?)";
    Error(n, path, msg);
  } else if constexpr (IsVector<T>::value) {
    if (!n.IsSequence()) return Error(n, path, "expected a list, got " + Describe(n));
    out->clear();
    out->resize(n.size());
    for (size_t i = 0; i < n.size(); ++i) ParseValue(n[i], IndexPath(path, i), &(*out)[i]);
  } else if constexpr (IsStringMap<T>::value) {
    if (!n.IsMap()) return Error(n, path, "expected a mapping, got " + Describe(n));
    out->clear();
    for (auto it = n.begin(); it != n.end(); ++it) {
      std::string key = it->first.Scalar();
      ParseValue(it->second, JoinPath(path, key), &(*out)[key]);
    }
  } else if constexpr (ConfigStruct<T>) {
    if (!n.IsMap()) return Error(n, path, "expected a mapping, got " + Describe(n));
    YamlReader child(n, path, src_, errors_);
    out->VisitFields(child);
    child.Finish();
    if constexpr (ValidatedStruct<T>) {
      Status s = out->Validate();
      if (!s.ok()) Error(n, path, s.message());
    }
  } else {
    static_assert(sizeof(T) == 0, "unsupported config field type");
  }
}

// Writes a struct as YAML, each field preceded by its doc as a comment.
class YamlWriter {
 public:
  explicit YamlWriter(YAML::Emitter* out) : out_(out) {}

  template <typename T, typename R = int>
  void Field(const char* key, T* value, const char* doc, R = R{}) {
    // yaml-cpp writes a comment where the output stands: after a scalar value (same line), or
    // after the key of a mapping/sequence (before its first entry). A comment written before the
    // key would land on the previous field's line.
    const bool has_doc = doc != nullptr && *doc != '\0';
    *out_ << YAML::Key << key << YAML::Value;
    if constexpr (IsScalarField<T>()) {
      Emit(*value);
      if (has_doc) *out_ << YAML::Comment(doc);
    } else {
      if (has_doc) *out_ << YAML::Comment(doc);
      Emit(*value);
    }
  }

  template <typename T>
  static constexpr bool IsScalarField() {
    return std::is_arithmetic_v<T> || std::is_enum_v<T> || std::is_same_v<T, std::string>;
  }

  template <typename T>
  void Emit(const T& v) {
    if constexpr (std::is_same_v<T, bool>) {
      *out_ << (v ? "true" : "false");
    } else if constexpr (std::is_same_v<T, std::string>) {
      *out_ << YAML::DoubleQuoted << v;
    } else if constexpr (std::is_floating_point_v<T>) {
      char buf[64];
      auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v);
      std::string s(buf, end);
      // Keep floats recognisable as floats when read back by other tools.
      if (s.find_first_of(".eEn") == std::string::npos) s += ".0";
      *out_ << s;
    } else if constexpr (std::is_arithmetic_v<T>) {
      *out_ << v;
    } else if constexpr (std::is_enum_v<T>) {
      for (const auto& [value, name] : EnumNames<T>::kValues) {
        if (value == v) {
          *out_ << name;
          return;
        }
      }
      *out_ << static_cast<int>(v);
    } else if constexpr (IsVector<T>::value) {
      *out_ << YAML::BeginSeq;
      for (const auto& e : v) Emit(e);
      *out_ << YAML::EndSeq;
    } else if constexpr (IsStringMap<T>::value) {
      *out_ << YAML::BeginMap;
      for (const auto& [k, e] : v) {
        *out_ << YAML::Key << k << YAML::Value;
        Emit(e);
      }
      *out_ << YAML::EndMap;
    } else {
      *out_ << YAML::BeginMap;
      YamlWriter child(out_);
      const_cast<T&>(v).VisitFields(child);
      *out_ << YAML::EndMap;
    }
  }

 private:
  YAML::Emitter* out_;
};

// Reads a whole config struct from a parsed YAML document. Every problem is reported.
template <ConfigStruct T>
Status ReadConfig(const YAML::Node& root, const SourceInfo& src, T* out) {
  ErrorList errors;
  YamlReader reader(root, "", src, &errors);
  reader.ParseValue(root, "", out);
  return errors.ToStatus();
}

// The struct as a YAML document with comments.
template <ConfigStruct T>
std::string WriteConfigYaml(const T& config, const std::string& header_comment = "") {
  YAML::Emitter out;
  if (!header_comment.empty()) out << YAML::Comment(header_comment) << YAML::Newline;
  YamlWriter writer(&out);
  writer.Emit(config);
  return std::string(out.c_str()) + "\n";
}

}  // namespace scorch::config
