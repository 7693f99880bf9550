// BpeTokenizer: the Hugging Face `tokenizer.json` byte-level BPE used by Qwen2/Qwen2.5/Qwen3
// and Llama-3, reimplemented to give the same ids as the `tokenizers` library.
//
// Encoding pipeline (each stage as declared in tokenizer.json):
//   1. Added tokens ("added_tokens", special or not) are matched on the raw text first,
//      leftmost-longest, honouring lstrip/rstrip/single_word; the text between them goes on.
//   2. Normalizer: none or NFC (also inside a "Sequence").
//   3. Pre-tokenizer: "Split" steps (regex or literal pattern; behaviours Isolated, Removed,
//      MergedWithPrevious, MergedWithNext, Contiguous; invert) followed by "ByteLevel" (with
//      or without its GPT-2 regex, add_prefix_space), alone or in a "Sequence". Regexes run on
//      PCRE2 with UTF and UCP, so \p{L}, \p{N}, \s follow Unicode as in the Rust `regex` crate.
//   4. Model: BPE over byte-level symbols with merge ranks (lowest rank first, leftmost on
//      ties, like tokenizers' word.rs), ignore_merges, and a bounded, sharded cache of
//      pre-token -> ids.
//   5. Post-processor (only with add_special_tokens): ByteLevel (nothing added),
//      TemplateProcessing's "single" template, or a Sequence of those.
// Decoding maps byte-level symbols back to bytes (the "ByteLevel" decoder); added tokens
// decode to their content.
//
// Unsupported (loading fails with Unimplemented, naming the field): other model types, BPE
// dropout, continuing_subword_prefix/end_of_word_suffix, normalizers other than NFC,
// pre-tokenizers other than Split/ByteLevel, a ByteLevel step that is not the last one,
// decoders other than ByteLevel, post-processors other than ByteLevel/TemplateProcessing.
// The vocabulary must hold all 256 byte-level symbols.
//
// Thread-safety: immutable after construction except the word cache, which is sharded and
// mutex-guarded; all methods may be called concurrently.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "scorch/model/tokenizer.h"

namespace scorch::model {

class BpeTokenizer final : public Tokenizer {
 public:
  // Builds the tokenizer from a tokenizer.json text. tokenizer_config_json (may be empty)
  // names eos/pad/bos/unk tokens; without it eos defaults to <|endoftext|> when present.
  static StatusOr<std::unique_ptr<BpeTokenizer>> FromJson(std::string_view tokenizer_json,
                                                          std::string_view tokenizer_config_json = {});
  // Same, from an already parsed tokenizer.json (LoadTokenizer parses once to dispatch).
  static StatusOr<std::unique_ptr<BpeTokenizer>> FromParsedJson(const nlohmann::json& tokenizer_json,
                                                                std::string_view tokenizer_config_json = {});
  ~BpeTokenizer() override;

  int64_t vocab_size() const override;
  std::optional<TokenId> TokenToId(std::string_view token) const override;
  std::optional<std::string> IdToToken(TokenId id) const override;
  bool IsSpecial(TokenId id) const override;
  std::string_view kind() const override { return "bpe"; }

  // Number of merge rules and of added tokens (for `scorch tokenize --verbose` and tests).
  size_t num_merges() const;
  size_t num_added_tokens() const;

  struct Impl;  // defined in src/tokenizer/bpe_impl.h

 protected:
  StatusOr<std::vector<TokenId>> DoEncode(std::string_view text, bool add_special_tokens) const override;
  StatusOr<std::string> DoDecodeBytes(std::span<const TokenId> ids, bool skip_special_tokens) const override;

 private:
  explicit BpeTokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace scorch::model
