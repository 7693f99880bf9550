// The built-in synthetic task: multi-step arithmetic word problems with exact answers and
// step-by-step solutions, so nothing has to be downloaded for the quickstart or tests.
//
// Problem i of a split is a pure function of (seed, split, i): the generator hashes them into
// a private RNG stream, so any problem can be produced in O(1), in any order, on any process,
// and the train and eval splits never share a stream. Answers are exact integers (division is
// only ever generated when it is exact).
//
// Example (ops = 2):
//   problem:  "Ana has 12 coins. Ana gets 7 more, then loses 5. How many coins does Ana have?"
//   solution: "12 + 7 = 19. 19 - 5 = 14. The answer is \boxed{14}."
//   answer:   "14"
//
// Thread-safe: immutable after construction.
#pragma once

#include <cstdint>
#include <string>

#include "scorch/common/status.h"
#include "scorch/orchestrator/prompt.h"

namespace scorch::orchestrator {

struct SyntheticTaskOptions {
  int min_ops = 1;            // fewest arithmetic steps per problem
  int max_ops = 2;            // most arithmetic steps per problem
  int max_operand = 20;       // operands are drawn from [1, max_operand]
  bool allow_multiply = true; // include "times" steps (small factors only)
  bool word_problems = true;  // story text; false gives "Compute 12 + 7 - 5."
  int64_t size = 100000;      // problems per split (indices wrap beyond it)

  Status Validate() const;
};

enum class Split { kTrain = 0, kEval = 1 };

class SyntheticTask {
 public:
  SyntheticTask(uint64_t seed, const SyntheticTaskOptions& options);

  // Problem `index` of `split` (index is taken modulo options.size).
  Prompt Get(Split split, int64_t index) const;
  int64_t size() const { return options_.size; }

 private:
  uint64_t seed_;
  SyntheticTaskOptions options_;
};

}  // namespace scorch::orchestrator
