// Added-token matching (see added_tokens.h).
#include "added_tokens.h"

#include "scorch/model/unicode.h"

namespace scorch::model::tokenizer_internal {
namespace {

// Code point ending just before byte offset `end` (text is valid UTF-8), or 0 at the start.
char32_t CodePointBefore(std::string_view text, size_t end) {
  if (end == 0) return 0;
  size_t start = end - 1;
  while (start > 0 && (static_cast<unsigned char>(text[start]) & 0xC0) == 0x80) --start;
  char32_t cp = 0;
  size_t pos = start;
  return unicode::DecodeUtf8(text, &pos, &cp) ? cp : 0;
}

char32_t CodePointAt(std::string_view text, size_t pos) {
  char32_t cp = 0;
  return unicode::DecodeUtf8(text, &pos, &cp) ? cp : 0;
}

// A "word" character for single_word: letters, digits and '_' (non-ASCII non-space counts).
bool IsWordChar(char32_t cp) {
  if (cp == 0) return false;
  if (cp < 0x80) return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') || cp == '_';
  return !unicode::IsWhitespace(cp);
}

}  // namespace

void AddedTokenMatcher::Build(const std::vector<AddedToken>& tokens, const std::vector<size_t>& indices) {
  nodes_.assign(1, Node{});
  first_byte_.fill(false);
  for (size_t index : indices) {
    const std::string& content = tokens[index].content;
    if (content.empty()) continue;
    first_byte_[static_cast<unsigned char>(content[0])] = true;
    int32_t node = 0;
    for (char c : content) {
      const auto byte = static_cast<unsigned char>(c);
      int32_t child = Child(node, byte);
      if (child < 0) {
        child = static_cast<int32_t>(nodes_.size());
        nodes_[node].children.emplace_back(byte, child);
        nodes_.emplace_back();
      }
      node = child;
    }
    if (nodes_[node].token < 0) nodes_[node].token = static_cast<int32_t>(index);  // first wins
  }
}

int32_t AddedTokenMatcher::Child(int32_t node, unsigned char byte) const {
  for (const auto& [b, child] : nodes_[node].children) {
    if (b == byte) return child;
  }
  return -1;
}

void AddedTokenMatcher::Split(std::string_view text, const std::vector<AddedToken>& tokens,
                              std::vector<Segment>* out) const {
  size_t plain_start = 0;  // start of the pending plain-text segment
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    // Longest token starting at pos.
    int32_t node = 0, best = -1;
    size_t best_end = 0;
    for (size_t i = pos; i < text.size(); ++i) {
      node = Child(node, static_cast<unsigned char>(text[i]));
      if (node < 0) break;
      if (nodes_[node].token >= 0) {
        best = nodes_[node].token;
        best_end = i + 1;
      }
    }
    if (best < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = tokens[best];
    if (token.single_word && (IsWordChar(CodePointBefore(text, pos)) || IsWordChar(CodePointAt(text, best_end)))) {
      ++pos;
      continue;
    }
    size_t begin = pos, end = best_end;
    if (token.lstrip) {
      while (begin > plain_start) {
        size_t prev = begin - 1;
        while (prev > plain_start && (static_cast<unsigned char>(text[prev]) & 0xC0) == 0x80) --prev;
        if (!unicode::IsWhitespace(CodePointAt(text, prev))) break;
        begin = prev;
      }
    }
    if (token.rstrip) {
      while (end < text.size()) {
        size_t next = end;
        char32_t cp = 0;
        if (!unicode::DecodeUtf8(text, &next, &cp) || !unicode::IsWhitespace(cp)) break;
        end = next;
      }
    }
    if (begin > plain_start) out->push_back({plain_start, begin, -1});
    out->push_back({begin, end, best});
    pos = plain_start = end;
  }
  if (text.size() > plain_start) out->push_back({plain_start, text.size(), -1});
}

}  // namespace scorch::model::tokenizer_internal
