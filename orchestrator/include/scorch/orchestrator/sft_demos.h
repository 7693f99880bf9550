// SFT demonstrations: the trajectories a teacher who follows a turn protocol perfectly would
// write for a problem with a worked solution, tokenised exactly as the rollout worker's
// protocol lays out its own trajectories (rollout_worker/protocol.h), so what the warm-up SFT
// teaches is what the policy will later be asked to continue. tests/ checks the two layouts
// against each other token for token.
//
//   single_turn:  prompt(eval texts) · a¹ = solution<|im_end|>
//   self_correct: prompt(srr texts) · a¹<|im_end|> · [self-eval instruction] · y¹
//                 and, when a¹ is wrong (y¹ = "[VERIFY] wrong."): [correction instruction] ·
//                 a² = solution<|im_end|> · [self-eval instruction] · y² = "[VERIFY] correct."
//   post_completion (and post_completion_train): prompt(pcl system prompt) ·
//                 a = "<think>steps</think>\n<answer>answer</answer>" (ends at the POST marker) ·
//                 e = "\n<evaluation>…</evaluation>\n<reward>[acc, 1]</reward><|im_end|>", where
//                 acc is whether a's answer is right (ALGORITHMS §1.4, §3.5): a demonstration of
//                 judging one's own answer, wrong ones included (wrong_first_attempt: then a is
//                 context, mask 0, and only e trains: the evaluation track of §4.5).
// With `recheck`, each self_correct verdict is preceded by free-form verification reasoning
// (ALGORITHMS §1.1): the worked steps done again, then the judged attempt's answer restated,
// y = "<steps> Boxed <answer>. [VERIFY] correct.", so the verdict only has to compare two
// numbers written just before it instead of recomputing the answer at the verdict token. (On
// the 4-layer toy model the re-derivation is learned but, after 3,500 steps, the verdict still
// barely follows the comparison: see the README's SWIFT paragraph.)
// With `verdict_only`, only the verdict strings themselves ("[VERIFY] correct." / "[VERIFY]
// wrong.") are trainable and everything else is context: the verdict's few tokens then carry the
// whole loss instead of being averaged with the ~100 tokens of steps around them. Measured on
// the toy model: 1,000 verdict-only steps (lr 1.5e-3) after recheck training let solving drift
// away (turn-1 accuracy fell to 3 %): no loss holds the attempts in place, so a stage mixes
// it with full demonstrations (StageDemoOptions, demo_verdict_only_fraction < 1).
// A wrong first attempt is the solution with its last step's result (and the boxed answer)
// changed by a small amount: an arithmetic slip in the final step, which a verifier that
// re-checks the last operation can catch. Prompt and instruction tokens are context (mask 0),
// and so is a wrong first attempt (D1's mask, ALGORITHMS §4.4: the slip is never taught);
// right attempts and verdicts are trainable (mask 1).
//
// Ownership: borrows the Tokenizer. Thread-safety: pure functions of their inputs.
// Errors: InvalidArgument when the prompt has no solution, the solution has no
// "\boxed{answer}" to corrupt, or the tokenizer cannot encode the text.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "scorch/common/config/run_config.h"
#include "scorch/common/proto/rollout_messages.h"
#include "scorch/common/status.h"
#include "scorch/model/prompt_texts.h"
#include "scorch/model/tokenizer.h"
#include "scorch/orchestrator/prompt.h"

namespace scorch::orchestrator {

struct DemoOptions {
  std::string protocol = "self_correct";  // single_turn | self_correct | post_completion[_train]
  bool wrong_first_attempt = false;       // self_correct: a¹ wrong, then corrected;
                                          // post_completion: a wrong answer, judged wrong
  uint64_t seed = 0;                      // picks the slip's size
  bool recheck = false;                   // self_correct: y = steps again, answer restated, verdict
  bool verdict_only = false;              // self_correct: only the "[VERIFY] …" strings train
};

// The options of a synthetic demonstration in an sft stage, drawn from its per-problem `seed`:
// demo_wrong_fraction of them start with a wrong attempt (self_correct, post_completion) and,
// independently, demo_verdict_only_fraction of them train only their verdicts (self_correct).
DemoOptions StageDemoOptions(const config::StageConfig& stage, uint64_t seed);

// The solution with its final result changed by a non-zero amount (seeded); InvalidArgument if
// the solution does not end its last step with "= <answer>" and "\boxed{<answer>}".
StatusOr<std::string> CorruptFinalStep(const std::string& solution, const std::string& answer, uint64_t seed);

StatusOr<proto::Trajectory> BuildDemonstration(const model::Tokenizer& tokenizer, const model::PromptTexts& texts,
                                               const Prompt& prompt, const DemoOptions& options);

// PCL's dual-track SFT samples for one prompt group of a grpo step (ALGORITHMS §4.5), as
// TrainSamples with sft_track set: "reason" = the right post_completion demonstration with
// only its attempt (reasoning and answer, up to the POST marker) trained; "eval" = a
// demonstration, whose attempt is wrong when `wrong_eval_attempt`, with only its evaluation
// trained (the attempt is context). A track of weight 0 is left out.
struct PclTrackOptions {
  std::string protocol = "post_completion_train";
  double reason_weight = 1.0;   // w_1
  double eval_weight = 1.0;     // w_2 (ρ_t = 1: the synthetic teacher's evaluation is always valid)
  bool wrong_eval_attempt = false;
  uint64_t seed = 0;            // the wrong attempt's slip
};
StatusOr<std::vector<proto::TrainSample>> PclTrackSamples(const model::Tokenizer& tokenizer,
                                                          const model::PromptTexts& texts, const Prompt& prompt,
                                                          const PclTrackOptions& options);

}  // namespace scorch::orchestrator
