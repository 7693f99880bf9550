// The fixed texts of the turn protocols (ALGORITHMS §1.2–§1.4): system prompts, user
// suffixes, the self-evaluation and correction instructions and the verdict strings, and
// PromptTexts, the set a job may override (e.g. short texts for a character-level toy model).
//
// These live apart from the rollout worker's protocols because the orchestrator needs the
// same texts to build SFT demonstrations in exactly the layout the protocols produce; this
// header has no LibTorch dependency.
//
// Thread-safety: constants and a value struct.
#pragma once

#include <string>

#include "scorch/common/config/run_config.h"

namespace scorch::model {

// §1.2 / §1.3 fixed texts.
inline constexpr char kSrrSystemPrompt[] =
    "You are a mathematical reasoning assistant. For each problem, follow these steps strictly:\n\n1. Solve the "
    "problem using step-by-step reasoning and output the final answer within \\boxed{}.\n\nAlways ensure clarity, "
    "correctness, and adherence to the required format.";
inline constexpr char kSrrUserSuffix[] = " Let's think step by step and output the final answer within \\boxed{}.";
inline constexpr char kSrrSelfEvalInstruction[] =
    "2. Perform a self-evaluation: - You may include reasoning to verify correctness. - However, your final "
    "self-evaluation **must** be in one of the following formats: [VERIFY] correct. or [VERIFY] wrong.";
inline constexpr char kSrrCorrectionInstruction[] =
    "3. please identify the mistake in your previous reasoning, revise your reasoning path and output a corrected "
    "final answer within \\boxed{}.";
inline constexpr char kEvalSystemPrompt[] = "Please reason step by step, and put your final answer within \\boxed{}.";
inline constexpr char kEvalUserSuffix[] = " Let's think step by step and output the final answer within \\boxed{}";
inline constexpr char kVerifyCorrect[] = "[VERIFY] correct.";
inline constexpr char kVerifyWrong[] = "[VERIFY] wrong.";
inline constexpr char kYesNoQuestion[] = "Is my most recent final answer correct (Yes or No)?";
inline constexpr char kTwoTurnNoInstruction[] =
    "Since your initial response is self-evaluated as incorrect, there might be an error in the solution above "
    "because of lack of understanding of the question. Please correct the error, if any, and rewrite the "
    "solution. Put your final answer within \\boxed{}.";
inline constexpr char kTwoTurnYesInstructionPaper[] =
    "Since your initial response is self-evaluated as correct, confirm it and provide no further modifications. "
    "Put your final answer within \\boxed{}.";
inline constexpr char kTwoTurnYesInstructionCode[] =
    "Since your most recent response is self-evaluated as correct, no further modification is required. Thanks.";
// [U] The PCL "taer" system prompt is not reproduced in ALGORITHMS §1.4; this states its two
// scoring rules and the layout; override it with PromptTexts::pcl_system_prompt.
inline constexpr char kPclSystemPrompt[] =
    "Answer the question: think inside <think></think>, then give the final answer inside <answer></answer>. "
    "Then evaluate your response inside <evaluation></evaluation> and score it as <reward>[acc,fmt]</reward>: "
    "acc is 1 if the answer is correct, 0 otherwise; fmt is 1 if the think and answer tags are proper, 0 "
    "otherwise.";

// The texts a protocol writes around the model's turns. Defaults are the papers' texts; a job
// may replace any of them (the verdict strings stay fixed: they are the §1.2 grammar).
struct PromptTexts {
  std::string srr_system_prompt = kSrrSystemPrompt;
  std::string srr_user_suffix = kSrrUserSuffix;
  std::string self_eval_instruction = kSrrSelfEvalInstruction;
  std::string correction_instruction = kSrrCorrectionInstruction;
  std::string eval_system_prompt = kEvalSystemPrompt;
  std::string eval_user_suffix = kEvalUserSuffix;
  std::string two_turn_no_instruction = kTwoTurnNoInstruction;
  std::string pcl_system_prompt = kPclSystemPrompt;

  bool operator==(const PromptTexts&) const = default;
};

// The texts of a job's `prompts:` section: an empty field keeps the papers' text.
inline PromptTexts PromptTextsFromConfig(const config::PromptsConfig& p) {
  PromptTexts t;
  auto set = [](std::string* field, const std::string& value) {
    if (!value.empty()) *field = value;
  };
  set(&t.srr_system_prompt, p.srr_system_prompt);
  set(&t.srr_user_suffix, p.srr_user_suffix);
  set(&t.self_eval_instruction, p.self_eval_instruction);
  set(&t.correction_instruction, p.correction_instruction);
  set(&t.eval_system_prompt, p.eval_system_prompt);
  set(&t.eval_user_suffix, p.eval_user_suffix);
  set(&t.pcl_system_prompt, p.pcl_system_prompt);
  return t;
}

}  // namespace scorch::model
