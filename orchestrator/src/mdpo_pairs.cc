// M-DPO pairs with a shared (x, a¹): the D1/D2/D3 table of ALGORITHMS §2.3. See mdpo_pairs.h.
#include "scorch/orchestrator/mdpo_pairs.h"

#include <algorithm>
#include <optional>
#include <utility>

namespace scorch::orchestrator {
namespace {

using proto::Verdict;

// Indices of the branches of one base whose a¹ tokens agree with the majority (ties: with the
// first branch). The rest are replay mismatches.
std::vector<size_t> Consistent(const std::vector<MdpoBranch>& branches, const std::vector<size_t>& members,
                               int64_t* mismatches) {
  std::vector<size_t> best;
  for (size_t i = 0; i < members.size(); ++i) {
    std::vector<size_t> same;
    for (size_t k : members) {
      if (branches[k].prefix == branches[members[i]].prefix) same.push_back(k);
    }
    if (same.size() > best.size()) best = std::move(same);
  }
  *mismatches += static_cast<int64_t>(members.size() - best.size());
  return best;
}

}  // namespace

StatusOr<std::vector<MdpoSet>> ParseMdpoSets(const std::vector<std::string>& names) {
  std::vector<MdpoSet> sets;
  for (size_t i = 0; i < names.size(); ++i) {
    MdpoSet s;
    if (names[i] == "d1") {
      s = MdpoSet::kD1;
    } else if (names[i] == "d2") {
      s = MdpoSet::kD2;
    } else if (names[i] == "d3") {
      s = MdpoSet::kD3;
    } else {
      return Status::InvalidArgument("mdpo_sets[" + std::to_string(i) + "]: \"" + names[i] +
                                     "\" is not one of d1, d2, d3");
    }
    if (std::find(sets.begin(), sets.end(), s) != sets.end()) {
      return Status::InvalidArgument("mdpo_sets[" + std::to_string(i) + "]: \"" + names[i] + "\" is listed twice");
    }
    sets.push_back(s);
  }
  if (sets.empty()) return Status::InvalidArgument("mdpo_sets is empty: name at least one of d1, d2, d3");
  return sets;
}

const char* MdpoSetName(MdpoSet set) {
  switch (set) {
    case MdpoSet::kD1:
      return "d1";
    case MdpoSet::kD2:
      return "d2";
    case MdpoSet::kD3:
      return "d3";
  }
  return "?";
}

MdpoPairReport BuildMdpoPairs(const std::vector<MdpoBranch>& branches, const std::vector<MdpoSet>& sets) {
  MdpoPairReport report;
  for (MdpoSet s : sets) report.per_set[MdpoSetName(s)] = 0;
  auto enabled = [&sets](MdpoSet s) { return std::find(sets.begin(), sets.end(), s) != sets.end(); };

  // Group by prompt, then base, keeping the input order inside a group.
  std::map<int64_t, std::map<int32_t, std::vector<size_t>>> groups;
  for (size_t i = 0; i < branches.size(); ++i) groups[branches[i].prompt_id][branches[i].base].push_back(i);
  report.prompts = static_cast<int64_t>(groups.size());

  for (const auto& [prompt_id, bases] : groups) {
    const size_t pairs_before = report.pairs.size();
    for (const auto& [base, members] : bases) {
      const std::vector<size_t> same_a1 = Consistent(branches, members, &report.replay_mismatch);
      std::vector<size_t> yes, no_right, no_wrong;
      for (size_t k : same_a1) {
        const MdpoBranch& b = branches[k];
        if (!b.has_verdict) {
          ++report.unusable;
        } else if (b.verdict == Verdict::kCorrect) {
          yes.push_back(k);
        } else if (!b.has_second_attempt) {
          ++report.unusable;
        } else {
          (b.final_correct ? no_right : no_wrong).push_back(k);
        }
      }
      if (same_a1.empty()) continue;
      // Branches with identical (x, a¹) tokens were graded identically on a¹.
      const bool a1_right = branches[same_a1.front()].first_correct;
      auto add = [&report](MdpoSet set, size_t chosen, size_t rejected) {
        report.pairs.push_back({set, chosen, rejected});
        ++report.per_set[MdpoSetName(set)];
      };
      // The "Yes" branch by its final answer: a¹'s, unless the protocol went on after "Yes".
      std::optional<size_t> yes_right, yes_wrong;
      for (size_t k : yes) {
        if (branches[k].final_correct && !yes_right) yes_right = k;
        if (!branches[k].final_correct && !yes_wrong) yes_wrong = k;
      }
      const MdpoSet fix_set = a1_right ? MdpoSet::kD2 : MdpoSet::kD1;
      if (enabled(fix_set) && !no_right.empty() && !no_wrong.empty()) add(fix_set, no_right.front(), no_wrong.front());
      if (!a1_right) {
        if (enabled(MdpoSet::kD3) && !no_right.empty() && yes_wrong.has_value()) {
          add(MdpoSet::kD3, no_right.front(), *yes_wrong);
        }
        // (wrong, No, wrong) vs (wrong, Yes): both end wrong; the paper leaves it out.
        if (!no_wrong.empty() && yes_wrong.has_value()) ++report.ambiguous_left_out;
      } else if (enabled(MdpoSet::kD3) && yes_right.has_value() && !no_wrong.empty()) {
        add(MdpoSet::kD3, *yes_right, no_wrong.front());
      }
    }
    if (report.pairs.size() == pairs_before) ++report.prompts_without_pairs;
  }
  return report;
}

}  // namespace scorch::orchestrator
