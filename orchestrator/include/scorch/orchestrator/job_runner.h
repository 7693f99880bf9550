// JobRunner: the orchestrator's job loop. Runs a job's stages in order (ARCHITECTURE §4) over
// the Dispatcher (rollout workers, learner) and a grading function (the reward service):
//
//   sft      steps × batch_prompts demonstrations: synthetic ones built from the task's worked
//            solutions (sft_demos.h; dataset "synthetic"), or the trajectories a collect stage
//            wrote (dataset "stage:<collect stage name>", trained with their SRR set's mask).
//   collect  sequential rejection sampling (ALGORITHMS §2.1) with forced verdicts: every sample
//            is attempted, told "[VERIFY] wrong." and corrected; graded, it becomes D1 (a¹ wrong,
//            a² right) or D2 (a¹ right, a² right); a right a¹ is also replayed with the same seed
//            and a forced "[VERIFY] correct." to give D3; at most one trajectory is kept per base
//            sample (a right a¹ goes to D2 or D3 with equal odds). Output: data/<stage>.jsonl.
//   grpo     per step: batch_prompts × samples_per_prompt trajectories under the stage's protocol,
//            graded (reward = the reward service's scalar), one learner step, new weights.
//            With max_staleness k > 0 the next k batches are queued before a step trains, so
//            generation overlaps training and a trajectory lags the trained policy by <= k
//            versions (the learner then uses the worker's recorded log-probs as π_old).
//   ppo      as grpo (any samples_per_prompt); the learner trains a critic beside the policy
//            and uses GAE advantages instead of group-normalised ones (learner/trainer.h).
//   mdpo     per step (job_mdpo.cc): batch_prompts × samples_per_prompt first attempts a¹ under the
//            stage's protocol (self_correct or two_turn), each replayed with its seed (same a¹)
//            mdpo_continuations times after a forced "wrong" verdict, with distinct continuation
//            seeds, and once after a forced "correct" one; graded, they give (preferred ≻
//            rejected) pairs sharing (x, a¹) from the sets in mdpo_sets (ALGORITHMS §2.3,
//            mdpo_pairs.h), which train one M-DPO learner step (η = mdpo_eta, NLL weight
//            mdpo_nll_coef). Prompts without a pair are counted; a step without any pair takes
//            no learner step but is still logged. Metrics: mdpo/pairs, mdpo/pairs_d1..d3,
//            mdpo/prompts_without_pairs, mdpo/ambiguous_left_out, mdpo/replay_mismatch, the
//            accuracy summary (its verdicts are the forced ones), reward/mean and the learner's
//            DPO statistics (mdpo/reward_accuracy, mdpo/margin, ...).
//   eval     held-out problems (the task's eval split), every metric of ALGORITHMS §6, written to
//            eval/NN-<stage>.json and printed as a table; at the end of the job all eval stages
//            are printed side by side.
// Prompts: grpo, ppo, collect and eval stages read the synthetic task (dataset "synthetic") or
// a JSONL prompt set (dataset: a path; dataset.h), loaded and checked when Run starts, so a
// bad line (file:line named) fails the job before any stage runs, or, with
// job.skip_bad_dataset_lines, is skipped and counted in the log (job_prompts.cc).
//   swift_train (job_swift.cc) per step: batch_prompts × samples_per_prompt trajectories,
//            graded; each becomes a TrainSample whose reward is its label (final answer
//            correct = 1). The learner extracts the frozen policy's features and, at the stage's
//            last batch, trains the SWIFT head (ALGORITHMS §5: validation split by problem,
//            early stopping) into runs/NAME/swift/<stage>/. Restarts whole on resume.
//   bon      held-out problems, samples_per_prompt = N candidates each, generated with the
//            SWIFT head named by swift_head ("stage:<swift_train stage>" or a directory), which
//            scores each candidate from the states generation computes; accuracy@k of every
//            selector of best_of_n.h that can run, pass@k, and selection time per candidate,
//            written to eval/NN-<stage>.json and printed as a table.
//
// Every step appends one line to metrics.jsonl (global step, stage, stage_step, the stage's
// metrics and time split), the same scalars to TensorBoard event files under events/, and one
// progress line to the log; on a terminal a status line (progress.h) shows the stage's steps,
// rate and ETA below the log. Checkpoints: every
// learner.checkpoint_every optimizer steps and at the end of each stage, the job's state (stage,
// step, the train-split cursor) travels with a TrainBatch to the learner, which writes it into
// the checkpoint it takes, so model and job state are saved atomically together. Resume: Run with
// the state read from the latest checkpoint; metrics past its step are dropped and re-written.
//
// Ownership: borrows everything given to the constructor. Thread-safety: Run on one thread;
// StatusJson from any thread. Errors: the first failing stage's Status, naming the stage and step.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scorch/common/config/run_config.h"
#include "scorch/common/metrics_writer.h"
#include "scorch/common/progress.h"
#include "scorch/common/proto/message.h"
#include "scorch/common/run_dir.h"
#include "scorch/common/tfevents.h"
#include "scorch/common/status.h"
#include "scorch/model/prompt_texts.h"
#include "scorch/model/tokenizer.h"
#include "scorch/orchestrator/dataset.h"
#include "scorch/orchestrator/dispatcher.h"
#include "scorch/orchestrator/eval_metrics.h"
#include "scorch/orchestrator/synthetic_task.h"

