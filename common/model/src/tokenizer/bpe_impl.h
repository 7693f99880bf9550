// Private: BpeTokenizer's tables (BpeTokenizer::Impl) and its word cache. Built once by
// bpe_config.cc (FromJson), then read-only except the cache.
#pragma once

#include <array>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "added_tokens.h"
#include "pre_tokenizer.h"
#include "scorch/model/bpe_tokenizer.h"

namespace scorch::model {
namespace tokenizer_internal {

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StringIdMap = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

struct MergeRule {
  int32_t rank;    // position in "merges"; lower merges first
  TokenId result;  // id of the merged token
};

inline uint64_t PairKey(TokenId a, TokenId b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

// Pre-token bytes -> BPE ids. Sharded so concurrent encoders rarely contend; a shard that
// reaches its bound is cleared (cheap, and keeps memory bounded on adversarial input).
class WordCache {
 public:
  static constexpr size_t kMaxKeyBytes = 256;  // longer pre-tokens are not cached
  bool Lookup(std::string_view key, std::vector<TokenId>* out) const;
  void Insert(std::string_view key, const TokenId* ids, size_t n);

 private:
  static constexpr size_t kShards = 16;
  static constexpr size_t kMaxEntriesPerShard = 8192;
  struct Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, std::vector<TokenId>, StringHash, std::equal_to<>> map;
  };
  Shard& ShardFor(std::string_view key) const { return shards_[StringHash{}(key) % kShards]; }
  mutable std::array<Shard, kShards> shards_;
};

}  // namespace tokenizer_internal

struct BpeTokenizer::Impl {
  std::vector<std::string> id_to_token;  // token string per id ("" where the id is unused)
  std::vector<std::string> id_to_bytes;  // what each id decodes to
  std::vector<uint8_t> id_used;          // 1 where an id is defined
  std::vector<uint8_t> is_special;       // 1 for added tokens marked special
  tokenizer_internal::StringIdMap token_to_id;
  std::unordered_map<uint64_t, tokenizer_internal::MergeRule> merges;
  std::array<TokenId, 256> byte_ids{};  // id of each single byte's byte-level symbol
  bool ignore_merges = false;
  bool nfc = false;

  tokenizer_internal::PreTokenizer pre_tokenizer;
  std::vector<tokenizer_internal::AddedToken> added_tokens;
  tokenizer_internal::AddedTokenMatcher raw_matcher;         // normalized == false
  tokenizer_internal::AddedTokenMatcher normalized_matcher;  // normalized == true
  std::vector<TokenId> post_prefix, post_suffix;             // add_special_tokens

  mutable tokenizer_internal::WordCache cache;

  // Appends the BPE ids of one pre-token (raw bytes).
  void EncodeWord(std::string_view word, std::vector<TokenId>* out) const;
  // Appends the ids of plain text between added tokens: normalize, pre-tokenize, BPE.
  Status EncodeText(std::string_view text, std::vector<TokenId>* out) const;
};

// Builds the tables from a parsed tokenizer.json (defined in bpe_config.cc).
StatusOr<std::unique_ptr<BpeTokenizer::Impl>> ParseBpeTokenizerJson(const nlohmann::json& root,
                                                                     SpecialTokenIds* special,
                                                                     std::string_view tokenizer_config_json);

}  // namespace scorch::model
