#include "scorch/orchestrator/synthetic_task.h"

#include <array>
#include <cstdio>

namespace scorch::orchestrator {
namespace {

// SplitMix64: a small, well-mixed counter-based generator (one 64-bit state).
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t state) : state_(state) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  // Uniform in [lo, hi] (the modulo bias is negligible for these small ranges).
  int Uniform(int lo, int hi) {
    return lo + static_cast<int>(Next() % static_cast<uint64_t>(hi - lo + 1));
  }

 private:
  uint64_t state_;
};

constexpr std::array<const char*, 8> kNames = {"Ana", "Ben", "Chen", "Dara",
                                               "Eli", "Fay", "Gus", "Hana"};
constexpr std::array<const char*, 6> kItems = {"coins", "apples", "books",
                                               "stamps", "pens", "shells"};

enum class Op { kAdd, kSub, kMul };

std::string Fmt(const char* fmt, long long a) {
  char buf[96];
  std::snprintf(buf, sizeof(buf), fmt, a);
  return buf;
}

}  // namespace

Status SyntheticTaskOptions::Validate() const {
  if (min_ops < 1 || max_ops < min_ops || max_ops > 8) {
    return Status::InvalidArgument("synthetic task needs 1 <= min_ops <= max_ops <= 8");
  }
  if (max_operand < 2 || max_operand > 1000000) {
    return Status::InvalidArgument("synthetic task max_operand must be in [2, 1000000]");
  }
  if (size < 1) return Status::InvalidArgument("synthetic task size must be >= 1");
  return Status::Ok();
}

SyntheticTask::SyntheticTask(uint64_t seed, const SyntheticTaskOptions& options)
    : seed_(seed), options_(options) {}

Prompt SyntheticTask::Get(Split split, int64_t index) const {
  const int64_t i = ((index % options_.size) + options_.size) % options_.size;
  // Distinct streams per (seed, split, index): mix them through SplitMix once.
  SplitMix64 mix(seed_ * 0x9e3779b97f4a7c15ULL ^ (static_cast<uint64_t>(split) << 62) ^
                 static_cast<uint64_t>(i));
  SplitMix64 rng(mix.Next());

  const int ops = rng.Uniform(options_.min_ops, options_.max_ops);
  const char* name = kNames[rng.Next() % kNames.size()];
  const char* item = kItems[rng.Next() % kItems.size()];
  long long value = rng.Uniform(2, options_.max_operand);

  std::string story = std::string(name) + " has " + std::to_string(value) + " " + item + ".";
  std::string plain = "Compute " + std::to_string(value);
  std::string solution;
  for (int k = 0; k < ops; ++k) {
    Op op = Op::kAdd;
    int choice = rng.Uniform(0, options_.allow_multiply ? 5 : 3);
    if (choice >= 4) op = Op::kMul;
    else if (choice >= 2 && value > 1) op = Op::kSub;
    long long operand = 0;
    long long next = value;
    const char* sym = "+";
    std::string phrase;
    switch (op) {
      case Op::kAdd:
        operand = rng.Uniform(1, options_.max_operand);
        next = value + operand;
        phrase = (k == 0 ? " " + std::string(name) + " gets" : std::string(", then gets")) +
                 Fmt(" %lld more", operand);
        break;
      case Op::kSub:
        operand = rng.Uniform(1, static_cast<int>(std::min<long long>(value - 1, options_.max_operand)));
        next = value - operand;
        sym = "-";
        phrase = (k == 0 ? " " + std::string(name) + " loses" : std::string(", then loses")) +
                 Fmt(" %lld", operand);
        break;
      case Op::kMul:
        operand = rng.Uniform(2, 3);
        next = value * operand;
        sym = "*";
        phrase = (k == 0 ? " " + std::string(name) : std::string(", then")) +
                 (operand == 2 ? " doubles them" : " triples them");
        break;
    }
    story += phrase;
    plain += std::string(" ") + sym + " " + std::to_string(operand);
    solution += std::to_string(value) + " " + sym + " " + std::to_string(operand) + " = " +
                std::to_string(next) + ". ";
    value = next;
  }
  story += ". How many " + std::string(item) + " does " + name + " have?";
  Prompt p;
  char id[48];
  std::snprintf(id, sizeof(id), "synthetic-%s-%06lld", split == Split::kTrain ? "train" : "eval",
                static_cast<long long>(i));
  p.id = id;
  p.problem = options_.word_problems ? story : plain + ".";
  p.answer = std::to_string(value);
  p.solution = solution + "The answer is \\boxed{" + p.answer + "}.";
  return p;
}

}  // namespace scorch::orchestrator
