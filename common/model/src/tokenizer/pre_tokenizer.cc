// Split and ByteLevel pre-tokenizer steps on PCRE2 (see pre_tokenizer.h).
#define PCRE2_CODE_UNIT_WIDTH 8
#include "pre_tokenizer.h"

#include <pcre2.h>

#include <nlohmann/json.hpp>

namespace scorch::model::tokenizer_internal {
namespace {

using nlohmann::json;

// GPT-2's pre-tokenizer regex, used by ByteLevel when "use_regex" is true.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// One match-data block per thread, shared by every pattern: only ovector[0..1] is read, and
// pcre2_match fills those even when the pattern has more groups than the block has room for.
pcre2_match_data* ThreadMatchData() {
  struct Holder {
    pcre2_match_data* md = pcre2_match_data_create(1, nullptr);
    ~Holder() { pcre2_match_data_free(md); }
  };
  thread_local Holder holder;
  return holder.md;
}

std::string Pcre2Message(int code) {
  PCRE2_UCHAR buffer[256];
  if (pcre2_get_error_message(code, buffer, sizeof(buffer)) < 0) return "PCRE2 error " + std::to_string(code);
  return std::string(reinterpret_cast<const char*>(buffer));
}

// Byte length of the UTF-8 sequence starting with lead byte b (1 for invalid leads).
size_t Utf8Length(unsigned char b) {
  if (b < 0xC0) return 1;
  if (b < 0xE0) return 2;
  if (b < 0xF0) return 3;
  return 4;
}

}  // namespace

StatusOr<std::shared_ptr<const Regex>> Regex::Compile(std::string_view pattern, bool literal,
                                                      std::string_view where) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  uint32_t options = PCRE2_UTF | PCRE2_UCP | PCRE2_NO_UTF_CHECK;
  if (literal) options = PCRE2_UTF | PCRE2_LITERAL;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   options, &error, &offset, nullptr);
  if (code == nullptr) {
    return Status::InvalidArgument(std::string(where) + ": cannot compile pattern at offset " +
                                   std::to_string(offset) + ": " + Pcre2Message(error));
  }
  std::shared_ptr<Regex> regex(new Regex());
  regex->code_ = code;
  regex->jit_ = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return std::shared_ptr<const Regex>(std::move(regex));
}

Regex::~Regex() { pcre2_code_free(static_cast<pcre2_code*>(code_)); }

Status Regex::FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const {
  auto* code = static_cast<pcre2_code*>(code_);
  pcre2_match_data* md = ThreadMatchData();
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  pcre2_match_context* context = nullptr;  // only made when the default JIT stack is too small
  pcre2_jit_stack* jit_stack = nullptr;
  Status status;
  size_t offset = 0;
  while (offset <= text.size()) {
    int rc = pcre2_match(code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK, md, context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && context == nullptr) {
      context = pcre2_match_context_create(nullptr);
      jit_stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);
      pcre2_jit_stack_assign(context, nullptr, jit_stack);
      continue;
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    if (rc < 0) {
      status = Status::ResourceExhausted("pre-tokenizer regex failed on a " + std::to_string(text.size()) +
                                         "-byte piece: " + Pcre2Message(rc));
      break;
    }
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(md);
    const size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      matches->emplace_back(begin, end);
      offset = end;
    } else {  // empty match: move on by one code point
      if (begin >= text.size()) break;
      offset = begin + Utf8Length(static_cast<unsigned char>(text[begin]));
    }
  }
  if (context != nullptr) pcre2_match_context_free(context);
  if (jit_stack != nullptr) pcre2_jit_stack_free(jit_stack);
  return status;
}

Status PreTokenizer::ParseStep(const json& j, std::string_view where, std::vector<Step>* steps) {
  if (!j.is_object() || !j.contains("type") || !j["type"].is_string()) {
    return Status::InvalidArgument(std::string(where) + ": expected an object with a string \"type\"");
  }
  const std::string type = j["type"].get<std::string>();
  if (type == "Sequence") {
    if (!j.contains("pretokenizers") || !j["pretokenizers"].is_array()) {
      return Status::InvalidArgument(std::string(where) + ".pretokenizers: expected an array");
    }
    for (size_t i = 0; i < j["pretokenizers"].size(); ++i) {
      SCORCH_RETURN_IF_ERROR(ParseStep(j["pretokenizers"][i],
                                       std::string(where) + ".pretokenizers[" + std::to_string(i) + "]", steps));
    }
    return Status::Ok();
  }
  Step step;
  if (type == "ByteLevel") {
    step.byte_level = true;
    step.add_prefix_space = j.value("add_prefix_space", false);
    if (j.value("use_regex", true)) {
      SCORCH_ASSIGN_OR_RETURN(step.regex, Regex::Compile(kGpt2Pattern, false, where));
    }
    steps->push_back(std::move(step));
    return Status::Ok();
  }
  if (type == "Split") {
    const std::string w(where);
    if (!j.contains("pattern") || !j["pattern"].is_object()) {
      return Status::InvalidArgument(w + ".pattern: expected {\"Regex\": ...} or {\"String\": ...}");
    }
    const json& p = j["pattern"];
    if (p.contains("Regex") && p["Regex"].is_string()) {
      SCORCH_ASSIGN_OR_RETURN(step.regex, Regex::Compile(p["Regex"].get<std::string>(), false, w + ".pattern.Regex"));
    } else if (p.contains("String") && p["String"].is_string()) {
      const std::string literal = p["String"].get<std::string>();
      if (literal.empty()) return Status::InvalidArgument(w + ".pattern.String: empty pattern");
      SCORCH_ASSIGN_OR_RETURN(step.regex, Regex::Compile(literal, true, w + ".pattern.String"));
    } else {
      return Status::InvalidArgument(w + ".pattern: expected a string \"Regex\" or \"String\"");
    }
    const std::string behavior = j.value("behavior", std::string("Isolated"));
    if (behavior == "Isolated") {
      step.behavior = SplitBehavior::kIsolated;
    } else if (behavior == "Removed") {
      step.behavior = SplitBehavior::kRemoved;
    } else if (behavior == "MergedWithPrevious") {
      step.behavior = SplitBehavior::kMergedWithPrevious;
    } else if (behavior == "MergedWithNext") {
      step.behavior = SplitBehavior::kMergedWithNext;
    } else if (behavior == "Contiguous") {
      step.behavior = SplitBehavior::kContiguous;
    } else {
      return Status::InvalidArgument(w + ".behavior: unknown split behavior \"" + behavior + "\"");
    }
    step.invert = j.value("invert", false);
    steps->push_back(std::move(step));
    return Status::Ok();
  }
  return Status::Unimplemented(std::string(where) + ": pre-tokenizer type \"" + type +
                               "\" is not supported (only Split, ByteLevel and Sequence)");
}

