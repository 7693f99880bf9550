// JobRunner core: stage dispatch, job state, learner round trips, checkpoints, metrics and
// progress lines. The stages themselves are in job_stages.cc.
#include <chrono>
#include <cmath>
#include <sstream>
#include <utility>

#include "job_internal.h"
#include "scorch/common/atomic_file.h"
#include "scorch/common/logging.h"

namespace scorch::orchestrator {

using nlohmann::json;
using config::StageKind;
using job_internal::CheckpointOnly;

namespace job_internal {

uint64_t MixSeed(uint64_t a, uint64_t b, uint64_t c, uint64_t d) {
  uint64_t x = a;
  for (uint64_t v : {b, c, d}) {
    x ^= v + 0x9e3779b97f4a7c15ULL + (x << 6) + (x >> 2);
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
  }
  return x;
}

std::string RewardProtocolName(const std::string& protocol) {
  if (protocol == "single_turn") return "single";
  if (protocol == "self_correct") return "srr";
  if (protocol == "post_completion" || protocol == "post_completion_train") return "pcl";
  return protocol;
}

double StageTemperature(const config::RunConfig& config, const config::StageConfig& stage) {
  return stage.temperature >= 0.0 ? stage.temperature : config.rollout.temperature;
}

int StageMaxNewTokens(const config::RunConfig& config, const config::StageConfig& stage) {
  return stage.max_new_tokens > 0 ? stage.max_new_tokens : config.rollout.max_new_tokens;
}

void MeanStd(const std::vector<double>& xs, double* mean, double* stdev) {
  double m = 0.0;
  for (double x : xs) m += x;
  m = xs.empty() ? 0.0 : m / static_cast<double>(xs.size());
  double v = 0.0;
  for (double x : xs) v += (x - m) * (x - m);
  *mean = m;
  *stdev = xs.empty() ? 0.0 : std::sqrt(v / static_cast<double>(xs.size()));
}

}  // namespace job_internal

// ---------------------------------------------------------------------------------------
json JobState::ToJson() const {
  return {{"step", step},
          {"stage_index", stage_index},
          {"stage_step", stage_step},
          {"cursor", {{"epoch", cursor.epoch}, {"position", cursor.position}}},
          {"trained", trained}};
}

StatusOr<JobState> JobState::FromJson(const json& j) {
  JobState s;
  try {
    s.step = j.at("step").get<int64_t>();
    s.stage_index = j.at("stage_index").get<int>();
    s.stage_step = j.at("stage_step").get<int64_t>();
    s.cursor.epoch = j.at("cursor").at("epoch").get<int64_t>();
    s.cursor.position = j.at("cursor").at("position").get<int64_t>();
    s.trained = j.value("trained", true);
  } catch (const json::exception& e) {
    return Status::DataLoss(std::string("job state in the checkpoint is incomplete: ") + e.what());
  }
  if (s.step < 0 || s.stage_index < 0 || s.stage_step < 0) {
    return Status::DataLoss("job state in the checkpoint has negative counters");
  }
  return s;
}

SyntheticTaskOptions TaskOptionsOf(const config::TaskConfig& task) {
  SyntheticTaskOptions o;
  o.min_ops = task.min_ops;
  o.max_ops = task.max_ops;
  o.max_operand = task.max_operand;
  o.allow_multiply = task.allow_multiply;
  o.word_problems = task.word_problems;
  return o;
}

Status ValidateJob(const config::RunConfig& config) {
  if (config.stages.empty()) return Status::InvalidArgument("the job has no stages");
  for (size_t i = 0; i < config.stages.size(); ++i) {
    const auto& s = config.stages[i];
    const std::string where = "stages[" + std::to_string(i) + "] (" + s.name + "): ";
    if (s.kind == StageKind::kBon && s.swift_head.rfind("stage:", 0) == 0) {
      const std::string ref = s.swift_head.substr(6);
      bool found = false;
      for (size_t k = 0; k < i; ++k) found |= config.stages[k].name == ref && config.stages[k].kind == StageKind::kSwiftTrain;
      if (!found) {
        return Status::InvalidArgument(where + "swift_head \"" + s.swift_head + "\" names no earlier swift_train stage");
      }
    }
    if (!s.swift_head.empty() && s.kind != StageKind::kBon) {
      return Status::InvalidArgument(where + "swift_head applies to bon stages only");
    }
    if (s.max_staleness > 0 && s.kind != StageKind::kGrpo && s.kind != StageKind::kPpo) {
      return Status::InvalidArgument(where + "max_staleness > 0 (overlapping generation with training) applies to "
                                             "grpo and ppo stages only");
    }
    if (s.kind == StageKind::kCollect && s.protocol != "self_correct") {
      return Status::InvalidArgument(where + "a collect stage builds self-correction sets: protocol must be self_correct");
    }
    if (s.kind == StageKind::kMdpo && s.protocol == "self_correct" && config.rollout.max_turns < 2) {
      return Status::InvalidArgument(where + "an mdpo stage under self_correct needs rollout.max_turns >= 2 (its pairs "
                                             "differ after a¹, in the correction a²)");
    }
    if (s.kind == StageKind::kMdpo && s.protocol != "self_correct" && s.protocol != "two_turn") {
      return Status::InvalidArgument(where + "an mdpo stage builds self-correction pairs: protocol must be "
                                             "self_correct or two_turn");
    }
    if (s.dataset.rfind("stage:", 0) == 0) {
      const std::string ref = s.dataset.substr(6);
      bool found = false;
      for (size_t k = 0; k < i; ++k) found |= config.stages[k].name == ref && config.stages[k].kind == StageKind::kCollect;
      if (!found) {
        return Status::InvalidArgument(where + "dataset \"" + s.dataset + "\" names no earlier collect stage");
      }
      if (s.kind != StageKind::kSft) return Status::InvalidArgument(where + "only sft stages read a collect stage's output");
    } else if (s.dataset != "synthetic" && s.kind == StageKind::kSft) {
      return Status::InvalidArgument(where + "dataset \"" + s.dataset +
                                     "\": an sft stage trains on the synthetic task's demonstrations or on a "
                                     "collect stage's output (\"stage:<name>\"), not on a prompt set");
    }
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
JobRunner::JobRunner(const config::RunConfig& config, const RunDirectory& run, Dispatcher& dispatcher, GradeFn grade,
                     const model::Tokenizer& tokenizer)
    : config_(config),
      run_(run),
      dispatcher_(dispatcher),
      grade_(std::move(grade)),
      tokenizer_(tokenizer),
      texts_(model::PromptTextsFromConfig(config.prompts)),
      task_(std::make_shared<SyntheticTask>(static_cast<uint64_t>(config.job.seed), TaskOptionsOf(config.task))) {}

JobRunner::~JobRunner() = default;

json JobRunner::StatusJson() const {
  std::lock_guard lock(status_mu_);
  return status_;
}

Status JobRunner::Run(JobState state) {
  SCORCH_RETURN_IF_ERROR(ValidateJob(config_));
  SCORCH_RETURN_IF_ERROR(LoadDatasets());  // every prompt set is checked before anything runs
  state_ = state;
  SCORCH_ASSIGN_OR_RETURN(metrics_, MetricsWriter::Open(run_.metrics_path()));
  if (metrics_->last_step() > state_.step) {
    SCORCH_LOG(INFO) << "resume: dropping metrics after step " << state_.step << " (they are recomputed)";
    SCORCH_RETURN_IF_ERROR(metrics_->TruncateAfterStep(state_.step));
  }
  auto events = TfEventsWriter::Open(run_.events_dir());
  if (events.ok()) {
    events_ = std::move(*events);
  } else {
    SCORCH_LOG(WARNING) << "no TensorBoard events for this run: " << events.status();
  }
  cursor_ = std::make_unique<PromptCursor>(task_->size(), job_internal::MixSeed(config_.job.seed, 0x7472), true,
                                           state_.cursor);
  // Workers get the learner's current weights before any work.
  if (auto latest = dispatcher_.latest_weights()) dispatcher_.AnnounceWeights(*latest);
  for (int i = state_.stage_index; i < static_cast<int>(config_.stages.size()); ++i) {
    if (i != state_.stage_index) state_.stage_step = 0;
    state_.stage_index = i;
    const auto& stage = config_.stages[static_cast<size_t>(i)];
    if (stage.steps == 0) {
      SCORCH_LOG(INFO) << "stage " << i + 1 << "/" << config_.stages.size() << ": " << stage.name
                       << " skipped (0 steps)";
      continue;
    }
    SCORCH_LOG(INFO) << "stage " << i + 1 << "/" << config_.stages.size() << ": " << stage.name << " ("
                     << config::EnumNames<StageKind>::kValues[static_cast<int>(stage.kind)].second << ", "
                     << stage.steps << " steps" << (state_.stage_step > 0 ? ", resuming after step " +
                                                                                std::to_string(state_.stage_step)
                                                                          : std::string())
                     << ")";
    const auto t0 = std::chrono::steady_clock::now();
    SCORCH_RETURN_IF_ERROR(BeginStagePrompts(i));
    // collect and eval stages restart whole on resume; the others continue after stage_step.
    const bool restarts = stage.kind == StageKind::kCollect || stage.kind == StageKind::kEval;
    meter_ = std::make_unique<progress::ProgressMeter>(stage.name, stage.steps, restarts ? 0 : state_.stage_step);
    Status st = RunStage(i);
    meter_.reset();
    if (!st.ok()) {
      return Status(st.code(), "stage " + stage.name + " (job step " + std::to_string(state_.step) +
                                   "): " + st.message());
    }
    SCORCH_LOG(INFO) << "stage " << stage.name << " done in "
                     << std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() << " s";
  }
  if (!evals_.empty()) {
    SCORCH_LOG(INFO) << "evaluation (fractions of " << evals_.back().second.n << " held-out problems):\n"
                     << FormatEvalTable(evals_);
  }
  return Status::Ok();
}

Status JobRunner::RunStage(int index) {
  switch (config_.stages[static_cast<size_t>(index)].kind) {
    case StageKind::kSft:
      return RunSft(index);
    case StageKind::kCollect:
      return RunCollect(index);
    case StageKind::kGrpo:
    case StageKind::kPpo:
      return RunRl(index);
    case StageKind::kMdpo:
      return RunMdpo(index);
    case StageKind::kEval:
      return RunEval(index);
    case StageKind::kSwiftTrain:
      return RunSwiftTrain(index);
    case StageKind::kBon:
      return RunBon(index);
    default:
      return Status::Unimplemented("stage kind not run by the job loop");
  }
}

proto::GenerateRequest JobRunner::Request(const config::StageConfig& stage, const Prompt& prompt, int64_t prompt_id,
                                          int32_t sample_idx, int64_t step) const {
  proto::GenerateRequest r;
  r.step = step >= 0 ? step : state_.step + 1;
  r.prompt_id = prompt_id;
  r.sample_idx = sample_idx;
  r.prompt_text = prompt.problem;
  r.protocol = stage.protocol;
  r.gold_answer = prompt.answer;
  r.sampling.temperature = static_cast<float>(job_internal::StageTemperature(config_, stage));
  r.sampling.top_p = static_cast<float>(config_.rollout.top_p);
  r.sampling.max_new_tokens = job_internal::StageMaxNewTokens(config_, stage);
  r.sampling.seed = job_internal::MixSeed(static_cast<uint64_t>(config_.job.seed), static_cast<uint64_t>(r.step),
                                          static_cast<uint64_t>(prompt_id), static_cast<uint64_t>(sample_idx));
  return r;
}

Status JobRunner::Train(proto::TrainBatch batch, bool checkpoint, json* metrics) {
  batch.step = state_.step;
  if (checkpoint) batch.checkpoint_state = state_.ToJson().dump();
  SCORCH_ASSIGN_OR_RETURN(LearnerReply reply, dispatcher_.Train(batch));
  if (!batch.samples.empty()) state_.trained = true;
  if (metrics != nullptr) {
    for (const auto& [k, v] : reply.stats.metrics) (*metrics)[k] = v;
  }
  if (reply.weights) {
    const auto t0 = std::chrono::steady_clock::now();
    dispatcher_.AnnounceWeights(*reply.weights);
    if (metrics != nullptr) {
      (*metrics)["time/sync_s"] = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() +
                                  reply.stats.metrics.count("time/publish_s") * reply.stats.metrics.at("time/publish_s");
    }
  }
  return Status::Ok();
}

Status JobRunner::SaveCheckpoint(int stage_index, int64_t stage_step, const std::string& stage) {
  JobState saved = state_;
  state_.stage_index = stage_index;
  state_.stage_step = stage_step;
  Status st = Train(CheckpointOnly(stage), /*checkpoint=*/true, nullptr);
  state_ = saved;
  return st;
}

Status JobRunner::CheckpointIfDue(int index) {
  const auto& stage = config_.stages[static_cast<size_t>(index)];
  const bool done = state_.stage_step >= stage.steps;
  const bool due = done || (config_.learner.checkpoint_every > 0 &&
                            state_.stage_step % config_.learner.checkpoint_every == 0);
  if (!due) return Status::Ok();
  // A finished stage's checkpoint resumes at the next stage.
  return done ? SaveCheckpoint(index + 1, 0, stage.name) : SaveCheckpoint(index, state_.stage_step, stage.name);
}

Status JobRunner::CheckpointBetweenStages(int next_index) {
  if (!state_.trained) return Status::Ok();  // nothing trained yet: a resume starts over anyway
  return SaveCheckpoint(next_index, 0, "");
}

Status JobRunner::FinishStep(int index, json metrics, double step_seconds) {
  const auto& stage = config_.stages[static_cast<size_t>(index)];
  metrics["step"] = state_.step;
  metrics["stage"] = stage.name;
  metrics["stage_kind"] = config::EnumNames<StageKind>::kValues[static_cast<int>(stage.kind)].second;
  metrics["stage_step"] = state_.stage_step;
  metrics["time/step_s"] = step_seconds;
  SCORCH_RETURN_IF_ERROR(metrics_->Append(metrics));
  if (events_) {
    Status st = MirrorMetricsToEvents(*events_, metrics);
    if (st.ok()) st = events_->Flush();
    if (!st.ok()) SCORCH_LOG(WARNING) << "TensorBoard events: " << st;
  }
  {
    std::lock_guard lock(status_mu_);
    status_ = {{"stage", stage.name}, {"stage_index", index}, {"step", state_.step}, {"stage_step", state_.stage_step},
               {"stage_steps", stage.steps}, {"last_metrics", metrics}};
  }
  // Progress line: the few numbers a person watches.
  std::ostringstream numbers;
  numbers.setf(std::ios::fixed);
  numbers.precision(3);
  for (const char* key : {"loss", "reward/mean", "acc/turn1", "acc/final", "delta/t1_t2", "kl/k3", "entropy",
                          "collect/kept", "mdpo/pairs", "mdpo/margin"}) {
    if (metrics.contains(key) && metrics[key].is_number()) numbers << " " << key << " " << metrics[key].get<double>();
  }
  // The ETA is at the stage's mean rate in this process (this step's time until there is one).
  if (meter_) meter_->Update(state_.stage_step, numbers.str().empty() ? "" : numbers.str().substr(1));
  double remaining = meter_ ? meter_->eta_s() : -1.0;
  if (remaining < 0.0) remaining = static_cast<double>(stage.steps - state_.stage_step) * step_seconds;
  std::ostringstream line;
  line.setf(std::ios::fixed);
  line.precision(1);
  line << "[" << stage.name << " " << state_.stage_step << "/" << stage.steps << "]" << numbers.str() << " | "
       << step_seconds << " s/step, ETA " << progress::FormatDuration(remaining);
  SCORCH_LOG(INFO) << line.str();
  if (stop_requested_) {
    // A graceful stop keeps the step just trained: checkpoint it (unless the regular schedule
    // is about to), so --resume continues from here, not from the last scheduled checkpoint.
    // Evals and collects restart whole on resume and have nothing to keep.
    const bool trains = stage.kind == StageKind::kSft || stage.kind == StageKind::kGrpo ||
                        stage.kind == StageKind::kPpo || stage.kind == StageKind::kMdpo;
    const bool scheduled = state_.stage_step >= stage.steps ||
                           (config_.learner.checkpoint_every > 0 && state_.stage_step % config_.learner.checkpoint_every == 0);
    if (trains && !scheduled) {
      SCORCH_LOG(INFO) << "stop requested: checkpointing step " << state_.step << " before stopping";
      SCORCH_RETURN_IF_ERROR(SaveCheckpoint(index, state_.stage_step, stage.name));
    } else if (trains) {
      SCORCH_RETURN_IF_ERROR(CheckpointIfDue(index));
    }
    return Status::Cancelled("stop requested");
  }
  return Status::Ok();
}

void JobRunner::WriteRollouts(const std::vector<Graded>& graded, size_t limit) {
  std::string out;
  for (size_t i = 0; i < graded.size() && i < limit; ++i) {
    const Graded& g = graded[i];
    json segments = json::array();
    for (const auto& s : g.trajectory.segments) {
      segments.push_back({{"role", proto::ChatRoleName(s.role)},
                          {"turn", s.turn},
                          {"kind", proto::SegmentKindName(s.kind)},
                          {"text", s.text}});
    }
    json correct = json::array();
    json verdicts = json::array();
    for (const auto& t : g.grade.turns) {
      if (t.reason.rfind("self_verdict", 0) == 0) {
        verdicts.push_back(proto::VerdictName(t.verdict));
      } else {
        correct.push_back(t.verdict == proto::Verdict::kCorrect);
      }
    }
    json line = {{"stage", config_.stages[static_cast<size_t>(state_.stage_index)].name},
                 {"step", state_.step},
                 {"prompt_id", g.trajectory.prompt_id},
                 {"sample_idx", g.trajectory.sample_idx},
                 {"policy_version", g.trajectory.policy_version},
                 {"reward", g.grade.reward},
                 {"correct", correct},
                 {"verdicts", verdicts},
                 {"turn_answers", g.trajectory.turn_answers},
                 {"gold", g.request.gold_answer.value_or("")},
                 {"segments", segments}};
    if (g.trajectory.hidden_state_score) line["swift_score"] = *g.trajectory.hidden_state_score;
    out += line.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
  }
  Status st = AtomicWriteFile(run_.rollouts_dir() / ("step-" + std::to_string(state_.step) + ".jsonl"), out);
  if (!st.ok()) SCORCH_LOG(WARNING) << "could not write rollouts of step " << state_.step << ": " << st;
}

}  // namespace scorch::orchestrator
