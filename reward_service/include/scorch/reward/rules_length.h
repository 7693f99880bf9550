// The length and repetition shaping of Demystify (ALGORITHMS §3.3–3.4) as pure functions,
// used by the `cosine` and `repetition` rules and testable on hand-computed values.
//
//  - CosineReward: R = r_exceed when L + margin ≥ L_max; otherwise
//    CosFn(L, r0, rL) = rL + ½(r0 − rL)(1 + cos(πL/L_max)) with (r0, rL) = (max_value_correct,
//    min_value_correct) for a correct answer and (min_value_wrong, max_value_wrong) plus the
//    sparse repetition penalty for a wrong one. Anchors: at L = L_max/2 → 1.5 and −5.
//  - DenseRepetitionPenalty: per generated token; every token covered by an n-gram of token
//    ids that already occurred earlier gets `penalty` (assigned, not summed). `only_start`
//    follows the reference code exactly: a repeated n-gram starting at s is skipped unless
//    s > s_prev + n, where s_prev is the start of the previous repeated n-gram (skipped or not).
//  - SparseRepetitionPenalty: max_penalty · (1 − unique/total) over lowercased
//    whitespace-split word n-grams; 0 when there are no n-grams (guard total = 0).
//
// Pure, thread-safe, never throw; parameter checks live in Validate().
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::reward {

struct CosineParams {
  double max_value_correct = 2.0;   // r0_c: reward of a correct answer at L = 0
  double min_value_correct = 1.0;   // rL_c: reward of a correct answer at L = L_max
  double min_value_wrong = -10.0;   // r0_w: reward of a wrong answer at L = 0 (≤ 0)
  double max_value_wrong = 0.0;     // rL_w: reward of a wrong answer at L = L_max (≤ 0)
  double exceed_length = -10.0;     // r_exceed: when L + margin ≥ L_max
  int64_t max_length = 14336;       // L_max (tokens); a trajectory's max_new_tokens overrides it
  int64_t margin = 16;              // tokens: the "+16" of the reference code
  double sparse_max_penalty = 0.0;  // ≤ 0; 0 = sparse word n-gram penalty off (default)
  int sparse_ngram_size = 20;       // words per n-gram for the sparse penalty

  Status Validate() const;
};

// The cosine length-scaled reward for a response of L generated tokens.
// `sparse_penalty` is added for wrong answers only (pass SparseRepetitionPenalty's value).
double CosineReward(int64_t length, int64_t max_length, bool correct,
                    const CosineParams& params, double sparse_penalty = 0.0);

// CosFn(L, r0, rL) on its own.
double CosFn(double length, double max_length, double r0, double rl);

// Per-token penalties for the first `length` ids (length < 0: all). REQUIRES ngram_size ≥ 1.
std::vector<float> DenseRepetitionPenalty(std::span<const int32_t> token_ids, int ngram_size,
                                          float penalty, bool only_start, int64_t length = -1);

double SparseRepetitionPenalty(std::string_view text, int ngram_size, double max_penalty);

}  // namespace scorch::reward
