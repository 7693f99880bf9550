// The input of every reward rule: one sampled trajectory, seen as a list of typed turns.
//
// A trajectory is the model's generated text split into turns: attempts (a^h, graded by the
// oracle on their own segment, ALGORITHMS §9.1), self-verifications (y^h, `[VERIFY] …` or
// the two-turn Yes/No question) and, for post-completion learning, the evaluation segment
// (`<evaluation>…</evaluation><reward>[…]</reward>`). It also carries what the length and
// repetition rules need: the generated token ids, the generated length L and max_new_tokens.
//
// Callers that already know the turns (the rollout worker) fill `turns` directly; callers
// holding one flat response (HTTP clients) use SplitResponse with the protocol that
// produced it. Values; thread-compatible. SplitResponse never throws and is linear-ish.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "scorch/common/status.h"

namespace scorch::reward {

enum class TurnKind { kAttempt, kVerify, kEvaluation };
std::string_view TurnKindName(TurnKind k);  // "attempt", "verify", "evaluation"
StatusOr<TurnKind> ParseTurnKind(std::string_view name);

// How the response was produced; decides how a flat response splits into turns and which
// verdict phrasing a verify turn uses.
enum class Protocol {
  kSingle,   // one attempt, no self-verification
  kSrr,      // a¹ y¹ [a² y² …] with `[VERIFY] correct|wrong` verdicts (§1.1–1.2)
  kTwoTurn,  // a¹ + "Is my most recent final answer correct (Yes or No)? Yes|No." + a² (§1.3)
  kPcl,      // <think>…</think><answer>…</answer> then <evaluation>…<reward>[…]</reward> (§1.4)
};
std::string_view ProtocolName(Protocol p);  // "single", "srr", "two_turn", "pcl"
StatusOr<Protocol> ParseProtocol(std::string_view name);

struct Turn {
  TurnKind kind = TurnKind::kAttempt;
  std::string text;
};

struct TrajectoryView {
  Protocol protocol = Protocol::kSingle;
  std::vector<Turn> turns;          // in generation order
  std::string gold;                 // reference answer
  std::vector<int32_t> token_ids;   // generated token ids (whole response); may be empty
  int64_t generated_tokens = -1;    // L; -1: use token_ids.size()
  int64_t max_new_tokens = 0;       // L_max for the cosine rule; 0: use the rule's own
  int64_t step = -1;                // training step, for staged rules; -1 unknown
  bool attempts_are_answers = false;  // attempt turns hold bare answers (no extraction)

  // L as defined above.
  int64_t Length() const {
    return generated_tokens >= 0 ? generated_tokens : static_cast<int64_t>(token_ids.size());
  }
  // All turn texts concatenated (the completion as generated).
  std::string FullText() const;
  // Indices into `turns` of the attempts, in order.
  std::vector<size_t> AttemptIndices() const;
  // Bad field values (e.g. negative max_new_tokens), naming the field.
  Status Validate() const;
};

// Splits a flat response into turns for `protocol`:
//  - single: one attempt (the whole text).
//  - srr: each `[VERIFY] correct|wrong` verdict (with its `\boxed{\text{…}}` wrapper) ends a
//    verify turn; the text before it (since the previous verdict) is the attempt. Text after
//    the last verdict is a further attempt when non-blank. Free-form verification
//    reasoning before a verdict stays in the attempt, so Turn 1 is graded on the last
//    \boxed before the first [VERIFY] (§6).
//  - two_turn: text up to the Yes/No question is a¹; the question and its answer word form
//    the verify turn; the rest (when non-blank) is a².
//  - pcl: text up to and including the first `</answer>` is the attempt; the rest (when
//    non-blank) is the evaluation turn.
std::vector<Turn> SplitResponse(std::string_view response, Protocol protocol);

}  // namespace scorch::reward
