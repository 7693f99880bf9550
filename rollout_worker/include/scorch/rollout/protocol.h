// Turn protocols (ALGORITHMS §1): small strategy objects that decide what a trajectory's next
// generation is, what fixed text goes between generations, and when the trajectory ends.
//
//   single_turn      (alias "single"): the §1.2 evaluation prompt, one attempt.
//   self_correct     (alias "srr"):    §1.1/§1.2 — attempt a^h, then the self-evaluation user
//                    turn and a sampled verdict y^h (generation stops at "[VERIFY] correct." or
//                    "[VERIFY] wrong."); on "wrong" and h+1 < max_turns the correction user turn
//                    and attempt a^{h+1}; stops at a correct verdict, after max_turns turns, or
//                    at a malformed verdict (counted in EpisodeStats, trajectory ends).
//   two_turn         §1.3 — attempt a¹ generated until the model writes "Is my most recent
//                    final answer correct (Yes or No)?" (a stop string; ending without it is the
//                    "format not followed" case: counted as malformed, a¹ is final), then the
//                    sampled " Yes."/" No." in the same assistant message, then the fixed user
//                    instruction and a² (after "Yes" only if continue_after_yes).
//   post_completion  (alias "pcl"): §1.4 — generation stops at the POST marker (stop string,
//                    default "</answer>"); in training mode the model continues with the
//                    evaluation segment until end of sequence.
//   post_completion_train: post_completion in training mode for this request, whatever
//                    ProtocolOptions::training says (PCL's GRPO stage and its evaluation).
//
// Chat format: ChatML. Every generation continues the full token history; the text between
// generations is "<|im_end|>" (only if the model's turn did not already end with it) +
// "\n<|im_start|>user\n{instruction}<|im_end|>\n<|im_start|>assistant\n", recorded as one
// non-trainable user/instruction segment.
// Forced verdict (GenerateRequest::forced_verdict): the FIRST verdict y¹ is not sampled; its
// text ("[VERIFY] wrong." / " No." ...) is injected as a non-trainable assistant/verify
// segment and the protocol continues as if sampled (§2.1 step 3). Later verdicts are sampled.
// GenerateRequest::prompt_token_ids, when given, is used verbatim as the (already templated)
// prompt segment instead of rendering prompt_text.
//
// Seeds: generation g (0-based) of a trajectory samples with a seed derived from
// (request seed, g), so the same request gives the same trajectory in any batch. With
// SamplingParams::continuation_seed set, generations g >= 1 derive from it instead, so
// requests that differ only in it share a¹ and continue differently from it.
//
// Ownership: a TurnProtocol is immutable and shared by its Episodes; an Episode borrows the
// Tokenizer. Thread-safety: TurnProtocol is thread-safe; an Episode is not. Errors:
// CreateProtocol returns InvalidArgument for an unknown name or bad options; Start returns
// InvalidArgument when the prompt cannot be rendered or encoded.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scorch/common/proto/rollout_messages.h"
#include "scorch/model/chat_template.h"
#include "scorch/model/prompt_texts.h"
#include "scorch/model/tokenizer.h"
#include "scorch/rollout/generator.h"
#include "scorch/rollout/trajectory_builder.h"

namespace scorch::rollout {

// The fixed texts live in scorch/model/prompt_texts.h (shared with the orchestrator).
using model::kSrrSystemPrompt;
using model::kSrrUserSuffix;
using model::kSrrSelfEvalInstruction;
using model::kSrrCorrectionInstruction;
using model::kEvalSystemPrompt;
using model::kEvalUserSuffix;
using model::kVerifyCorrect;
using model::kVerifyWrong;
using model::kYesNoQuestion;
using model::kTwoTurnNoInstruction;
using model::kTwoTurnYesInstructionPaper;
using model::kTwoTurnYesInstructionCode;
using model::kPclSystemPrompt;

struct ProtocolOptions {
  int32_t max_turns = 2;                        // self_correct: attempts H (§1.1: H = 2)
  bool two_turn_continue_after_yes = false;     // two_turn: also generate a² after "Yes"
  bool two_turn_yes_paper_wording = false;      // two_turn: "Yes" instruction wording (default: code's)
  int64_t verdict_max_new_tokens = 8;           // two_turn: tokens for " Yes."/" No."
  bool training = false;                        // post_completion: continue with the evaluation
  std::string post_marker = "</answer>";        // post_completion: the POST stop string
  model::PromptTexts texts;                     // system prompts and instructions (default: the papers')

