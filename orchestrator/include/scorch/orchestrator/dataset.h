// Prompt datasets and the resumable cursor that walks them.
//
// A JSONL prompt set has one object per line: {"id": ..., "problem": "...", "answer": "..."}
// ("id" may be a string or integer; when absent the line number is used; "solution" is
// optional). Bad lines (invalid JSON, missing or mistyped fields, duplicate ids, over-long
// lines) are errors naming file:line; with `skip_bad_lines` they are skipped and counted
// instead, and the first few reasons are kept for the log.
//
// PromptCursor visits a dataset in a deterministic shuffled order, epoch after epoch; its
// whole state is (epoch, position), saved in orchestrator checkpoints so a resumed job neither
// repeats nor skips a prompt. Thread-compatible: one owner (the orchestrator's scheduler).
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/orchestrator/prompt.h"
#include "scorch/orchestrator/synthetic_task.h"

namespace scorch::orchestrator {

class PromptDataset {
 public:
  virtual ~PromptDataset() = default;
  virtual int64_t size() const = 0;
  // REQUIRES: 0 <= index < size().
  virtual Prompt Get(int64_t index) const = 0;
};

struct JsonlOptions {
  bool skip_bad_lines = false;          // false: the first bad line fails the load
  size_t max_line_bytes = 1 << 20;      // longer lines are bad lines
};

struct JsonlLoadReport {
  int64_t lines = 0;                    // non-empty lines read
  int64_t loaded = 0;                   // prompts kept
  int64_t skipped = 0;                  // bad lines skipped (skip_bad_lines only)
  std::vector<std::string> first_errors;  // up to 10 "file:line: reason" strings
};

StatusOr<std::unique_ptr<PromptDataset>> LoadJsonlDataset(const std::filesystem::path& path,
                                                          const JsonlOptions& options,
                                                          JsonlLoadReport* report = nullptr);

// A view of the synthetic task as a dataset of `size` problems of one split.
std::unique_ptr<PromptDataset> MakeSyntheticDataset(std::shared_ptr<const SyntheticTask> task,
                                                    Split split, int64_t size);

// The whole state of a PromptCursor (saved in orchestrator checkpoints).
struct PromptCursorState {
  int64_t epoch = 0;     // completed passes over the dataset
  int64_t position = 0;  // prompts taken in the current epoch
};

class PromptCursor {
 public:
  using State = PromptCursorState;

  // `size` > 0 prompts, shuffled per epoch from `seed` (shuffle = false keeps file order).
  PromptCursor(int64_t size, uint64_t seed, bool shuffle = true, State state = {});

  // The next dataset index; advances the state (wrapping into the next epoch).
  int64_t Next();
  const State& state() const { return state_; }

  nlohmann::json ToJson() const;
  static StatusOr<State> StateFromJson(const nlohmann::json& j);

 private:
  void BuildOrder();

  int64_t size_;
  uint64_t seed_;
  bool shuffle_;
  State state_;
  std::vector<int64_t> order_;  // permutation for state_.epoch
};

}  // namespace scorch::orchestrator
