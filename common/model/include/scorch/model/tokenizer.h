// Tokenizer: the interface the rollout workers, learners and CLI use to turn text into token
// ids and back, plus LoadTokenizer(), which builds the right implementation from a
// Hugging Face-style tokenizer.json.
//
// Implementations:
//   - BpeTokenizer (bpe_tokenizer.h): Hugging Face byte-level BPE (Qwen2/2.5/3, Llama-3).
//   - CharTokenizer (char_tokenizer.h): one token per character, for the synthetic task.
//
// Ownership: a Tokenizer owns all its tables; LoadTokenizer returns it by unique_ptr (wrap in
// a shared_ptr to share between components). Thread-safety: every const method may be called
// from any number of threads at once (the BPE word cache is internally synchronised).
// Errors: Encode fails with InvalidArgument on text that is not valid UTF-8 (or, for the
// character tokenizer, contains a character outside its vocabulary); Decode fails with
// OutOfRange on an id outside [0, vocab_size()) or an unused id. Loading fails with NotFound
// (no file), InvalidArgument/DataLoss (malformed JSON or fields) or Unimplemented (a
// tokenizer.json feature scorch does not support), always naming the field at fault.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::model {

using TokenId = int32_t;

// Ids of the tokens with a role; any may be absent.
struct SpecialTokenIds {
  std::optional<TokenId> bos;  // beginning of sequence (Llama-3: <|begin_of_text|>)
  std::optional<TokenId> eos;  // end of sequence; generation stops on it
  std::optional<TokenId> pad;  // padding in batches
  std::optional<TokenId> unk;  // unknown token (unused by byte-level BPE)
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // Token ids of `text`. Special/added tokens written inside the text (e.g. "<|im_end|>") are
  // recognised as such, as in Hugging Face tokenizers. add_special_tokens adds the post-
  // processor's tokens (Llama-3: <|begin_of_text|>; Qwen: none).
  StatusOr<std::vector<TokenId>> Encode(std::string_view text,
                                        bool add_special_tokens = false) const {
    return DoEncode(text, add_special_tokens);
  }

  // UTF-8 text of `ids`; byte sequences that are not valid UTF-8 (e.g. a code point cut in
  // half at the end) become U+FFFD. skip_special_tokens drops tokens marked special.
  StatusOr<std::string> Decode(std::span<const TokenId> ids, bool skip_special_tokens = false) const;

  // The raw bytes of `ids`, which may end inside a UTF-8 sequence; for streaming decoders
  // (see unicode::Utf8CompletePrefixLength).
  StatusOr<std::string> DecodeBytes(std::span<const TokenId> ids,
                                    bool skip_special_tokens = false) const {
    return DoDecodeBytes(ids, skip_special_tokens);
  }

  // One past the largest token id (includes added/special tokens). The model's embedding
  // table needs at least this many rows.
  virtual int64_t vocab_size() const = 0;

  // Vocabulary lookups on token strings as stored in the tokenizer (byte-level BPE tokens
  // are in the byte->unicode alphabet, e.g. "Ġthe" for " the").
  virtual std::optional<TokenId> TokenToId(std::string_view token) const = 0;
  virtual std::optional<std::string> IdToToken(TokenId id) const = 0;

  // True for tokens marked special (never produced by splitting ordinary text).
  virtual bool IsSpecial(TokenId id) const = 0;

  // A short name of the implementation: "bpe" or "char".
  virtual std::string_view kind() const = 0;

  const SpecialTokenIds& special_token_ids() const { return special_; }
  std::optional<TokenId> bos_id() const { return special_.bos; }
  std::optional<TokenId> eos_id() const { return special_.eos; }
  std::optional<TokenId> pad_id() const { return special_.pad; }

  // Tokens on which generation should stop: eos plus whichever of <|im_end|>, <|endoftext|>,
  // <|eot_id|>, <|end_of_text|> the vocabulary has (ALGORITHMS.md §1.2 stops on both ChatML
  // markers). Sorted, without duplicates.
  std::vector<TokenId> StopTokenIds() const;

  // Overrides the role ids (e.g. from generation_config.json). Ids must be < vocab_size().
  Status SetSpecialTokenIds(const SpecialTokenIds& ids);

 protected:
  virtual StatusOr<std::vector<TokenId>> DoEncode(std::string_view text,
                                                  bool add_special_tokens) const = 0;
  virtual StatusOr<std::string> DoDecodeBytes(std::span<const TokenId> ids,
                                              bool skip_special_tokens) const = 0;

  SpecialTokenIds special_;
};

// Loads a tokenizer from `path`: a tokenizer.json file, or a model directory holding one.
// tokenizer_config.json next to it, if present, supplies eos/pad/bos/unk names. The JSON's
// "model.type" picks the implementation: "BPE" or "ScorchChar".
StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizer(const std::filesystem::path& path);

// Same, from the JSON texts (tokenizer_config_json may be empty).
StatusOr<std::unique_ptr<Tokenizer>> LoadTokenizerFromJson(std::string_view tokenizer_json,
                                                           std::string_view tokenizer_config_json = {});

}  // namespace scorch::model
