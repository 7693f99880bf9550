// CharTokenizer: one token per Unicode character plus a few whole-string special tokens, for
// the built-in synthetic arithmetic task and for tests that need a tiny vocabulary.
//
// The default vocabulary (CreateDefault) is: ids 0..3 = <|endoftext|>, <|im_start|>,
// <|im_end|>, <|pad|> (eos = <|im_end|>, pad = <|pad|>), then '\n', '\t', and the 95
// printable ASCII characters from ' ' to '~' — enough for digits, operators, letters, LaTeX
// such as \boxed{...}, "[VERIFY] correct." and the ChatML prompts. vocab_size() is 101.
//
// Encoding matches special tokens first (longest first), then single code points. A character
// outside the vocabulary is an error (InvalidArgument naming it and its byte offset): the
// synthetic task controls its alphabet, and silently mapping to <unk> would break round trips.
//
// Serialisation: ToJson() writes a tokenizer.json-like file ({"model": {"type": "ScorchChar",
// "vocab": {...}}, "added_tokens": [...]}) that LoadTokenizer() reads back, so a model
// directory can carry it as tokenizer.json.
//
// Thread-safety: immutable after construction; all methods are thread-safe.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "scorch/model/tokenizer.h"

namespace scorch::model {

class CharTokenizer final : public Tokenizer {
 public:
  // Role names; each must be one of the special tokens (empty = none).
  struct Roles {
    std::string eos = "<|im_end|>";
    std::string pad = "<|pad|>";
    std::string bos;
  };

  // The default vocabulary described above.
  static std::unique_ptr<CharTokenizer> CreateDefault();

  // Special tokens get ids 0..S-1 in order, then each UTF-8 character of `characters` in
  // order. Fails on duplicates, empty specials, invalid UTF-8, or roles naming no special.
  static StatusOr<std::unique_ptr<CharTokenizer>> Create(const std::vector<std::string>& special_tokens,
                                                         std::string_view characters, const Roles& roles);

  // Reads what ToJson() writes.
  static StatusOr<std::unique_ptr<CharTokenizer>> FromJson(std::string_view json_text);
  static StatusOr<std::unique_ptr<CharTokenizer>> FromParsedJson(const nlohmann::json& json);

  // The tokenizer.json-like serialisation (pretty-printed, deterministic).
  std::string ToJson() const;
  // Writes ToJson() to `path` (IoError on failure).
  Status Save(const std::string& path) const;

  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
  std::optional<TokenId> TokenToId(std::string_view token) const override;
  std::optional<std::string> IdToToken(TokenId id) const override;
  bool IsSpecial(TokenId id) const override { return id >= 0 && id < num_special_; }
  std::string_view kind() const override { return "char"; }

 protected:
  StatusOr<std::vector<TokenId>> DoEncode(std::string_view text, bool add_special_tokens) const override;
  StatusOr<std::string> DoDecodeBytes(std::span<const TokenId> ids, bool skip_special_tokens) const override;

 private:
  CharTokenizer() = default;

  std::vector<std::string> tokens_;  // id -> string (special tokens first)
  int32_t num_special_ = 0;
  std::unordered_map<char32_t, TokenId> char_to_id_;
  std::array<TokenId, 128> ascii_to_id_{};  // -1 where absent; fast path for ASCII
  std::vector<TokenId> specials_by_length_;  // special ids, longest content first
  std::array<bool, 256> special_first_byte_{};  // first bytes of special tokens
  Roles roles_;
};

}  // namespace scorch::model