StatusOr<PreTokenizer> PreTokenizer::FromJson(const json& config) {
  PreTokenizer pt;
  try {
    if (config.is_null()) {
      return Status::Unimplemented("pre_tokenizer: null; scorch supports byte-level BPE only (needs a ByteLevel pre-tokenizer)");
    }
    SCORCH_RETURN_IF_ERROR(ParseStep(config, "pre_tokenizer", &pt.steps_));
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("pre_tokenizer: ") + e.what());
  }
  int byte_level_at = -1;
  for (size_t i = 0; i < pt.steps_.size(); ++i) {
    if (pt.steps_[i].byte_level) {
      if (byte_level_at >= 0) return Status::Unimplemented("pre_tokenizer: more than one ByteLevel step");
      byte_level_at = static_cast<int>(i);
    }
  }
  if (byte_level_at < 0) {
    return Status::Unimplemented("pre_tokenizer: no ByteLevel step; scorch supports byte-level BPE only");
  }
  if (byte_level_at != static_cast<int>(pt.steps_.size()) - 1) {
    return Status::Unimplemented("pre_tokenizer: a Split after the ByteLevel step is not supported");
  }
  return pt;
}

Status PreTokenizer::ApplySplit(const Step& step, std::string_view piece, std::vector<std::string_view>* out) {
  std::vector<std::pair<size_t, size_t>> matches;
  SCORCH_RETURN_IF_ERROR(step.regex->FindAll(piece, &matches));
  // Segments covering the whole piece, each flagged as "delimiter" (a match, or a gap when
  // inverted), as tokenizers' NormalizedString::split does.
  struct Segment {
    size_t begin, end;
    bool delimiter;
  };
  std::vector<Segment> segments;
  size_t prev = 0;
  for (const auto& [b, e] : matches) {
    if (b > prev) segments.push_back({prev, b, step.invert});
    segments.push_back({b, e, !step.invert});
    prev = e;
  }
  if (prev < piece.size()) segments.push_back({prev, piece.size(), step.invert});

  auto emit = [&](size_t b, size_t e) {
    if (e > b) out->push_back(piece.substr(b, e - b));
  };
  switch (step.behavior) {
    case SplitBehavior::kIsolated:
      for (const Segment& s : segments) emit(s.begin, s.end);
      break;
    case SplitBehavior::kRemoved:
      for (const Segment& s : segments) {
        if (!s.delimiter) emit(s.begin, s.end);
      }
      break;
    case SplitBehavior::kMergedWithPrevious: {
      // A delimiter joins the piece before it.
      size_t start = 0;
      for (const Segment& s : segments) {
        if (s.delimiter) {
          emit(start, s.end);
          start = s.end;
        }
      }
      emit(start, piece.size());
      break;
    }
    case SplitBehavior::kMergedWithNext: {
      // A delimiter starts a new piece that runs up to the next delimiter.
      size_t start = 0;
      for (const Segment& s : segments) {
        if (s.delimiter) {
          emit(start, s.begin);
          start = s.begin;
        }
      }
      emit(start, piece.size());
      break;
    }
    case SplitBehavior::kContiguous: {
      // Runs of adjacent delimiters form one piece; gaps stay pieces of their own.
      size_t i = 0;
      while (i < segments.size()) {
        size_t j = i + 1;
        if (segments[i].delimiter) {
          while (j < segments.size() && segments[j].delimiter) ++j;
        }
        emit(segments[i].begin, segments[j - 1].end);
        i = j;
      }
      break;
    }
  }
  return Status::Ok();
}

Status PreTokenizer::Split(std::string_view text, std::vector<std::string_view>* pieces,
                           std::deque<std::string>* arena) const {
  std::vector<std::string_view> current{text};
  std::vector<std::string_view> next;
  for (const Step& step : steps_) {
    next.clear();
    for (std::string_view piece : current) {
      if (step.byte_level && step.add_prefix_space && (piece.empty() || piece.front() != ' ')) {
        std::string& prefixed = arena->emplace_back(1, ' ');
        prefixed.append(piece.data(), piece.size());
        piece = prefixed;
      }
      if (step.regex == nullptr) {
        if (!piece.empty()) next.push_back(piece);
      } else {
        SCORCH_RETURN_IF_ERROR(ApplySplit(step, piece, &next));
      }
    }
    current.swap(next);
  }
  pieces->insert(pieces->end(), current.begin(), current.end());
  return Status::Ok();
}

}  // namespace scorch::model::tokenizer_internal
