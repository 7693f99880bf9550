// The job loop's prompt sources: the built-in synthetic task, or a stage's JSONL prompt set.
//
// Synthetic stages share the job's train-split cursor (its state travels in every
// checkpoint). A stage with a JSONL `dataset` walks its file through its own shuffled cursor,
// seeded from the job seed and the stage's position; on resume it is replayed to the stage's
// consumed prompts (stage_step × batch_prompts), so no prompt repeats or is skipped. Eval
// stages read a JSONL set in file order from eval_offset and end at the end of the file.
#include "job_internal.h"
#include "scorch/common/logging.h"

namespace scorch::orchestrator {

namespace {
bool IsJsonlDataset(const std::string& dataset) { return dataset != "synthetic" && dataset.rfind("stage:", 0) != 0; }
}  // namespace

Status JobRunner::LoadDatasets() {
  for (size_t i = 0; i < config_.stages.size(); ++i) {
    const auto& stage = config_.stages[i];
    if (!IsJsonlDataset(stage.dataset) || stage.steps == 0) continue;
    JsonlOptions options;
    options.skip_bad_lines = config_.job.skip_bad_dataset_lines;
    JsonlLoadReport report;
    auto loaded = LoadJsonlDataset(stage.dataset, options, &report);
    if (!loaded.ok()) return loaded.status().WithContext("stage " + stage.name + ": dataset");
    if ((*loaded)->size() == 0) {
      return Status::InvalidArgument("stage " + stage.name + ": dataset " + stage.dataset + " holds no prompts (" +
                                     std::to_string(report.skipped) + " bad lines skipped)");
    }
    SCORCH_LOG(INFO) << "stage " << stage.name << ": " << report.loaded << " prompts from " << stage.dataset;
    if (report.skipped > 0) {
      std::string first;
      for (size_t k = 0; k < report.first_errors.size() && k < 3; ++k) first += "\n  " + report.first_errors[k];
      SCORCH_LOG(WARNING) << "stage " << stage.name << ": skipped " << report.skipped << " bad line(s) of "
                          << stage.dataset << " (job.skip_bad_dataset_lines), first:" << first;
    }
    if (stage.kind == config::StageKind::kEval && stage.eval_offset >= (*loaded)->size()) {
      return Status::InvalidArgument("stage " + stage.name + ": eval_offset " + std::to_string(stage.eval_offset) +
                                     " is past the " + std::to_string((*loaded)->size()) + " prompts of " +
                                     stage.dataset);
    }
    datasets_[static_cast<int>(i)] = std::move(*loaded);
  }
  return Status::Ok();
}

Status JobRunner::BeginStagePrompts(int index) {
  stage_cursor_.reset();
  auto it = datasets_.find(index);
  if (it == datasets_.end()) return Status::Ok();
  const auto& stage = config_.stages[static_cast<size_t>(index)];
  stage_cursor_ = std::make_unique<PromptCursor>(it->second->size(),
                                                 job_internal::MixSeed(config_.job.seed, 0xda7a, index));
  for (int64_t k = 0; k < state_.stage_step * stage.batch_prompts; ++k) stage_cursor_->Next();
  return Status::Ok();
}

std::pair<int64_t, Prompt> JobRunner::NextTrainPrompt(int index) {
  if (auto it = datasets_.find(index); it != datasets_.end() && stage_cursor_) {
    const int64_t idx = stage_cursor_->Next();
    return {idx, it->second->Get(idx)};
  }
  const int64_t idx = cursor_->Next();
  return {idx, task_->Get(Split::kTrain, idx)};
}

std::optional<Prompt> JobRunner::EvalPrompt(int index, int64_t i) const {
  if (auto it = datasets_.find(index); it != datasets_.end()) {
    if (i >= it->second->size()) return std::nullopt;
    return it->second->Get(i);
  }
  return task_->Get(Split::kEval, i);
}

}  // namespace scorch::orchestrator
