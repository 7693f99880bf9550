// The self-correction training sets a collect stage writes (ALGORITHMS §2.1: D1, D2, D3) as
// JSONL, one trajectory per line, readable by people and complete enough to train on:
//   {"set": "d1", "prompt_id": 17, "problem": "...", "gold": "14",
//    "token_ids": [...], "trainable_mask": [...],
//    "segments": [{"role": "user", "turn": 0, "kind": "prompt", "begin": 0, "end": 52, "text": "..."}, ...],
//    "turn_answers": ["15", "14"]}
// Written atomically (temp file + rename), so a crash never leaves half a set. Reading checks
// every line (token ids, segment ranges) and names file:line on the first bad one.
//
// Thread-safety: pure functions. Errors: IoError, InvalidArgument (file:line: reason).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "scorch/common/proto/rollout_messages.h"
#include "scorch/common/status.h"

namespace scorch::orchestrator {

struct CollectedSample {
  std::string set;  // "d1" | "d2" | "d3"
  std::string problem;
  std::string gold;
  proto::Trajectory trajectory;
};

Status WriteCollected(const std::filesystem::path& path, const std::vector<CollectedSample>& samples);

// TrainSamples ready for an SFT stage: mask_rule "srr_d1|d2|d3" from each line's set.
StatusOr<std::vector<proto::TrainSample>> ReadCollected(const std::filesystem::path& path);

}  // namespace scorch::orchestrator