namespace scorch::orchestrator {

// Grades a batch of trajectories (the reward service, in process or over ZeroMQ).
using GradeFn = std::function<StatusOr<proto::GradeReply>(const proto::GradeRequest&)>;

// Where a job stands; saved in every checkpoint.
struct JobState {
  int64_t step = 0;         // global steps completed (metrics.jsonl's last step)
  int stage_index = 0;      // the stage to run (or continue)
  int64_t stage_step = 0;   // steps of that stage already completed
  PromptCursorState cursor; // train-split cursor
  bool trained = false;     // the learner has taken at least one step (it can checkpoint)
  nlohmann::json ToJson() const;
  static StatusOr<JobState> FromJson(const nlohmann::json& j);
};

// The job's synthetic task options.
SyntheticTaskOptions TaskOptionsOf(const config::TaskConfig& task);
// Checks that the job loop can run every stage (kinds, datasets, references between stages).
Status ValidateJob(const config::RunConfig& config);

class JobRunner {
 public:
  JobRunner(const config::RunConfig& config, const RunDirectory& run, Dispatcher& dispatcher, GradeFn grade,
            const model::Tokenizer& tokenizer);
  ~JobRunner();

  // Runs from `state` (default: the beginning) to the end of the job.
  Status Run(JobState state = {});

  // Per-eval-stage summaries, in run order (for the final table).
  const std::vector<std::pair<std::string, EvalSummary>>& evals() const { return evals_; }
  // {"stage", "step", "last_metrics"} for /status; any thread.
  nlohmann::json StatusJson() const;
  // Asks Run to stop after the current step (it returns Cancelled). Any thread.
  void RequestStop() { stop_requested_ = true; }

 private:
  struct Graded;
  Status RunStage(int index);
  Status RunSft(int index);
  Status RunCollect(int index);
  Status RunRl(int index);
  Status RunMdpo(int index);
  Status RunEval(int index);
  Status RunSwiftTrain(int index);  // job_swift.cc
  Status RunBon(int index);         // job_swift.cc

  // Stage prompts (job_prompts.cc): the synthetic task's train split through the job's cursor,
  // or the stage's JSONL prompt set through the stage's own shuffled cursor.
  Status LoadDatasets();
  Status BeginStagePrompts(int index);
  std::pair<int64_t, Prompt> NextTrainPrompt(int index);
  // Held-out problem `i` of an eval stage (nullopt past the end of a JSONL set).
  std::optional<Prompt> EvalPrompt(int index, int64_t i) const;

  // Generates and grades `requests`.
  StatusOr<std::vector<Graded>> GenerateAndGrade(std::vector<proto::GenerateRequest> requests,
                                                 nlohmann::json* metrics);
  // A request for global step `step` (default: the next step, state_.step + 1).
  proto::GenerateRequest Request(const config::StageConfig& stage, const Prompt& prompt, int64_t prompt_id,
                                 int32_t sample_idx, int64_t step = -1) const;
  // Sends a batch to the learner (with the job state when a checkpoint is due); merges the
  // learner's metrics into `metrics` and forwards the new weights to the workers.
  Status Train(proto::TrainBatch batch, bool checkpoint, nlohmann::json* metrics);
  // Asks the learner for a checkpoint whose job state resumes at (stage_index, stage_step).
  Status SaveCheckpoint(int stage_index, int64_t stage_step, const std::string& stage);
  // After a training step: every learner.checkpoint_every steps and at the stage's end.
  Status CheckpointIfDue(int index);
  // A checkpoint at the end of a stage that does not train (collect, eval).
  Status CheckpointBetweenStages(int next_index);
  // Appends the step's metrics line and logs its progress line.
  Status FinishStep(int index, nlohmann::json metrics, double step_seconds);
  void WriteRollouts(const std::vector<Graded>& graded, size_t limit);

  const config::RunConfig& config_;
  const RunDirectory& run_;
  Dispatcher& dispatcher_;
  GradeFn grade_;
  const model::Tokenizer& tokenizer_;
  model::PromptTexts texts_;
  std::shared_ptr<const SyntheticTask> task_;
  std::unique_ptr<MetricsWriter> metrics_;
  std::unique_ptr<TfEventsWriter> events_;  // the same scalars for TensorBoard
  std::unique_ptr<progress::ProgressMeter> meter_;  // the running stage's status line
  JobState state_;
  std::unique_ptr<PromptCursor> cursor_;
  std::map<int, std::unique_ptr<PromptDataset>> datasets_;  // stage index -> its JSONL prompt set
  std::unique_ptr<PromptCursor> stage_cursor_;              // the running stage's, over its JSONL set
  std::vector<std::pair<std::string, EvalSummary>> evals_;
  std::atomic<bool> stop_requested_{false};
  mutable std::mutex status_mu_;
  nlohmann::json status_;  // GUARDED_BY(status_mu_)
};

}  // namespace scorch::orchestrator
