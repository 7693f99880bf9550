// `scorch generate --model DIR --prompt TEXT [--protocol NAME] [--temperature T] [--top-k K]
//                  [--top-p P] [--seed S] [--max-new-tokens N] [--max-turns H]
//                  [--forced-verdict correct|wrong] [--training] [--json]`
//   Loads the policy and tokenizer of a model directory, runs one trajectory of the turn
//   protocol (single_turn, self_correct, two_turn, post_completion) and prints its segments
//   (role, turn, kind, token range, trainable, text), finish reasons, per-turn answers and
//   verdicts; --json prints the trajectory as one JSON object instead.
// Exit status 1 with a message naming the problem (model, tokenizer, protocol, prompt).
#include <algorithm>
#include <cstdio>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "scorch/model/checkpoint.h"
#include "scorch/model/torch_runtime.h"
#include "scorch/rollout/rollout_engine.h"
#include "scorch/rollout/step_model.h"

namespace scorch::app {
namespace {

struct GenerateArgs {
  std::string model_dir;
  std::string prompt;
  std::string protocol = "single_turn";
  double temperature = 0.0;
  int top_k = 0;
  double top_p = 1.0;
  uint64_t seed = 0;
  int max_new_tokens = 512;
  int max_turns = 2;
  std::string forced_verdict;
  bool training = false;
  bool json = false;
};

[[noreturn]] void Fail(const std::string& what) {
  std::fprintf(stderr, "scorch generate: %s\n", what.c_str());
  throw CommandExit{1};
}

void RunGenerate(const GenerateArgs& a) {
  model::ConfigureTorchThreads();
  auto tokenizer = model::LoadTokenizer(a.model_dir);
  if (!tokenizer.ok()) Fail("tokenizer: " + tokenizer.status().ToString());
  auto policy = model::LoadPolicy(a.model_dir);
  if (!policy.ok()) Fail("model: " + policy.status().ToString());
  (*policy)->eval();
  rollout::ProtocolOptions popts;
  popts.max_turns = a.max_turns;
  popts.training = a.training;
  proto::GenerateRequest req;
  req.prompt_text = a.prompt;
  req.protocol = a.protocol;
  req.sampling.temperature = static_cast<float>(a.temperature);
  req.sampling.top_k = a.top_k;
  req.sampling.top_p = static_cast<float>(a.top_p);
  req.sampling.seed = a.seed;
  req.sampling.max_new_tokens = a.max_new_tokens;
  if (!a.forced_verdict.empty()) {
    auto v = proto::ParseVerdict(a.forced_verdict);
    if (!v || *v == proto::Verdict::kError) Fail("--forced-verdict must be correct or wrong, got '" + a.forced_verdict + "'");
    req.forced_verdict = *v;
  }
  rollout::PolicyStepModelOptions mopts;
  mopts.num_slots = 1;
  mopts.max_seq_len = std::min<int64_t>((*policy)->config().max_position_embeddings,
                                        int64_t{4} * a.max_new_tokens * (a.max_turns + 1) + 4096);
  std::unique_ptr<rollout::PolicyStepModel> step;
  try {
    step = std::make_unique<rollout::PolicyStepModel>(*policy, mopts);
  } catch (const c10::Error& e) {
    Fail(std::string("allocating the KV cache: ") + e.what_without_backtrace());
  }
  rollout::Generator generator(*step, **tokenizer);
  rollout::RolloutEngine engine(generator, **tokenizer, popts);
  if (Status s = engine.Submit(req, 0); !s.ok()) Fail(s.ToString());
  auto results = engine.RunToCompletion();
  if (results.size() != 1) Fail("expected one trajectory, got " + std::to_string(results.size()));
  const auto& r = results[0];
  const auto& t = r.trajectory;
  if (a.json) {
    nlohmann::json j;
    j["protocol"] = r.protocol;
    j["token_ids"] = t.token_ids;
    j["logprobs"] = t.logprobs;
    j["trainable_mask"] = t.trainable_mask;
    j["turn_answers"] = t.turn_answers;
    for (auto f : t.finish_reasons) j["finish_reasons"].push_back(std::string(proto::FinishReasonName(f)));
    for (auto v : r.stats.verdicts) j["verdicts"].push_back(std::string(proto::VerdictName(v)));
    j["malformed_verdicts"] = r.stats.malformed_verdicts;
    j["context_full"] = r.stats.context_full;
    if (!r.stats.error.empty()) j["error"] = r.stats.error;
    for (const auto& s : t.segments) {
      j["segments"].push_back({{"role", std::string(proto::ChatRoleName(s.role))},
                               {"turn", s.turn},
                               {"kind", std::string(proto::SegmentKindName(s.kind))},
                               {"begin", s.begin},
                               {"end", s.end},
                               {"trainable", s.end > s.begin && t.trainable_mask[static_cast<size_t>(s.begin)] == 1},
                               {"text", s.text}});
    }
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return;
  }
  std::printf("protocol %s, %zu tokens\n", r.protocol.c_str(), t.token_ids.size());
  for (const auto& s : t.segments) {
    const bool trainable = s.end > s.begin && t.trainable_mask[static_cast<size_t>(s.begin)] == 1;
    std::printf("--- %s turn %d %s [%d, %d)%s\n%s\n", std::string(proto::ChatRoleName(s.role)).c_str(), s.turn,
                std::string(proto::SegmentKindName(s.kind)).c_str(), s.begin, s.end, trainable ? " trainable" : "",
                s.text.c_str());
  }
  std::printf("---\nfinish:");
  for (auto f : t.finish_reasons) std::printf(" %s", std::string(proto::FinishReasonName(f)).c_str());
  std::printf("\nanswers:");
  for (const auto& ans : t.turn_answers) std::printf(" [%s]", ans.c_str());
  std::printf("\nverdicts:");
  for (auto v : r.stats.verdicts) std::printf(" %s", std::string(proto::VerdictName(v)).c_str());
  std::printf("\nmalformed verdicts: %d\n", r.stats.malformed_verdicts);
  if (r.stats.context_full) std::printf("ended: context full\n");
  if (!r.stats.error.empty()) Fail("generation failed: " + r.stats.error);
}

}  // namespace

void RegisterGenerateCommand(CLI::App& app) {
  auto args = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Generate one trajectory from a model directory and print its segments");
  cmd->add_option("--model", args->model_dir, "Model directory (config.json, weights, tokenizer.json)")->required();
  cmd->add_option("--prompt", args->prompt, "Problem text (before the protocol's chat template)")->required();
  cmd->add_option("--protocol", args->protocol, "single_turn | self_correct | two_turn | post_completion");
  cmd->add_option("--temperature", args->temperature, "0 = greedy");
  cmd->add_option("--top-k", args->top_k, "0 = off");
  cmd->add_option("--top-p", args->top_p, "1 = off");
  cmd->add_option("--seed", args->seed, "Sampling seed");
  cmd->add_option("--max-new-tokens", args->max_new_tokens, "Per generated turn");
  cmd->add_option("--max-turns", args->max_turns, "self_correct: attempts");
  cmd->add_option("--forced-verdict", args->forced_verdict, "Inject this first verdict: correct | wrong");
  cmd->add_flag("--training", args->training, "post_completion: continue with the evaluation");
  cmd->add_flag("--json", args->json, "Print the trajectory as JSON");
  cmd->callback([args] { RunGenerate(*args); });
}

}  // namespace scorch::app
