// Sampled trajectories (rollouts/step-N.jsonl) for people: terminal pretty-printing with each
// segment's kind (prompt, attempt, verify, instruction, evaluation) labelled and, on a TTY,
// coloured. Model text is printed with control characters escaped, so a trajectory cannot
// drive the terminal.
//
// Pure functions; thread-compatible. LoadRollouts returns NotFound (naming the steps that do
// have rollouts) when no file holds `step`; unparsable lines are skipped and counted.
#pragma once

#include <cstdint>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::inspect {

struct RolloutFile {
  std::filesystem::path path;
  std::vector<nlohmann::json> trajectories;  // well-formed objects, file order
  int64_t bad_lines = 0;                      // lines that were not JSON objects
};

// Reads rollouts/step-N.jsonl for `step` (zero-padded names accepted).
StatusOr<RolloutFile> LoadRollouts(const std::filesystem::path& run_root, int64_t step);

// Renders up to `limit` trajectories (0 = all). `color` adds ANSI colours per segment kind.
std::string FormatRollouts(const RolloutFile& file, bool color, size_t limit);

// Escapes control characters (other than newline and tab) as \xNN.
std::string EscapeControl(const std::string& text);

}  // namespace scorch::inspect
