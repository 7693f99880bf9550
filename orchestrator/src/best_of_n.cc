// Best-of-N selectors and accuracy@k. See best_of_n.h.
#include "scorch/orchestrator/best_of_n.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <random>
#include <sstream>
#include <unordered_map>

namespace scorch::orchestrator {
namespace {

constexpr const char* kRank = "swift+likelihood:rank";
constexpr const char* kScaled = "swift+likelihood:scaled";

uint64_t Mix(uint64_t a, uint64_t b, uint64_t c) {
  uint64_t x = a ^ (b * 0x9e3779b97f4a7c15ULL) ^ (c * 0xbf58476d1ce4e5b9ULL);
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ULL;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

size_t ArgMax(const std::vector<double>& v) {
  return static_cast<size_t>(std::max_element(v.begin(), v.end()) - v.begin());  // first of equals
}

StatusOr<std::vector<double>> SwiftScores(std::span<const BonCandidate> c, const std::string& selector) {
  std::vector<double> out;
  out.reserve(c.size());
  for (size_t i = 0; i < c.size(); ++i) {
    if (!c[i].swift_score) {
      return Status::FailedPrecondition("selector " + selector + ": candidate " + std::to_string(i) +
                                        " has no SWIFT score (the stage needs a trained swift head)");
    }
    out.push_back(*c[i].swift_score);
  }
  return out;
}

std::vector<double> Likelihoods(std::span<const BonCandidate> c) {
  std::vector<double> out;
  for (const auto& x : c) out.push_back(x.mean_logprob);
  return out;
}

// 1-based ranks, best (highest) first; equal scores share the better rank.
std::vector<int> Ranks(const std::vector<double>& s) {
  std::vector<int> r(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    int better = 0;
    for (double o : s) better += o > s[i] ? 1 : 0;
    r[i] = better + 1;
  }
  return r;
}

// Min-max normalised within the group; a constant score becomes 1 everywhere (§5).
std::vector<double> MinMax(const std::vector<double>& s) {
  const auto [lo, hi] = std::minmax_element(s.begin(), s.end());
  std::vector<double> out(s.size(), 1.0);
  if (*hi > *lo) {
    for (size_t i = 0; i < s.size(); ++i) out[i] = (s[i] - *lo) / (*hi - *lo);
  }
  return out;
}

}  // namespace

const std::vector<std::string>& BonSelectorNames() {
  static const std::vector<std::string> kNames = {"swift",      "majority", "self_verdict", "likelihood",
                                                  "random",     "oracle",   kRank,          kScaled};
  return kNames;
}

bool IsBonSelector(const std::string& name) {
  const auto& n = BonSelectorNames();
  return std::find(n.begin(), n.end(), name) != n.end();
}

StatusOr<size_t> SelectCandidate(const std::string& selector, std::span<const BonCandidate> c, uint64_t seed) {
  if (c.empty()) return Status::InvalidArgument("selector " + selector + ": no candidates");
  if (selector == "swift") {
    SCORCH_ASSIGN_OR_RETURN(auto s, SwiftScores(c, selector));
    return ArgMax(s);
  }
  if (selector == "majority") {
    std::unordered_map<std::string, int> votes;
    std::unordered_map<std::string, size_t> first;
    for (size_t i = 0; i < c.size(); ++i) {
      ++votes[c[i].answer];
      first.emplace(c[i].answer, i);
    }
    size_t best = 0;
    int best_votes = 0;
    for (size_t i = 0; i < c.size(); ++i) {
      const int v = votes[c[i].answer];
      if (first[c[i].answer] == i && v > best_votes) {
        best = i;
        best_votes = v;
      }
    }
    return best;
  }
  if (selector == "self_verdict") {
    for (size_t i = 0; i < c.size(); ++i) {
      if (c[i].says_correct && *c[i].says_correct) return i;
    }
    return size_t{0};
  }
  if (selector == "likelihood") return ArgMax(Likelihoods(c));
  if (selector == "random") {
    std::mt19937_64 rng(seed);
    return static_cast<size_t>(rng() % c.size());
  }
  if (selector == "oracle") {
    for (size_t i = 0; i < c.size(); ++i) {
      if (c[i].correct) return i;
    }
    return size_t{0};
  }
  if (selector == kRank || selector == kScaled) {
    SCORCH_ASSIGN_OR_RETURN(auto swift, SwiftScores(c, selector));
    const auto like = Likelihoods(c);
    if (selector == kRank) {
      const auto rs = Ranks(swift), rl = Ranks(like);
      size_t best = 0;
      int best_rank = 0;
      for (size_t i = 0; i < c.size(); ++i) {
        const int r = std::max(rs[i], rl[i]);
        if (i == 0 || r < best_rank) {
          best = i;
          best_rank = r;
        }
      }
      return best;
    }
    const auto ns = MinMax(swift), nl = MinMax(like);
    std::vector<double> avg(c.size());
    for (size_t i = 0; i < c.size(); ++i) avg[i] = 0.5 * (ns[i] + nl[i]);
    return ArgMax(avg);
  }
  return Status::InvalidArgument("unknown Best-of-N selector '" + selector + "'");
}

std::vector<int> BonKs(int n) {
  std::vector<int> ks;
  for (int k = 1; k <= n; k *= 2) ks.push_back(k);
  if (n > 0 && ks.back() != n) ks.push_back(n);
  return ks;
}

nlohmann::json BonTable::ToJson() const {
  nlohmann::json acc = nlohmann::json::object();
  for (const auto& s : selectors) acc[s] = accuracy.at(s);
  return {{"problems", problems}, {"ks", ks}, {"accuracy", acc}};
}

StatusOr<BonTable> BestOfN(const std::vector<std::vector<BonCandidate>>& problems, const std::vector<int>& ks,
                           const std::vector<std::string>& selectors, uint64_t seed) {
  BonTable t;
  t.ks = ks;
  t.selectors = selectors;
  t.problems = static_cast<int64_t>(problems.size());
  if (problems.empty()) return Status::InvalidArgument("Best-of-N: no problems");
  for (const auto& s : selectors) {
    if (!IsBonSelector(s)) return Status::InvalidArgument("unknown Best-of-N selector '" + s + "'");
    t.accuracy[s] = std::vector<double>(ks.size(), 0.0);
  }
  for (size_t p = 0; p < problems.size(); ++p) {
    for (size_t ki = 0; ki < ks.size(); ++ki) {
      const int k = ks[ki];
      if (k < 1 || static_cast<size_t>(k) > problems[p].size()) {
        return Status::InvalidArgument("Best-of-N: problem " + std::to_string(p) + " has " +
                                       std::to_string(problems[p].size()) + " candidates, k = " + std::to_string(k));
      }
      std::span<const BonCandidate> first(problems[p].data(), static_cast<size_t>(k));
      for (const auto& s : selectors) {
        SCORCH_ASSIGN_OR_RETURN(size_t pick, SelectCandidate(s, first, Mix(seed, p, static_cast<uint64_t>(k))));
        if (first[pick].correct) t.accuracy[s][ki] += 1.0;
      }
    }
  }
  for (auto& [s, v] : t.accuracy) {
    for (double& a : v) a /= static_cast<double>(problems.size());
  }
  return t;
}

double PassAtK(const std::vector<std::vector<BonCandidate>>& problems, int k) {
  if (problems.empty()) return 0.0;
  double sum = 0;
  for (const auto& c : problems) {
    const int n = static_cast<int>(c.size());
    int correct = 0;
    for (const auto& x : c) correct += x.correct ? 1 : 0;
    if (n - correct < k) {
      sum += 1.0;
      continue;
    }
    // 1 - prod_{i=n-c+1..n} (1 - k/i), the numerically stable form of 1 - C(n-c,k)/C(n,k).
    double fail = 1.0;
    for (int i = n - correct + 1; i <= n; ++i) fail *= 1.0 - static_cast<double>(k) / i;
    sum += 1.0 - fail;
  }
  return sum / static_cast<double>(problems.size());
}

std::string FormatBonTable(const BonTable& t) {
  std::ostringstream out;
  char buf[64];
  std::snprintf(buf, sizeof buf, "%-26s", "accuracy@k (%)");
  out << buf;
  for (int k : t.ks) {
    std::snprintf(buf, sizeof buf, "%7s", ("k=" + std::to_string(k)).c_str());
    out << buf;
  }
  out << "\n";
  for (const auto& s : t.selectors) {
    std::snprintf(buf, sizeof buf, "%-26s", s.c_str());
    out << buf;
    for (double a : t.accuracy.at(s)) {
      std::snprintf(buf, sizeof buf, "%7.1f", 100.0 * a);
      out << buf;
    }
    out << "\n";
  }
  return out.str();
}

}  // namespace scorch::orchestrator
