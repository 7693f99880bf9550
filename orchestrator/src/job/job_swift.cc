// The SWIFT stages (ALGORITHMS §5): swift_train (graded samples → the learner trains a reward
// head on the frozen policy's hidden states) and bon (Best-of-N selection, best_of_n.h).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <set>

#include "job_internal.h"
#include "scorch/common/atomic_file.h"
#include "scorch/common/logging.h"
#include "scorch/orchestrator/best_of_n.h"

namespace scorch::orchestrator {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double Since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// Mean log-probability of the tokens the policy sampled (trainable_mask = 1).
double MeanSampledLogprob(const proto::Trajectory& t) {
  double sum = 0;
  int64_t n = 0;
  for (size_t i = 0; i < t.logprobs.size() && i < t.trainable_mask.size(); ++i) {
    if (t.trainable_mask[i] == 0) continue;
    sum += t.logprobs[i];
    ++n;
  }
  return n > 0 ? sum / static_cast<double>(n) : 0.0;
}

}  // namespace

// ---------------------------------------------------------------------------------------
Status JobRunner::RunSwiftTrain(int index) {
  const auto& stage = config_.stages[static_cast<size_t>(index)];
  // Like collect, the stage restarts whole: the learner holds the features until the last batch.
  state_.stage_step = 0;
  const std::filesystem::path head_dir = run_.swift_dir() / stage.name;
  json last_metrics;
  while (state_.stage_step < stage.steps) {
    const auto t0 = Clock::now();
    std::vector<proto::GenerateRequest> requests;
    for (int p = 0; p < stage.batch_prompts; ++p) {
      auto [prompt_id, prompt] = NextTrainPrompt(index);
      for (int s = 0; s < stage.samples_per_prompt; ++s) requests.push_back(Request(stage, prompt, prompt_id, s));
    }
    json metrics = json::object();
    SCORCH_ASSIGN_OR_RETURN(std::vector<Graded> graded, GenerateAndGrade(std::move(requests), &metrics));
    proto::TrainBatch batch;
    batch.stage = stage.name;
    std::vector<EvalRecord> records;
    double positives = 0;
    for (auto& g : graded) {
      proto::TrainSample s;
      s.trajectory = g.trajectory;
      s.reward = g.record.final_correct ? 1.0 : 0.0;  // the head's label
      positives += s.reward;
      records.push_back(g.record);
      batch.samples.push_back(std::move(s));
    }
    metrics["swift/positive_fraction"] = graded.empty() ? 0.0 : positives / static_cast<double>(graded.size());
    job_internal::PutSummary(Summarize(records), &metrics);
    ++state_.step;
    ++state_.stage_step;
    const auto t1 = Clock::now();
    SCORCH_RETURN_IF_ERROR(Train(std::move(batch), /*checkpoint=*/false, &metrics)
                               .WithContext("stage " + stage.name + " step " + std::to_string(state_.stage_step)));
    metrics["time/train_s"] = Since(t1);
    WriteRollouts(graded, 16);
    last_metrics = metrics;
    SCORCH_RETURN_IF_ERROR(FinishStep(index, std::move(metrics), Since(t0)));
  }
  if (!std::filesystem::exists(head_dir / "swift_head.json")) {
    return Status::Internal("stage " + stage.name + ": the learner wrote no SWIFT head to " + head_dir.string());
  }
  auto get = [&](const char* k) { return last_metrics.contains(k) ? last_metrics[k].get<double>() : -1.0; };
  SCORCH_LOG(INFO) << stage.name << ": SWIFT head written to " << head_dir.string() << " (validation accuracy "
                   << get("swift/val_accuracy") << ", loss " << get("swift/val_loss") << ", best epoch "
                   << get("swift/best_epoch") << " of " << get("swift/epochs") << ")";
  return CheckpointBetweenStages(index + 1);
}

