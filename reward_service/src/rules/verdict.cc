// Self-verification verdict parsing (ALGORITHMS §1.2–1.3). See verdict.h.
#include "scorch/reward/verdict.h"

#include <cctype>

namespace scorch::reward {
namespace {

constexpr std::string_view kVerifyTag = "[VERIFY]";

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool IsAlpha(char c) { return std::isalpha(static_cast<unsigned char>(c)) != 0; }

// Case-insensitive "text[pos…] starts with word, and the word ends there".
bool WordAt(std::string_view text, size_t pos, std::string_view word) {
  if (pos + word.size() > text.size()) return false;
  for (size_t i = 0; i < word.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[pos + i])) != word[i]) return false;
  }
  size_t end = pos + word.size();
  return end == text.size() || !IsAlpha(text[end]);
}

size_t SkipSpaces(std::string_view text, size_t pos) {
  while (pos < text.size() && IsSpace(text[pos])) ++pos;
  return pos;
}

// Index of the first non-space char at or before `pos` going left, i.e. the end (exclusive)
// of the preceding token.
size_t SkipSpacesBack(std::string_view text, size_t end) {
  while (end > 0 && IsSpace(text[end - 1])) --end;
  return end;
}

bool EndsWithAt(std::string_view text, size_t end, std::string_view what) {
  return end >= what.size() && text.substr(end - what.size(), what.size()) == what;
}

// Parses the verdict whose `[VERIFY]` tag starts at `tag`. Fills begin/end including a
// `\boxed{…}` / `\boxed{\text{…}}` wrapper when the wrapper is complete.
ParsedVerdict ParseAt(std::string_view text, size_t tag) {
  ParsedVerdict out;
  size_t pos = SkipSpaces(text, tag + kVerifyTag.size());
  SelfVerdict v;
  size_t word_end;
  if (WordAt(text, pos, "correct")) {
    v = SelfVerdict::kCorrect;
    word_end = pos + 7;
  } else if (WordAt(text, pos, "wrong")) {
    v = SelfVerdict::kWrong;
    word_end = pos + 5;
  } else {
    out.reason = "no_verdict_word";
    return out;
  }
  size_t end = word_end;
  if (end < text.size() && text[end] == '.') ++end;
  size_t begin = tag;

  // Unwrap \boxed{\text{[VERIFY] x.}} and \boxed{[VERIFY] x.}.
  size_t before = SkipSpacesBack(text, tag);
  int closers = 0;
  size_t wrap_begin = begin;
  if (EndsWithAt(text, before, "\\text{")) {
    size_t b2 = SkipSpacesBack(text, before - 6);
    if (EndsWithAt(text, b2, "\\boxed{")) {
      closers = 2;
      wrap_begin = b2 - 7;
    }
  } else if (EndsWithAt(text, before, "\\boxed{")) {
    closers = 1;
    wrap_begin = before - 7;
  }
  if (closers > 0) {
    size_t p = end;
    int found = 0;
    while (found < closers) {
      p = SkipSpaces(text, p);
      if (p < text.size() && text[p] == '}') {
        ++found;
        ++p;
      } else {
        break;
      }
    }
    if (found == closers) {
      begin = wrap_begin;
      end = p;
    }
  }
  out.verdict = v;
  out.verdict_begin = begin;
  out.verdict_end = end;
  out.truncated.reserve(begin + 18);
  out.truncated.append(text.substr(0, begin));
  out.truncated.append(v == SelfVerdict::kCorrect ? "[VERIFY] correct." : "[VERIFY] wrong.");
  return out;
}

}  // namespace

std::string_view SelfVerdictName(SelfVerdict v) {
  switch (v) {
    case SelfVerdict::kCorrect: return "correct";
    case SelfVerdict::kWrong: return "wrong";
    case SelfVerdict::kInvalid: return "invalid";
  }
  return "invalid";
}

ParsedVerdict ParseVerifyVerdict(std::string_view text) {
  size_t first = text.find(kVerifyTag);
  if (first == std::string_view::npos) {
    ParsedVerdict out;
    out.reason = "no_verify_tag";
    return out;
  }
  if (text.find(kVerifyTag, first + kVerifyTag.size()) != std::string_view::npos) {
    ParsedVerdict out;
    out.reason = "multiple_verify_tags";
    return out;
  }
  return ParseAt(text, first);
}

ParsedVerdict FindNextVerifyVerdict(std::string_view text, size_t from) {
  size_t pos = from;
  while (pos < text.size()) {
    size_t tag = text.find(kVerifyTag, pos);
    if (tag == std::string_view::npos) break;
    ParsedVerdict v = ParseAt(text, tag);
    if (v.valid()) {
      // A wrapper may not start before `from` (it belongs to the previous turn).
      if (v.verdict_begin < from) v.verdict_begin = tag;
      return v;
    }
    pos = tag + kVerifyTag.size();
  }
  ParsedVerdict out;
  out.reason = "no_verify_tag";
  return out;
}

ParsedVerdict ParseYesNoVerdict(std::string_view text) {
  ParsedVerdict out;
  size_t q = text.rfind(kYesNoQuestion);
  if (q == std::string_view::npos) {
    out.reason = "no_yes_no_question";
    return out;
  }
  size_t pos = SkipSpaces(text, q + kYesNoQuestion.size());
  size_t end;
  if (WordAt(text, pos, "yes")) {
    out.verdict = SelfVerdict::kCorrect;
    end = pos + 3;
  } else if (WordAt(text, pos, "no")) {
    out.verdict = SelfVerdict::kWrong;
    end = pos + 2;
  } else {
    out.reason = "no_yes_no_answer";
    return out;
  }
  if (end < text.size() && text[end] == '.') ++end;
  out.verdict_begin = q;
  out.verdict_end = end;
  out.truncated = std::string(text.substr(0, end));
  return out;
}

}  // namespace scorch::reward
