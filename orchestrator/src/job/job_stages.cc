// The job loop's stages: sft, collect, grpo, eval (see job_runner.h for what each does; mdpo is
// in job_mdpo.cc).
#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <utility>

#include "job_internal.h"
#include "scorch/common/atomic_file.h"
#include "scorch/common/logging.h"
#include "scorch/orchestrator/collected_data.h"
#include "scorch/orchestrator/sft_demos.h"

namespace scorch::orchestrator {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using job_internal::MixSeed;

namespace {

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Whether `t` has the segments its SRR set trains (ALGORITHMS §4.4): a¹ and y¹, and for D1/D2
// the correction a². A cut-off or aborted trajectory can lack them even when graded.
bool HasSrrShape(const proto::Trajectory& t, bool needs_correction) {
  bool a1 = false, y1 = false, a2 = false;
  for (const auto& s : t.segments) {
    a1 |= s.kind == proto::SegmentKind::kAttempt && s.turn == 0;
    y1 |= s.kind == proto::SegmentKind::kVerify && s.turn == 0;
    a2 |= s.kind == proto::SegmentKind::kAttempt && s.turn == 1;
  }
  return a1 && y1 && (a2 || !needs_correction);
}

}  // namespace

namespace job_internal {

void PutSummary(const EvalSummary& s, json* m) {
  (*m)["acc/turn1"] = s.turn1;
  (*m)["acc/final"] = s.final;
  (*m)["delta/t1_t2"] = s.delta;
  (*m)["delta/i2c"] = s.delta_i2c;
  (*m)["delta/c2i"] = s.delta_c2i;
  if (s.rm_acc_correct) (*m)["verify/acc_correct"] = *s.rm_acc_correct;
  if (s.rm_acc_wrong) (*m)["verify/acc_wrong"] = *s.rm_acc_wrong;
}

}  // namespace job_internal

using job_internal::PutSummary;

// ---------------------------------------------------------------------------------------
StatusOr<std::vector<JobRunner::Graded>> JobRunner::GenerateAndGrade(std::vector<proto::GenerateRequest> requests,
                                                                     json* metrics) {
  const auto t0 = Clock::now();
  GenerateStats gen_stats;
  std::vector<proto::GenerateRequest> sent = requests;
  SCORCH_ASSIGN_OR_RETURN(std::vector<proto::Trajectory> trajectories,
                          dispatcher_.Generate(std::move(requests), &gen_stats));
  const double generate_s = Since(t0);
  if (trajectories.size() != sent.size()) {
    return Status::Internal("dispatcher returned " + std::to_string(trajectories.size()) + " trajectories for " +
                            std::to_string(sent.size()) + " requests");
  }

  const auto t1 = Clock::now();
  proto::GradeRequest grade_request;
  grade_request.request_id = static_cast<uint64_t>(state_.step + 1);
  std::vector<Graded> graded(sent.size());
  std::vector<std::vector<proto::SegmentKind>> sent_kinds(sent.size());
  int64_t generated = 0;
  for (size_t i = 0; i < sent.size(); ++i) {
    Graded& g = graded[i];
    g.request = std::move(sent[i]);
    g.trajectory = std::move(trajectories[i]);
    for (uint8_t m : g.trajectory.trainable_mask) g.generated_tokens += m;
    generated += g.generated_tokens;
    proto::GradeItem item;
    item.step = g.trajectory.step;
    item.prompt_id = g.trajectory.prompt_id;
    item.sample_idx = g.trajectory.sample_idx;
    item.lease_id = g.trajectory.lease_id;
    item.protocol = job_internal::RewardProtocolName(g.request.protocol);
    item.gold_answer = g.request.gold_answer.value_or("");
    for (const auto& s : g.trajectory.segments) {
      if (s.kind == proto::SegmentKind::kEvaluation) {
        // PCL's evaluation and <reward> list: the consistency and format_all rules read it; it
        // gets no turn grade of its own, so it is not in sent_kinds.
        item.turns.push_back({s.turn, s.kind, s.text});
        continue;
      }
      if (s.kind != proto::SegmentKind::kAttempt && s.kind != proto::SegmentKind::kVerify) continue;
      item.turns.push_back({s.turn, s.kind, s.text});
      sent_kinds[i].push_back(s.kind);
    }
    item.num_generated_tokens = static_cast<int32_t>(g.generated_tokens);
    item.max_new_tokens = g.request.sampling.max_new_tokens;
    item.finish_reasons = g.trajectory.finish_reasons;
    grade_request.items.push_back(std::move(item));
  }
  StatusOr<proto::GradeReply> reply = Status::Internal("not graded");
  for (int attempt = 0; attempt < 3; ++attempt) {
    reply = grade_(grade_request);
    if (reply.ok()) break;
    SCORCH_LOG(WARNING) << "grading failed (try " << attempt + 1 << " of 3): " << reply.status();
  }
  SCORCH_RETURN_IF_ERROR(reply.status());
  if (reply->items.size() != graded.size()) {
    return Status::Internal("the reward service answered " + std::to_string(reply->items.size()) + " grades for " +
                            std::to_string(graded.size()) + " trajectories");
  }
  int64_t grader_errors = 0;
  int64_t format_errors = 0;
  for (size_t i = 0; i < graded.size(); ++i) {
    Graded& g = graded[i];
    g.grade = std::move(reply->items[i]);
    EvalRecord& r = g.record;
    r.prompt_id = std::to_string(g.trajectory.prompt_id);
    r.final_correct = g.grade.final_verdict == proto::Verdict::kCorrect;
    r.final_answer = g.trajectory.turn_answers.empty() ? "" : g.trajectory.turn_answers.back();
    bool first_attempt_seen = false;
    bool first_verify_seen = false;
    for (size_t k = 0; k < g.grade.turns.size() && k < sent_kinds[i].size(); ++k) {
      const proto::TurnGrade& t = g.grade.turns[k];
      if (sent_kinds[i][k] == proto::SegmentKind::kAttempt) {
        if (t.verdict == proto::Verdict::kError) r.grader_error = true;
        if (!first_attempt_seen) r.first_correct = t.verdict == proto::Verdict::kCorrect;
        first_attempt_seen = true;
        if (t.turn > 0) r.corrected = true;
      } else {
        const bool valid = t.reason.rfind("self_verdict_invalid", 0) != 0 && t.verdict != proto::Verdict::kError;
        if (!valid) {
          g.verdict_invalid = true;
          ++format_errors;
        }
        if (!first_verify_seen) {
          r.first_verdict = !valid                                  ? SelfVerdict::kNone
                            : t.verdict == proto::Verdict::kCorrect ? SelfVerdict::kCorrect
                                                                    : SelfVerdict::kWrong;
        }
        first_verify_seen = true;
      }
    }
    // A self_correct trajectory whose attempt was not followed by a verdict (cut off, or the
    // verdict never matched a stop string) has no y¹ either: a format error.
    if (g.request.protocol == "self_correct" && !first_verify_seen && !g.request.forced_verdict) ++format_errors;
    grader_errors += r.grader_error ? 1 : 0;
  }
  const double grade_s = Since(t1);
  if (metrics != nullptr) {
    (*metrics)["time/generate_s"] = generate_s;
    (*metrics)["time/grade_s"] = grade_s;
    (*metrics)["throughput/tokens_per_s"] = generate_s > 0 ? static_cast<double>(generated) / generate_s : 0.0;
    (*metrics)["response/length"] = graded.empty() ? 0.0 : static_cast<double>(generated) / graded.size();
    (*metrics)["grader/errors"] = static_cast<double>(grader_errors);
    (*metrics)["verify/format_errors"] = static_cast<double>(format_errors);
    (*metrics)["dispatch/leases"] = static_cast<double>(gen_stats.leases);
    (*metrics)["dispatch/redone"] = static_cast<double>(gen_stats.expired + gen_stats.lost_leases);
    (*metrics)["dispatch/duplicates"] = static_cast<double>(gen_stats.duplicates);
    (*metrics)["dispatch/workers_lost"] = static_cast<double>(gen_stats.workers_lost);
    // The reward's named parts, batch means (e.g. reward/pcl_consistency, the PCL
    // predicted-reward accuracy; reward/correct).
    std::map<std::string, std::pair<double, int64_t>> parts;
    for (const auto& g : graded) {
      for (const auto& [k, v] : g.grade.reward_components) {
        parts[k].first += v;
        ++parts[k].second;
      }
    }
    for (const auto& [k, sum_n] : parts) (*metrics)["reward/" + k] = sum_n.first / static_cast<double>(sum_n.second);
  }
  return graded;
}

// ---------------------------------------------------------------------------------------
Status JobRunner::RunSft(int index) {
  const auto& stage = config_.stages[static_cast<size_t>(index)];
  // Collected trajectories, when the stage trains on a collect stage's output.
  std::vector<proto::TrainSample> collected;
  std::unique_ptr<PromptCursor> collected_cursor;
  if (stage.dataset.rfind("stage:", 0) == 0) {
    const auto path = run_.root() / "data" / (stage.dataset.substr(6) + ".jsonl");
    SCORCH_ASSIGN_OR_RETURN(collected, ReadCollected(path));
    if (collected.empty()) {
      SCORCH_LOG(WARNING) << stage.name << ": " << path.string() << " holds no trajectories: stage skipped";
      return Status::Ok();
    }
    // The stage's own shuffled pass; on resume, replay the cursor to where the stage was.
    collected_cursor = std::make_unique<PromptCursor>(static_cast<int64_t>(collected.size()),
                                                      MixSeed(config_.job.seed, index, 0x5f7));
    for (int64_t i = 0; i < state_.stage_step * stage.batch_prompts; ++i) collected_cursor->Next();
    SCORCH_LOG(INFO) << stage.name << ": " << collected.size() << " trajectories from " << path.string();
  }
  while (state_.stage_step < stage.steps) {
    const auto t0 = Clock::now();
    proto::TrainBatch batch;
    batch.stage = stage.name;
    std::map<std::string, int> sets;
    for (int i = 0; i < stage.batch_prompts; ++i) {
      if (collected_cursor) {
        batch.samples.push_back(collected[static_cast<size_t>(collected_cursor->Next())]);
        ++sets[batch.samples.back().mask_rule];
        continue;
      }
      const int64_t idx = cursor_->Next();
      const Prompt prompt = task_->Get(Split::kTrain, idx);
      const DemoOptions demo = StageDemoOptions(stage, MixSeed(config_.job.seed, 0xde30, static_cast<uint64_t>(idx)));
      SCORCH_ASSIGN_OR_RETURN(proto::Trajectory t, BuildDemonstration(tokenizer_, texts_, prompt, demo));
      t.prompt_id = idx;
      t.step = state_.step + 1;
      t.policy_version = -1;
      ++sets[demo.wrong_first_attempt ? "demo_corrected" : "demo_direct"];
      if (demo.verdict_only) ++sets["demo_verdict_only"];
      proto::TrainSample sample;
      sample.trajectory = std::move(t);
      batch.samples.push_back(std::move(sample));
    }
    ++state_.step;
    ++state_.stage_step;
    state_.cursor = cursor_->state();
    json metrics = json::object();
    for (const auto& [set, n] : sets) metrics["sft/" + set] = static_cast<double>(n);
    SCORCH_RETURN_IF_ERROR(Train(std::move(batch), /*checkpoint=*/false, &metrics));
    if (metrics.contains("tokens") && metrics.contains("time/train_s") && metrics["time/train_s"].get<double>() > 0) {
      metrics["throughput/train_tokens_per_s"] = metrics["tokens"].get<double>() / metrics["time/train_s"].get<double>();
    }
    SCORCH_RETURN_IF_ERROR(FinishStep(index, std::move(metrics), Since(t0)));
    SCORCH_RETURN_IF_ERROR(CheckpointIfDue(index));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
Status JobRunner::RunRl(int index) {
  const auto& stage = config_.stages[static_cast<size_t>(index)];
  // Batches drawn ahead of training: with max_staleness k > 0 the next k batches are queued
  // at the dispatcher before a step trains, so workers generate them (with weights at most k
  // versions old) while the learner works. Each remembers the cursor after its prompts: the
  // job state (checkpoints) only ever counts consumed batches, so a resume redraws the
  // prompts of batches that were in flight, in the same order.
  struct Ahead {
    std::vector<proto::GenerateRequest> requests;
    std::vector<std::pair<int64_t, Prompt>> prompts;  // PCL's track demonstrations are built from them
    PromptCursorState cursor_after;
  };
  const bool pcl_tracks = stage.sft_reason_weight > 0.0 || stage.sft_eval_weight > 0.0;
  std::deque<Ahead> ahead;
  int64_t drawn_steps = state_.stage_step;  // stage steps whose prompts have been drawn
  auto draw = [&]() {
    Ahead a;
    const int64_t step = state_.step + 1 + static_cast<int64_t>(ahead.size());
    for (int p = 0; p < stage.batch_prompts; ++p) {
      const auto [idx, prompt] = NextTrainPrompt(index);
      for (int s = 0; s < stage.samples_per_prompt; ++s) a.requests.push_back(Request(stage, prompt, idx, s, step));
      if (pcl_tracks) a.prompts.emplace_back(idx, prompt);
    }
    a.cursor_after = cursor_->state();
    ahead.push_back(std::move(a));
    ++drawn_steps;
  };
  while (state_.stage_step < stage.steps) {
    const auto t0 = Clock::now();
    while (drawn_steps < stage.steps && static_cast<int64_t>(ahead.size()) < 1 + stage.max_staleness) draw();
    // Queue the look-ahead batches now: they are generated while this step grades and trains.
    for (size_t i = 1; i < ahead.size(); ++i) SCORCH_RETURN_IF_ERROR(dispatcher_.Submit(ahead[i].requests));
    Ahead current = std::move(ahead.front());
    ahead.pop_front();
    std::vector<proto::GenerateRequest> requests = std::move(current.requests);
    json metrics = json::object();
    SCORCH_ASSIGN_OR_RETURN(std::vector<Graded> graded, GenerateAndGrade(std::move(requests), &metrics));
    std::vector<EvalRecord> records;
    std::vector<double> rewards;
    proto::TrainBatch batch;
    batch.stage = stage.name;
    const int64_t version = dispatcher_.latest_weights() ? dispatcher_.latest_weights()->version : 0;
    double staleness_sum = 0.0;
    double staleness_max = 0.0;
    for (auto& g : graded) {
      records.push_back(g.record);
      rewards.push_back(g.grade.reward);
      const double lag = static_cast<double>(version - g.trajectory.policy_version);
      staleness_sum += lag;
      staleness_max = std::max(staleness_max, lag);
      proto::TrainSample sample;
      sample.trajectory = g.trajectory;
      sample.reward = g.grade.reward;
      sample.reward_components = g.grade.reward_components;
      batch.samples.push_back(std::move(sample));
    }
    // PCL's mixed objective: each prompt group's SFT-reason and SFT-eval demonstrations train
    // in this same step (the learner keeps them out of the GRPO advantages).
    if (pcl_tracks) {
      int64_t wrong = 0;
      for (const auto& [idx, prompt] : current.prompts) {
        PclTrackOptions o;
        o.protocol = stage.protocol;
        o.reason_weight = stage.sft_reason_weight;
        o.eval_weight = stage.sft_eval_weight;
        o.seed = MixSeed(config_.job.seed, 0x9c1, static_cast<uint64_t>(idx));
        o.wrong_eval_attempt = static_cast<double>(o.seed % 10000) < stage.demo_wrong_fraction * 10000.0;
        wrong += o.wrong_eval_attempt ? 1 : 0;
        SCORCH_ASSIGN_OR_RETURN(std::vector<proto::TrainSample> demos, PclTrackSamples(tokenizer_, texts_, prompt, o));
        for (auto& d : demos) {
          d.trajectory.prompt_id = idx;
          d.trajectory.step = state_.step + 1;
          d.trajectory.policy_version = -1;
          batch.samples.push_back(std::move(d));
        }
      }
      metrics["pcl/demo_groups"] = static_cast<double>(current.prompts.size());
      metrics["pcl/demo_wrong_attempts"] = static_cast<double>(wrong);
    }
    double mean = 0.0, stdev = 0.0;
    job_internal::MeanStd(rewards, &mean, &stdev);
    metrics["reward/mean"] = mean;
    metrics["reward/std"] = stdev;
    metrics["staleness/mean"] = graded.empty() ? 0.0 : staleness_sum / static_cast<double>(graded.size());
    metrics["staleness/max"] = staleness_max;
    PutSummary(Summarize(records), &metrics);
    ++state_.step;
    ++state_.stage_step;
    state_.cursor = current.cursor_after;
    metrics["staleness/lookahead"] = static_cast<double>(ahead.size());
    if (state_.stage_step == 1 || state_.stage_step % 10 == 0 || state_.stage_step == stage.steps) {
      WriteRollouts(graded, 16);
    }
    SCORCH_RETURN_IF_ERROR(Train(std::move(batch), /*checkpoint=*/false, &metrics));
    SCORCH_RETURN_IF_ERROR(FinishStep(index, std::move(metrics), Since(t0)));
    SCORCH_RETURN_IF_ERROR(CheckpointIfDue(index));
  }
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
Status JobRunner::RunEval(int index) {
  const auto& stage = config_.stages[static_cast<size_t>(index)];
  state_.stage_step = 0;  // an eval is never checkpointed midway: it restarts whole
  std::vector<EvalRecord> records;
  double reward_sum = 0;
  std::map<std::string, std::pair<double, int64_t>> parts;  // reward components: sum, count
  int64_t next_problem = stage.eval_offset;
  while (state_.stage_step < stage.steps) {
    const auto t0 = Clock::now();
    std::vector<proto::GenerateRequest> requests;
    for (int p = 0; p < stage.batch_prompts; ++p, ++next_problem) {
      const std::optional<Prompt> prompt = EvalPrompt(index, next_problem);
      if (!prompt) break;  // the end of the stage's JSONL set
      for (int s = 0; s < stage.samples_per_prompt; ++s) requests.push_back(Request(stage, *prompt, next_problem, s));
    }
    if (requests.empty()) break;
    json metrics = json::object();
    SCORCH_ASSIGN_OR_RETURN(std::vector<Graded> graded, GenerateAndGrade(std::move(requests), &metrics));
    std::vector<EvalRecord> step_records;
    for (const auto& g : graded) {
      step_records.push_back(g.record);
      reward_sum += g.grade.reward;
      for (const auto& [k, v] : g.grade.reward_components) {
        parts[k].first += v;
        ++parts[k].second;
      }
    }
    records.insert(records.end(), step_records.begin(), step_records.end());
    PutSummary(Summarize(step_records), &metrics);
    ++state_.step;
    ++state_.stage_step;
    WriteRollouts(graded, 64);
    SCORCH_RETURN_IF_ERROR(FinishStep(index, std::move(metrics), Since(t0)));
  }
  EvalSummary summary = Summarize(records);
  json out = summary.ToJson();
  out["stage"] = stage.name;
  out["step"] = state_.step;
  out["protocol"] = stage.protocol;
  out["temperature"] = job_internal::StageTemperature(config_, stage);
  if (stage.samples_per_prompt > 1) out["maj_at_n"] = MajorityAtN(records, stage.samples_per_prompt);
  out["reward_mean"] = records.empty() ? 0.0 : reward_sum / static_cast<double>(records.size());
  json components = json::object();
  for (const auto& [k, sum_n] : parts) components[k] = sum_n.first / static_cast<double>(sum_n.second);
  out["reward_components"] = components;
  char name[16];
  std::snprintf(name, sizeof(name), "%02d-", index + 1);
  const auto path = run_.eval_dir() / (std::string(name) + stage.name + ".json");
  SCORCH_RETURN_IF_ERROR(AtomicWriteFile(path, out.dump(2) + "\n"));
  evals_.emplace_back(stage.name, summary);
  SCORCH_LOG(INFO) << stage.name << " (" << summary.n << " trajectories, written to " << path.string() << "):\n"
                   << FormatEvalTable({{stage.name, summary}});
  return CheckpointBetweenStages(index + 1);
}

// ---------------------------------------------------------------------------------------
Status JobRunner::RunCollect(int index) {
  const auto& stage = config_.stages[static_cast<size_t>(index)];
  state_.stage_step = 0;  // a collect stage restarts whole (its output is written at the end)
  std::vector<CollectedSample> kept;
  std::map<std::string, int64_t> totals;
  while (state_.stage_step < stage.steps) {
    const auto t0 = Clock::now();
    std::vector<proto::GenerateRequest> requests;
    std::map<int64_t, Prompt> prompts;
    for (int p = 0; p < stage.batch_prompts; ++p) {
      const auto [idx, prompt] = NextTrainPrompt(index);
      prompts[idx] = prompt;
      for (int s = 0; s < stage.samples_per_prompt; ++s) {
        auto r = Request(stage, prompts[idx], idx, s);
        r.forced_verdict = proto::Verdict::kWrong;  // §2.1 step 3: every attempt is told it is wrong
        requests.push_back(std::move(r));
      }
    }
    json metrics = json::object();
    SCORCH_ASSIGN_OR_RETURN(std::vector<Graded> graded, GenerateAndGrade(std::move(requests), &metrics));
    std::vector<EvalRecord> records;
    std::vector<proto::GenerateRequest> replays;  // right a¹ replayed with a forced "correct"
    std::map<std::string, int64_t> counts;
    for (const auto& g : graded) {
      records.push_back(g.record);
      const bool a1 = g.record.first_correct;
      const bool a2 = g.record.corrected && g.record.final_correct;
      const Prompt& prompt = prompts[g.trajectory.prompt_id];
      const bool prefer_d2 = MixSeed(g.request.sampling.seed, 0xd2) % 2 == 0;
      if (a2 && !HasSrrShape(g.trajectory, /*needs_correction=*/true)) {
        ++counts["incomplete"];
      } else if (!a1 && a2) {
        kept.push_back({"d1", prompt.problem, prompt.answer, g.trajectory});
        ++counts["d1"];
      } else if (a1 && a2 && prefer_d2) {
        kept.push_back({"d2", prompt.problem, prompt.answer, g.trajectory});
        ++counts["d2"];
      } else if (a1) {
        proto::GenerateRequest replay = g.request;
        replay.sample_idx += stage.samples_per_prompt;  // a distinct work item, same seed
        replay.forced_verdict = proto::Verdict::kCorrect;
        replays.push_back(std::move(replay));
      } else {
        ++counts["discarded"];
      }
    }
    if (!replays.empty()) {
      // The same request seed gives the same a¹ (seeds are per generation of a trajectory).
      std::vector<proto::GenerateRequest> originals = replays;
      SCORCH_ASSIGN_OR_RETURN(std::vector<proto::Trajectory> d3, dispatcher_.Generate(std::move(replays)));
      for (size_t i = 0; i < d3.size(); ++i) {
        const auto& t = d3[i];
        if (t.turn_answers.empty()) {
          ++counts["replay_mismatch"];
          continue;
        }
        // Keep it only if the replayed a¹ ended with the same answer the graded one had.
        const auto it = std::find_if(graded.begin(), graded.end(), [&](const Graded& g) {
          return g.trajectory.prompt_id == t.prompt_id &&
                 g.trajectory.sample_idx + stage.samples_per_prompt == t.sample_idx;
        });
        if (it == graded.end() || it->trajectory.turn_answers.empty() ||
            it->trajectory.turn_answers.front() != t.turn_answers.front()) {
          ++counts["replay_mismatch"];
          continue;
        }
        if (!HasSrrShape(t, /*needs_correction=*/false)) {
          ++counts["incomplete"];
          continue;
        }
        const Prompt& prompt = prompts[t.prompt_id];
        kept.push_back({"d3", prompt.problem, prompt.answer, t});
        ++counts["d3"];
      }
    }
    PutSummary(Summarize(records), &metrics);
    int64_t step_kept = 0;
    for (const auto& [k, v] : counts) {
      metrics["collect/" + k] = static_cast<double>(v);
      totals[k] += v;
      if (k == "d1" || k == "d2" || k == "d3") step_kept += v;
    }
    metrics["collect/kept"] = static_cast<double>(step_kept);
    ++state_.step;
    ++state_.stage_step;
    state_.cursor = cursor_->state();
    WriteRollouts(graded, 16);
    SCORCH_RETURN_IF_ERROR(FinishStep(index, std::move(metrics), Since(t0)));
  }
  const auto path = run_.root() / "data" / (stage.name + ".jsonl");
  SCORCH_RETURN_IF_ERROR(WriteCollected(path, kept));
  SCORCH_LOG(INFO) << stage.name << ": kept " << kept.size() << " trajectories (D1 " << totals["d1"] << ", D2 "
                   << totals["d2"] << ", D3 " << totals["d3"] << "; discarded " << totals["discarded"]
                   << ", replay mismatches " << totals["replay_mismatch"] << ", incomplete " << totals["incomplete"]
                   << ") in " << path.string();
  if (kept.empty()) {
    SCORCH_LOG(WARNING) << stage.name << ": no usable trajectory (the model never got an answer right); an sft stage "
                        << "reading it will be skipped. Train the warm-up longer or make the task easier.";
  }
  return CheckpointBetweenStages(index + 1);
}

}  // namespace scorch::orchestrator
