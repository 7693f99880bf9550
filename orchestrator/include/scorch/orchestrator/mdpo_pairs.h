// M-DPO preference pairs built online (ALGORITHMS §2.3, SRR eq. 5): every pair shares the
// prompt x and the first attempt a¹, and differs only in what follows it.
//
// The mdpo stage samples, per prompt, a few first attempts a¹ ("bases"). Each base is
// replayed with the same request seed (so the same a¹) several times: with a forced "wrong"
// verdict y¹ and different continuation seeds (each then writes its own a²), and once with a
// forced "correct" verdict (the trajectory ends there). Each graded replay is a Branch here.
// Per base, with Yes = the "correct"-verdict branch and No✓ / No✗ = "wrong"-verdict branches
// whose a² is right / wrong, the pairs (preferred ≻ rejected) are:
//
//   D1  a¹ wrong:  (No, a² right) ≻ (No, a² wrong)
//   D2  a¹ right:  (No, a² right) ≻ (No, a² wrong)
//   D3  a¹ wrong:  (No, a² right) ≻ (Yes)          a¹ right: (Yes) ≻ (No, a² wrong)
//
// The ambiguous comparison (a¹ wrong, No, a² wrong) vs (a¹ wrong, Yes) — both end wrong — is
// left out and counted. At most one pair per set and base (the first qualifying branches in
// input order), like collect's one trajectory per base sample. A "Yes" branch counts by its
// final answer (a¹, or a² where the protocol continues after "Yes").
//
// Shared a¹: replays are checked, not trusted — a branch whose (x, a¹) tokens differ from the
// majority of its base's branches (ties: the first branch's) is dropped as a replay mismatch,
// since it could not form a fixed-a¹ pair. Branches without a verdict (a¹ was cut off) or
// "wrong"-verdict branches without an a² are unusable.
//
// Thread-safety: pure functions. Errors: ParseMdpoSets returns InvalidArgument naming an
// unknown or repeated set.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "scorch/common/proto/wire_types.h"
#include "scorch/common/status.h"

namespace scorch::orchestrator {

enum class MdpoSet { kD1, kD2, kD3 };

// "d1" | "d2" | "d3" (the stage's mdpo_sets) -> sets, in the given order.
StatusOr<std::vector<MdpoSet>> ParseMdpoSets(const std::vector<std::string>& names);
const char* MdpoSetName(MdpoSet set);  // "d1" ...

// One graded replay of a base (x, a¹).
struct MdpoBranch {
  int64_t prompt_id = 0;
  int32_t base = 0;                                 // which a¹ of the prompt
  proto::Verdict verdict = proto::Verdict::kWrong;  // the forced y¹ (correct or wrong)
  bool has_verdict = false;                         // y¹ is in the trajectory (a¹ was not cut off)
  bool has_second_attempt = false;                  // an a² follows y¹
  bool first_correct = false;                       // r*(a¹)
  bool final_correct = false;                       // r* of the last attempt
  std::vector<int32_t> prefix;                      // tokens of x and a¹ (through a¹'s end)
};

struct MdpoPair {
  MdpoSet set = MdpoSet::kD1;
  size_t chosen = 0;    // index into the branches
  size_t rejected = 0;  // index into the branches
};

struct MdpoPairReport {
  std::vector<MdpoPair> pairs;            // grouped by prompt, then base, in input order
  std::map<std::string, int64_t> per_set;  // "d1".."d3" -> pairs (every enabled set listed)
  int64_t prompts = 0;                    // distinct prompts among the branches
  int64_t prompts_without_pairs = 0;      // of those, prompts that gave no pair
  int64_t ambiguous_left_out = 0;         // bases with both (wrong, No, wrong) and (wrong, Yes)
  int64_t replay_mismatch = 0;            // branches dropped: their a¹ differed from their base's
  int64_t unusable = 0;                   // branches without y¹, or "wrong" ones without an a²
};

// Pairs from `branches` (any order; grouped by (prompt_id, base)) for the enabled `sets`.
MdpoPairReport BuildMdpoPairs(const std::vector<MdpoBranch>& branches, const std::vector<MdpoSet>& sets);

}  // namespace scorch::orchestrator
