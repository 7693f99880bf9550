// Private: matching of tokenizer.json "added_tokens" (special tokens like <|im_end|> and
// user-added words) inside text, before normalization and pre-tokenization.
//
// Matching is leftmost-longest over a byte trie (as tokenizers' aho-corasick with
// MatchKind::LeftmostLongest), then each match is checked against single_word and widened by
// lstrip/rstrip over white space. Immutable after Build(); thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "scorch/model/tokenizer.h"

namespace scorch::model::tokenizer_internal {

struct AddedToken {
  TokenId id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;       // swallow white space on the left
  bool rstrip = false;       // swallow white space on the right
  bool single_word = false;  // only match a whole word
  bool normalized = false;   // matched on normalized text (else on the raw text)
};

class AddedTokenMatcher {
 public:
  // Indexes `tokens[i]` for every i in `indices` (non-empty contents only).
  void Build(const std::vector<AddedToken>& tokens, const std::vector<size_t>& indices);
  bool empty() const { return nodes_.size() <= 1; }

  struct Segment {
    size_t begin;
    size_t end;
    int token;  // index into the tokens vector given to Build, or -1 for plain text
  };
  // Splits `text` (valid UTF-8) into plain-text and added-token segments, in order; empty
  // plain-text segments are omitted.
  void Split(std::string_view text, const std::vector<AddedToken>& tokens, std::vector<Segment>* out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int32_t token = -1;  // token index ending here
  };
  int32_t Child(int32_t node, unsigned char byte) const;

  std::vector<Node> nodes_;
  std::array<bool, 256> first_byte_{};
};

}  // namespace scorch::model::tokenizer_internal