// ---------------------------------------------------------------------------------------
Status JobRunner::RunBon(int index) {
  const auto& stage = config_.stages[static_cast<size_t>(index)];
  state_.stage_step = 0;  // like eval, never checkpointed midway
  std::optional<std::string> head;
  if (stage.swift_head.rfind("stage:", 0) == 0) {
    head = (run_.swift_dir() / stage.swift_head.substr(6)).string();
  } else if (!stage.swift_head.empty()) {
    head = stage.swift_head;
  }
  if (head && !std::filesystem::exists(std::filesystem::path(*head) / "swift_head.json")) {
    return Status::NotFound("stage " + stage.name + ": no SWIFT head at " + *head + " (swift_head.json missing)");
  }
  const int n = stage.samples_per_prompt;
  std::vector<std::vector<BonCandidate>> problems;
  std::vector<EvalRecord> records;
  int64_t next_problem = stage.eval_offset;
  int64_t unscored = 0;
  while (state_.stage_step < stage.steps) {
    const auto t0 = Clock::now();
    std::vector<proto::GenerateRequest> requests;
    for (int p = 0; p < stage.batch_prompts; ++p, ++next_problem) {
      const std::optional<Prompt> prompt = EvalPrompt(index, next_problem);
      if (!prompt) break;
      for (int s = 0; s < n; ++s) {
        requests.push_back(Request(stage, *prompt, next_problem, s));
        requests.back().score_head = head;
      }
    }
    if (requests.empty()) break;
    json metrics = json::object();
    SCORCH_ASSIGN_OR_RETURN(std::vector<Graded> graded, GenerateAndGrade(std::move(requests), &metrics));
    std::map<int64_t, std::vector<const Graded*>> by_problem;
    for (const auto& g : graded) by_problem[g.trajectory.prompt_id].push_back(&g);
    std::vector<EvalRecord> step_records;
    for (auto& [id, gs] : by_problem) {
      std::sort(gs.begin(), gs.end(),
                [](const Graded* a, const Graded* b) { return a->trajectory.sample_idx < b->trajectory.sample_idx; });
      std::vector<BonCandidate> candidates;
      for (const Graded* g : gs) {
        BonCandidate c;
        c.correct = g->record.final_correct;
        c.answer = g->record.final_answer;
        if (g->trajectory.hidden_state_score) c.swift_score = *g->trajectory.hidden_state_score;
        if (g->record.first_verdict != SelfVerdict::kNone) c.says_correct = g->record.first_verdict == SelfVerdict::kCorrect;
        c.mean_logprob = MeanSampledLogprob(g->trajectory);
        candidates.push_back(std::move(c));
        step_records.push_back(g->record);
      }
      for (size_t k = 0; head && k < candidates.size(); ++k) {
        if (candidates[k].swift_score) continue;
        // A generation that failed (its finish reason says why) has no score: it ranks last.
        candidates[k].swift_score = -1e30;
        ++unscored;
      }
      problems.push_back(std::move(candidates));
    }
    job_internal::PutSummary(Summarize(step_records), &metrics);
    records.insert(records.end(), step_records.begin(), step_records.end());
    ++state_.step;
    ++state_.stage_step;
    WriteRollouts(graded, graded.size());  // every candidate, with its SWIFT score
    SCORCH_RETURN_IF_ERROR(FinishStep(index, std::move(metrics), Since(t0)));
  }
  if (problems.empty()) return Status::InvalidArgument("stage " + stage.name + ": no problems to select among");
  if (unscored > 0) {
    SCORCH_LOG(WARNING) << stage.name << ": " << unscored << " candidate(s) came back without a SWIFT score (their "
                        << "generation failed); they rank last for the SWIFT selectors";
  }

  // The selectors this stage can run: SWIFT ones need a head, self_verdict needs verdicts.
  const bool any_verdict = std::any_of(problems.begin(), problems.end(), [](const auto& p) {
    return std::any_of(p.begin(), p.end(), [](const BonCandidate& c) { return c.says_correct.has_value(); });
  });
  std::vector<std::string> selectors;
  for (const auto& s : BonSelectorNames()) {
    if (!head && s.rfind("swift", 0) == 0) continue;
    if (!any_verdict && s == "self_verdict") continue;
    selectors.push_back(s);
  }
  const std::vector<int> ks = BonKs(n);
  BonTable table;
  json cost = json::object();
  for (const auto& s : selectors) {
    const auto t0 = Clock::now();
    SCORCH_ASSIGN_OR_RETURN(BonTable one, BestOfN(problems, ks, {s}, static_cast<uint64_t>(config_.job.seed)));
    // Selection work over every k, per candidate of the largest k (the scores themselves come
    // with the candidates: SWIFT's from the worker's generation, see bench/swift_bench.cc).
    cost[s] = 1e3 * Since(t0) / static_cast<double>(problems.size() * static_cast<size_t>(n));
    table.accuracy[s] = one.accuracy[s];
  }
  table.ks = ks;
  table.selectors = selectors;
  table.problems = static_cast<int64_t>(problems.size());
  json out = table.ToJson();
  out["stage"] = stage.name;
  out["step"] = state_.step;
  out["n"] = n;
  out["protocol"] = stage.protocol;
  out["temperature"] = job_internal::StageTemperature(config_, stage);
  out["swift_head"] = head ? json(*head) : json(nullptr);
  out["selection_ms_per_candidate"] = cost;
  out["unscored_candidates"] = unscored;
  if (head) {
    // How well the head ranks within a problem (what Best-of-N needs): over every (correct,
    // wrong) pair of candidates of the same problem, the share where the correct one scores higher.
    double wins = 0, pairs = 0;
    for (const auto& p : problems) {
      for (const auto& a : p) {
        for (const auto& b : p) {
          if (!a.correct || b.correct) continue;
          pairs += 1;
          wins += *a.swift_score > *b.swift_score ? 1.0 : (*a.swift_score == *b.swift_score ? 0.5 : 0.0);
        }
      }
    }
    out["swift_pair_accuracy"] = pairs > 0 ? json(wins / pairs) : json(nullptr);
    out["swift_pairs"] = pairs;
  }
  json pass = json::object();
  for (int k : ks) pass[std::to_string(k)] = PassAtK(problems, k);
  out["pass_at_k"] = pass;
  out["summary"] = Summarize(records).ToJson();
  char name[16];
  std::snprintf(name, sizeof(name), "%02d-", index + 1);
  const auto path = run_.eval_dir() / (std::string(name) + stage.name + ".json");
  SCORCH_RETURN_IF_ERROR(AtomicWriteFile(path, out.dump(2) + "\n"));
  SCORCH_LOG(INFO) << stage.name << " (Best-of-" << n << " over " << problems.size() << " problems, written to "
                   << path.string() << "):\n"
                   << FormatBonTable(table);
  return CheckpointBetweenStages(index + 1);
}

}  // namespace scorch::orchestrator
