// Cosine length scaling and repetition penalties (Demystify). See rules_length.h.
#include "scorch/reward/rules_length.h"

#include <cctype>
#include <cmath>
#include <numbers>
#include <string>
#include <unordered_set>

namespace scorch::reward {
namespace {

bool Finite(double x) { return std::isfinite(x); }

}  // namespace

Status CosineParams::Validate() const {
  for (auto [name, v] : {std::pair<const char*, double>{"max_value_correct", max_value_correct},
                         {"min_value_correct", min_value_correct},
                         {"min_value_wrong", min_value_wrong},
                         {"max_value_wrong", max_value_wrong},
                         {"exceed_length", exceed_length},
                         {"sparse_max_penalty", sparse_max_penalty}}) {
    if (!Finite(v)) return Status::InvalidArgument(std::string("cosine.") + name + " must be finite");
  }
  if (min_value_wrong > 0 || max_value_wrong > 0) {
    return Status::InvalidArgument(
        "cosine.min_value_wrong and cosine.max_value_wrong must both be <= 0 (got " +
        std::to_string(min_value_wrong) + ", " + std::to_string(max_value_wrong) + ")");
  }
  if (max_length <= 0) {
    return Status::InvalidArgument("cosine.max_length must be > 0, got " + std::to_string(max_length));
  }
  if (margin < 0) return Status::InvalidArgument("cosine.margin must be >= 0");
  if (sparse_max_penalty > 0) {
    return Status::InvalidArgument("cosine.sparse_max_penalty must be <= 0 (0 = off), got " +
                                   std::to_string(sparse_max_penalty));
  }
  if (sparse_ngram_size < 1) return Status::InvalidArgument("cosine.sparse_ngram_size must be >= 1");
  return Status::Ok();
}

double CosFn(double length, double max_length, double r0, double rl) {
  return rl + 0.5 * (r0 - rl) * (1.0 + std::cos(std::numbers::pi * length / max_length));
}

double CosineReward(int64_t length, int64_t max_length, bool correct, const CosineParams& params,
                    double sparse_penalty) {
  if (max_length <= 0) max_length = params.max_length;
  if (length + params.margin >= max_length) return params.exceed_length;
  double l = static_cast<double>(length), lmax = static_cast<double>(max_length);
  if (correct) return CosFn(l, lmax, params.max_value_correct, params.min_value_correct);
  return CosFn(l, lmax, params.min_value_wrong, params.max_value_wrong) + sparse_penalty;
}

namespace {

// An n-gram of token ids viewed in place; hashed over its bytes.
struct NgramView {
  const int32_t* data;
  size_t n;
  bool operator==(const NgramView& o) const {
    for (size_t i = 0; i < n; ++i) {
      if (data[i] != o.data[i]) return false;
    }
    return true;
  }
};
struct NgramHash {
  size_t operator()(const NgramView& v) const {
    return std::hash<std::string_view>()(
        std::string_view(reinterpret_cast<const char*>(v.data), v.n * sizeof(int32_t)));
  }
};

}  // namespace

std::vector<float> DenseRepetitionPenalty(std::span<const int32_t> token_ids, int ngram_size,
                                          float penalty, bool only_start, int64_t length) {
  size_t len = token_ids.size();
  if (length >= 0 && static_cast<size_t>(length) < len) len = static_cast<size_t>(length);
  std::vector<float> out(len, 0.0f);
  if (ngram_size < 1) return out;
  size_t n = static_cast<size_t>(ngram_size);
  if (len < n) return out;
  std::unordered_set<NgramView, NgramHash> seen;
  seen.reserve(len - n + 1);
  // Matches the reference: curr_end = start + n of the previous repeated n-gram, skipped
  // or not; with only_start a repeat is assigned only when start > curr_end.
  int64_t curr_end = -1;
  for (size_t start = 0; start + n <= len; ++start) {
    NgramView v{token_ids.data() + start, n};
    if (!seen.insert(v).second) {
      if (!only_start || static_cast<int64_t>(start) > curr_end) {
        for (size_t i = start; i < start + n; ++i) out[i] = penalty;
      }
      curr_end = static_cast<int64_t>(start + n);
    }
  }
  return out;
}

double SparseRepetitionPenalty(std::string_view text, int ngram_size, double max_penalty) {
  if (max_penalty == 0.0 || ngram_size < 1) return 0.0;
  // Lowercased words split on whitespace (Python's str.lower().split() on ASCII).
  std::vector<std::string> words;
  std::string cur;
  for (char c : text) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) words.push_back(std::move(cur)), cur.clear();
    } else {
      cur.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    }
  }
  if (!cur.empty()) words.push_back(std::move(cur));
  size_t n = static_cast<size_t>(ngram_size);
  if (words.size() < n) return 0.0;  // total = 0
  size_t total = words.size() - n + 1;
  std::unordered_set<std::string> unique;
  unique.reserve(total);
  std::string key;
  for (size_t s = 0; s < total; ++s) {
    key.clear();
    for (size_t i = 0; i < n; ++i) {
      // Length-prefixed, so distinct word lists never collide.
      key += std::to_string(words[s + i].size());
      key.push_back(':');
      key += words[s + i];
    }
    unique.insert(key);
  }
  return max_penalty * (1.0 - static_cast<double>(unique.size()) / static_cast<double>(total));
}

}  // namespace scorch::reward
