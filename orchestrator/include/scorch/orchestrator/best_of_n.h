// Best-of-N selection (ALGORITHMS §5): for each problem, N sampled candidates; a selector picks
// one among the first k, and accuracy@k is the fraction of problems whose pick is correct,
// for k = 1, 2, 4, …, N.
//
// Selectors (by name):
//   swift        argmax of the SWIFT reward head's sequence score R (§5)
//   majority     the most common final answer (ties: the answer seen first); the pick is that
//                answer's first candidate
//   self_verdict the first candidate whose own verdict says "correct"; else the first one
//   likelihood   argmax of the mean token log-probability (a score every sampler has)
//   random       a uniformly random candidate (seeded per problem and k, reproducible)
//   oracle       a correct candidate when there is one: accuracy@k = pass@k, the upper bound
//   swift+likelihood:rank    SWIFT combined with likelihood by rank: score = max(rank_swift,
//                            rank_likelihood) (rank 1 = best), lowest wins, ties: first
//   swift+likelihood:scaled  min-max normalise each score over the k candidates (a constant
//                            score becomes 1), average them, highest wins
// A selector needing a score a candidate lacks (no SWIFT head, no verdict) cannot run: Select
// returns FailedPrecondition naming the selector and what is missing.
//
// Pure functions over values; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scorch/common/status.h"

namespace scorch::orchestrator {

struct BonCandidate {
  bool correct = false;                 // the grader's verdict on the final answer
  std::string answer;                   // normalised final answer (majority vote)
  std::optional<double> swift_score;    // the SWIFT head's R, when a head scored it
  std::optional<bool> says_correct;     // the model's own verdict, when it gave one
  double mean_logprob = 0.0;            // mean log π over the generated tokens
};

// Every selector name above, in report order.
const std::vector<std::string>& BonSelectorNames();
// True when `name` is one of them.
bool IsBonSelector(const std::string& name);

// The index in `candidates` (non-empty) that `selector` picks. `seed` drives `random`.
StatusOr<size_t> SelectCandidate(const std::string& selector, std::span<const BonCandidate> candidates,
                                 uint64_t seed);

// 1, 2, 4, …, up to n (n itself included when it is not a power of two).
std::vector<int> BonKs(int n);

struct BonTable {
  std::vector<int> ks;
  std::vector<std::string> selectors;
  std::map<std::string, std::vector<double>> accuracy;  // selector -> accuracy@k per ks
  int64_t problems = 0;
  nlohmann::json ToJson() const;  // {"problems", "ks", "accuracy": {selector: [...]}}
};

// accuracy@k for every selector over `problems` (each with at least max(ks) candidates, in
// sampling order). `seed` is mixed with the problem index and k for `random`.
StatusOr<BonTable> BestOfN(const std::vector<std::vector<BonCandidate>>& problems, const std::vector<int>& ks,
                           const std::vector<std::string>& selectors, uint64_t seed);

// pass@k with the unbiased estimator 1 - C(n-c, k)/C(n, k), averaged over problems (n = the
// candidates of each problem, c = the correct ones).
double PassAtK(const std::vector<std::vector<BonCandidate>>& problems, int k);

// The table as text: one row per selector, one column per k, in percent.
std::string FormatBonTable(const BonTable& table);

}  // namespace scorch::orchestrator