  [[nodiscard]] Status Validate() const;
};

// Per-trajectory counters beyond proto::Trajectory.
struct EpisodeStats {
  int32_t malformed_verdicts = 0;          // verdicts that did not parse (the trajectory ended)
  std::vector<proto::Verdict> verdicts;    // parsed or forced verdicts, in turn order
  bool forced_verdict_used = false;
  bool context_full = false;               // ended because the slot could not hold more
  std::string error;                       // a generation failed (finish reason aborted)
};

// What the episode wants generated next.
struct TurnSpec {
  proto::SegmentKind kind = proto::SegmentKind::kAttempt;
  int32_t turn = 0;
  std::vector<std::string> stop_strings;       // in addition to the request's
  std::optional<int64_t> max_new_tokens;       // overrides the request's
};

// One trajectory's state machine. The driver calls Begin(), then, while it returns a spec,
// generates it from builder().tokens() and calls OnGenerated with the result.
class Episode {
 public:
  Episode(const proto::GenerateRequest& request, const model::Tokenizer& tokenizer, const ProtocolOptions& options);
  virtual ~Episode() = default;

  // Appends the prompt; returns the first generation.
  StatusOr<std::optional<TurnSpec>> Begin();
  // Records `result` for the spec last returned and returns the next one (nullopt = done).
  StatusOr<std::optional<TurnSpec>> OnGenerated(const GenerationResult& result);
  // Ends the trajectory early (e.g. no room left for another generation).
  void Abandon(std::string why, bool context_full);

  const proto::GenerateRequest& request() const { return request_; }
  TrajectoryBuilder& builder() { return builder_; }
  const EpisodeStats& stats() const { return stats_; }
  int32_t generations() const { return generations_; }
  // Seed of generation g of this trajectory.
  uint64_t SeedFor(int32_t g) const;

 protected:
  // Protocol logic at the start: append the prompt, return the first generation.
  virtual StatusOr<std::optional<TurnSpec>> Start() = 0;
  // Protocol logic after `result` (already appended to the builder) for `spec`.
  virtual StatusOr<std::optional<TurnSpec>> Next(const TurnSpec& spec, const GenerationResult& result) = 0;

  // Renders and appends the prompt as one user/prompt segment (or uses prompt_token_ids).
  Status AppendPrompt(const std::vector<model::ChatMessage>& messages);
  // "<|im_end|>" if the last generation did not end with it, then a user turn, then the
  // assistant header: one user/instruction segment of `turn`.
  Status AppendUserTurn(std::string_view instruction, int32_t turn);
  // Injects assistant text the policy did not sample (forced verdicts).
  Status AppendInjected(std::string_view text, proto::SegmentKind kind, int32_t turn);

  proto::GenerateRequest request_;
  const model::Tokenizer& tokenizer_;
  ProtocolOptions options_;
  TrajectoryBuilder builder_;
  EpisodeStats stats_;

 private:
  std::optional<TurnSpec> pending_;
  int32_t generations_ = 0;
};

class TurnProtocol {
 public:
  virtual ~TurnProtocol() = default;
  virtual std::string_view name() const = 0;
  // A fresh episode for `request` (copied); `tokenizer` must outlive it.
  virtual std::unique_ptr<Episode> NewEpisode(const proto::GenerateRequest& request,
                                              const model::Tokenizer& tokenizer) const = 0;
};

// By name: single_turn|single, self_correct|srr, two_turn, post_completion|pcl,
// post_completion_train.
StatusOr<std::unique_ptr<TurnProtocol>> CreateProtocol(std::string_view name, const ProtocolOptions& options);
// The canonical names, for help texts.
std::vector<std::string> ProtocolNames();

// §1.2 verdict parsing: unwraps \boxed{\text{[VERIFY] x.}} / \boxed{[VERIFY] x.}; valid only
// when "[VERIFY]" occurs exactly once and is followed by "correct" or "wrong" (case-sensitive,
// spaces allowed). nullopt = malformed.
std::optional<proto::Verdict> ParseSrrVerdict(std::string_view text);
// §1.3 verdict: the text after optional white space starts with "Yes" or "No".
std::optional<proto::Verdict> ParseYesNoVerdict(std::string_view text);
// The content of the last balanced \boxed{...} (or \fbox{...}); "" when there is none.
std::string ExtractLastBoxed(std::string_view text);
// The content of the first <answer>...</answer>, trimmed; "" when there is none.
std::string ExtractAnswerTag(std::string_view text);

}  // namespace scorch::rollout
