// The job loop's mdpo stage: M-DPO pairs built online (ALGORITHMS §2.3) and trained with the
// multi-turn DPO loss (§4.3). See job_runner.h for what a step does, mdpo_pairs.h for the pairs.
#include <chrono>
#include <utility>
#include <vector>

#include "job_internal.h"
#include "scorch/common/logging.h"
#include "scorch/orchestrator/mdpo_pairs.h"

namespace scorch::orchestrator {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using job_internal::MixSeed;

namespace {

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// The tokens of x and a¹: everything through the end of the turn-0 attempt (empty if none).
std::vector<int32_t> FirstAttemptPrefix(const proto::Trajectory& t) {
  for (const auto& s : t.segments) {
    if (s.kind == proto::SegmentKind::kAttempt && s.turn == 0) {
      return std::vector<int32_t>(t.token_ids.begin(), t.token_ids.begin() + s.end);
    }
  }
  return {};
}

bool HasSegment(const proto::Trajectory& t, proto::SegmentKind kind, int32_t turn) {
  for (const auto& s : t.segments) {
    if (s.kind == kind && s.turn == turn) return true;
  }
  return false;
}

proto::TrainSample PairSide(const proto::Trajectory& t, const proto::GradeResult& grade, int32_t pair, bool chosen) {
  proto::TrainSample s;
  s.trajectory = t;
  s.reward = grade.reward;
  s.reward_components = grade.reward_components;
  s.pair_index = pair;
  s.pair_chosen = chosen;
  return s;
}

}  // namespace

Status JobRunner::RunMdpo(int index) {
  const auto& stage = config_.stages[static_cast<size_t>(index)];
  SCORCH_ASSIGN_OR_RETURN(const std::vector<MdpoSet> sets, ParseMdpoSets(stage.mdpo_sets));
  // Per a¹: mdpo_continuations replays told "wrong" (each with its own continuation seed), then
  // one told "correct". Work item c of base s has sample_idx s·branches + c.
  const int branches = stage.mdpo_continuations + 1;
  while (state_.stage_step < stage.steps) {
    const auto t0 = Clock::now();
    std::vector<proto::GenerateRequest> requests;
    for (int p = 0; p < stage.batch_prompts; ++p) {
      const int64_t idx = cursor_->Next();
      const Prompt prompt = task_->Get(Split::kTrain, idx);
      for (int s = 0; s < stage.samples_per_prompt; ++s) {
        const proto::GenerateRequest base = Request(stage, prompt, idx, s);  // its seed fixes a¹
        for (int c = 0; c < branches; ++c) {
          proto::GenerateRequest r = base;
          r.sample_idx = s * branches + c;
          if (c < stage.mdpo_continuations) {
            r.forced_verdict = proto::Verdict::kWrong;
            r.sampling.continuation_seed = MixSeed(base.sampling.seed, 0xc047, static_cast<uint64_t>(c));
          } else {
            r.forced_verdict = proto::Verdict::kCorrect;
          }
          requests.push_back(std::move(r));
        }
      }
    }
    json metrics = json::object();
    SCORCH_ASSIGN_OR_RETURN(std::vector<Graded> graded, GenerateAndGrade(std::move(requests), &metrics));

    std::vector<MdpoBranch> branch_list;
    std::vector<EvalRecord> records;
    std::vector<double> rewards;
    branch_list.reserve(graded.size());
    for (const Graded& g : graded) {
      MdpoBranch b;
      b.prompt_id = g.trajectory.prompt_id;
      b.base = g.trajectory.sample_idx / branches;
      b.verdict = g.request.forced_verdict.value_or(proto::Verdict::kWrong);
      b.has_verdict = HasSegment(g.trajectory, proto::SegmentKind::kVerify, 0);
      b.has_second_attempt = g.record.corrected;
      b.first_correct = g.record.first_correct;
      b.final_correct = g.record.final_correct;
      b.prefix = FirstAttemptPrefix(g.trajectory);
      branch_list.push_back(std::move(b));
      records.push_back(g.record);
      rewards.push_back(g.grade.reward);
    }
    const MdpoPairReport report = BuildMdpoPairs(branch_list, sets);

    proto::TrainBatch batch;
    batch.stage = stage.name;
    for (size_t k = 0; k < report.pairs.size(); ++k) {
      const MdpoPair& p = report.pairs[k];
      const Graded& w = graded[p.chosen];
      const Graded& l = graded[p.rejected];
      batch.samples.push_back(PairSide(w.trajectory, w.grade, static_cast<int32_t>(k), true));
      batch.samples.push_back(PairSide(l.trajectory, l.grade, static_cast<int32_t>(k), false));
    }

    metrics["mdpo/pairs"] = static_cast<double>(report.pairs.size());
    for (const auto& [set, n] : report.per_set) metrics["mdpo/pairs_" + set] = static_cast<double>(n);
    metrics["mdpo/prompts_without_pairs"] = static_cast<double>(report.prompts_without_pairs);
    metrics["mdpo/ambiguous_left_out"] = static_cast<double>(report.ambiguous_left_out);
    metrics["mdpo/replay_mismatch"] = static_cast<double>(report.replay_mismatch);
    metrics["mdpo/unusable"] = static_cast<double>(report.unusable);
    double mean = 0.0, stdev = 0.0;
    job_internal::MeanStd(rewards, &mean, &stdev);
    metrics["reward/mean"] = mean;
    metrics["reward/std"] = stdev;
    job_internal::PutSummary(Summarize(records), &metrics);

    ++state_.step;
    ++state_.stage_step;
    state_.cursor = cursor_->state();
    if (state_.stage_step == 1 || state_.stage_step % 10 == 0 || state_.stage_step == stage.steps) {
      WriteRollouts(graded, 16);
    }
    if (batch.samples.empty()) {
      // Nothing to prefer this step: no learner step, the weights stay, the step is logged.
      SCORCH_LOG(INFO) << stage.name << ": no pair in step " << state_.stage_step << " ("
                       << report.prompts_without_pairs << " prompts without one): no learner step";
    } else {
      SCORCH_RETURN_IF_ERROR(Train(std::move(batch), /*checkpoint=*/false, &metrics));
    }
    SCORCH_RETURN_IF_ERROR(FinishStep(index, std::move(metrics), Since(t0)));
    // A learner that never trained has nothing to checkpoint; a resume then starts over.
    if (state_.trained) SCORCH_RETURN_IF_ERROR(CheckpointIfDue(index));
  }
  return Status::Ok();
}

}  // namespace scorch::orchestrator
