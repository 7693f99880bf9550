// Private: the pre-tokenizer stage of BpeTokenizer — PCRE2 regexes and the Split/ByteLevel
// steps of a tokenizer.json "pre_tokenizer", applied to (normalized) UTF-8 text.
//
// Ownership: a PreTokenizer owns its compiled regexes (shared between copies). Thread-safety:
// Split() is const and thread-safe (match data is per thread). Errors: parsing returns
// InvalidArgument/Unimplemented naming the JSON field; Split returns ResourceExhausted when
// PCRE2 hits its match limit.
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "scorch/common/status.h"

namespace scorch::model::tokenizer_internal {

// A compiled PCRE2 pattern (UTF + UCP), or a literal string.
class Regex {
 public:
  // `where` names the JSON field for error messages.
  static StatusOr<std::shared_ptr<const Regex>> Compile(std::string_view pattern, bool literal,
                                                        std::string_view where);
  ~Regex();
  Regex(const Regex&) = delete;
  Regex& operator=(const Regex&) = delete;

  // Appends [begin, end) byte offsets of every non-empty, non-overlapping match in `text`
  // (valid UTF-8), leftmost first.
  Status FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const;

 private:
  Regex() = default;
  void* code_ = nullptr;  // pcre2_code_8*
  bool jit_ = false;
};

enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

class PreTokenizer {
 public:
  // Parses tokenizer.json's "pre_tokenizer" (an object). Requires a ByteLevel step, last.
  static StatusOr<PreTokenizer> FromJson(const nlohmann::json& config);

  // Splits `text` into pre-tokens. Views point into `text` or into `*arena` (for pieces that
  // ByteLevel's add_prefix_space changed); both must outlive the views.
  Status Split(std::string_view text, std::vector<std::string_view>* pieces,
               std::deque<std::string>* arena) const;

 private:
  struct Step {
    bool byte_level = false;
    std::shared_ptr<const Regex> regex;  // null for ByteLevel without use_regex
    SplitBehavior behavior = SplitBehavior::kIsolated;
    bool invert = false;
    bool add_prefix_space = false;  // ByteLevel only
  };
  static Status ParseStep(const nlohmann::json& j, std::string_view where, std::vector<Step>* steps);
  static Status ApplySplit(const Step& step, std::string_view piece, std::vector<std::string_view>* out);

  std::vector<Step> steps_;
};

}  // namespace scorch::model::tokenizer_internal
