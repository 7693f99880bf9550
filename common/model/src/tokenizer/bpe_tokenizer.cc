// BpeTokenizer: encode (added tokens -> normalize -> pre-tokenize -> BPE) and decode.
#include "scorch/model/bpe_tokenizer.h"

#include <algorithm>
#include <deque>

#include <nlohmann/json.hpp>

#include "bpe_impl.h"
#include "tokenizer_json.h"
#include "byte_level.h"
#include "scorch/model/unicode.h"

namespace scorch::model {
namespace tokenizer_internal {

bool WordCache::Lookup(std::string_view key, std::vector<TokenId>* out) const {
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  auto it = shard.map.find(key);
  if (it == shard.map.end()) return false;
  out->insert(out->end(), it->second.begin(), it->second.end());
  return true;
}

void WordCache::Insert(std::string_view key, const TokenId* ids, size_t n) {
  Shard& shard = ShardFor(key);
  std::lock_guard<std::mutex> lock(shard.mu);
  if (shard.map.size() >= kMaxEntriesPerShard) shard.map.clear();
  shard.map.try_emplace(std::string(key), ids, ids + n);
}

}  // namespace tokenizer_internal

namespace {

// One symbol of a word being merged: a doubly linked list over a vector (tokenizers' word.rs).
struct Symbol {
  TokenId id;
  int32_t prev;
  int32_t next;
  bool alive;
};

struct Candidate {
  int32_t rank;
  int32_t pos;  // index of the left symbol
  TokenId result;
  // std::push_heap builds a max-heap: "greater" means lower rank, then leftmost.
  bool operator<(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
};

}  // namespace

void BpeTokenizer::Impl::EncodeWord(std::string_view word, std::vector<TokenId>* out) const {
  if (word.size() == 1) {
    out->push_back(byte_ids[static_cast<unsigned char>(word[0])]);
    return;
  }
  const bool cacheable = word.size() <= tokenizer_internal::WordCache::kMaxKeyBytes;
  if (cacheable && cache.Lookup(word, out)) return;
  const size_t out_start = out->size();

  if (ignore_merges) {
    std::string spelled;
    byte_level::AppendEncoded(word, &spelled);
    if (auto it = token_to_id.find(spelled); it != token_to_id.end()) {
      out->push_back(it->second);
      if (cacheable) cache.Insert(word, out->data() + out_start, 1);
      return;
    }
  }

  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();
  const auto n = static_cast<int32_t>(word.size());
  for (int32_t i = 0; i < n; ++i) {
    symbols.push_back({byte_ids[static_cast<unsigned char>(word[i])], i - 1, i + 1 < n ? i + 1 : -1, true});
  }
  auto push_pair = [&](int32_t left) {
    const int32_t right = symbols[left].next;
    if (right < 0) return;
    auto it = merges.find(tokenizer_internal::PairKey(symbols[left].id, symbols[right].id));
    if (it == merges.end()) return;
    heap.push_back({it->second.rank, left, it->second.result});
    std::push_heap(heap.begin(), heap.end());
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end());
    const Candidate top = heap.back();
    heap.pop_back();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    // Stale candidate: one side has been merged into something else since it was queued.
    auto it = merges.find(tokenizer_internal::PairKey(left.id, right.id));
    if (it == merges.end() || it->second.result != top.result || it->second.rank != top.rank) continue;
    left.id = top.result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out->push_back(symbols[i].id);
  if (cacheable) cache.Insert(word, out->data() + out_start, out->size() - out_start);
}

Status BpeTokenizer::Impl::EncodeText(std::string_view text, std::vector<TokenId>* out) const {
  std::string normalized_storage;
  if (nfc && !unicode::IsNfcQuick(text)) {
    normalized_storage = unicode::NormalizeNfc(text);
    text = normalized_storage;
  }
  std::vector<tokenizer_internal::AddedTokenMatcher::Segment> segments;
  if (!normalized_matcher.empty()) {
    normalized_matcher.Split(text, added_tokens, &segments);
  } else {
    segments.push_back({0, text.size(), -1});
  }
  std::vector<std::string_view> pieces;
  std::deque<std::string> arena;
  for (const auto& segment : segments) {
    if (segment.token >= 0) {
      out->push_back(added_tokens[segment.token].id);
      continue;
    }
    pieces.clear();
    SCORCH_RETURN_IF_ERROR(pre_tokenizer.Split(text.substr(segment.begin, segment.end - segment.begin), &pieces, &arena));
    for (std::string_view piece : pieces) EncodeWord(piece, out);
  }
  return Status::Ok();
}

BpeTokenizer::BpeTokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
BpeTokenizer::~BpeTokenizer() = default;

StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::FromJson(std::string_view tokenizer_json,
                                                               std::string_view tokenizer_config_json) {
  SCORCH_ASSIGN_OR_RETURN(nlohmann::json root, tokenizer_internal::ParseJsonText(tokenizer_json, "tokenizer.json"));
  return FromParsedJson(root, tokenizer_config_json);
}

StatusOr<std::unique_ptr<BpeTokenizer>> BpeTokenizer::FromParsedJson(const nlohmann::json& root,
                                                                     std::string_view tokenizer_config_json) {
  SpecialTokenIds special;
  SCORCH_ASSIGN_OR_RETURN(auto impl, ParseBpeTokenizerJson(root, &special, tokenizer_config_json));
  std::unique_ptr<BpeTokenizer> tokenizer(new BpeTokenizer(std::move(impl)));
  tokenizer->special_ = special;
  return tokenizer;
}

StatusOr<std::vector<TokenId>> BpeTokenizer::DoEncode(std::string_view text, bool add_special_tokens) const {
  size_t bad = 0;
  if (!unicode::Utf8Validate(text, &bad)) {
    return Status::InvalidArgument("text is not valid UTF-8 (invalid byte sequence at offset " +
                                   std::to_string(bad) + ")");
  }
  std::vector<TokenId> ids;
  ids.reserve(text.size() / 3 + 4);
  if (add_special_tokens) ids.insert(ids.end(), impl_->post_prefix.begin(), impl_->post_prefix.end());
  std::vector<tokenizer_internal::AddedTokenMatcher::Segment> segments;
  if (!impl_->raw_matcher.empty()) {
    impl_->raw_matcher.Split(text, impl_->added_tokens, &segments);
  } else {
    segments.push_back({0, text.size(), -1});
  }
  for (const auto& segment : segments) {
    if (segment.token >= 0) {
      ids.push_back(impl_->added_tokens[segment.token].id);
    } else {
      SCORCH_RETURN_IF_ERROR(impl_->EncodeText(text.substr(segment.begin, segment.end - segment.begin), &ids));
    }
  }
  if (add_special_tokens) ids.insert(ids.end(), impl_->post_suffix.begin(), impl_->post_suffix.end());
  return ids;
}

StatusOr<std::string> BpeTokenizer::DoDecodeBytes(std::span<const TokenId> ids, bool skip_special_tokens) const {
  std::string out;
  out.reserve(ids.size() * 4);
  for (size_t i = 0; i < ids.size(); ++i) {
    const TokenId id = ids[i];
    if (id < 0 || static_cast<size_t>(id) >= impl_->id_to_bytes.size() || !impl_->id_used[id]) {
      return Status::OutOfRange("token id " + std::to_string(id) + " at position " + std::to_string(i) +
                                " is not in the vocabulary (size " + std::to_string(vocab_size()) + ")");
    }
    if (skip_special_tokens && impl_->is_special[id]) continue;
    out.append(impl_->id_to_bytes[id]);
  }
  return out;
}

int64_t BpeTokenizer::vocab_size() const { return static_cast<int64_t>(impl_->id_to_token.size()); }

std::optional<TokenId> BpeTokenizer::TokenToId(std::string_view token) const {
  auto it = impl_->token_to_id.find(token);
  if (it == impl_->token_to_id.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> BpeTokenizer::IdToToken(TokenId id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->id_to_token.size() || !impl_->id_used[id]) return std::nullopt;
  return impl_->id_to_token[id];
}

bool BpeTokenizer::IsSpecial(TokenId id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->is_special.size() && impl_->is_special[id] != 0;
}

size_t BpeTokenizer::num_merges() const { return impl_->merges.size(); }
size_t BpeTokenizer::num_added_tokens() const { return impl_->added_tokens.size(); }

}  // namespace scorch::model
