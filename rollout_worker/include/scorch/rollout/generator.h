// Generator: batched autoregressive decoding over a StepModel with continuous batching.
//
// Requests wait in a FIFO queue. Each Step():
//   1. admits waiting requests into free slots (continuous mode: any free slot, so a new
//      prompt is prefilled in the same model call in which running sequences decode; static
//      mode: only when every slot is free, i.e. classic fixed batches — the bench baseline);
//   2. runs ONE StepModel::Forward over all active slots (prompt rows + one-token rows).
//      Static mode with static_fixed_shape (the default) keeps a finished sequence's row in
//      every step until the whole batch is done (fed its last token again, output discarded):
//      the fixed (B, T) batch of classic static batching, where a batch costs as much as its
//      longest member times B. static_fixed_shape=false drops finished rows instead (a
//      stronger baseline; the bench reports both);
//   3. samples one token per active slot with model::SampleTokens (ids at or past the
//      tokenizer's vocab_size, padding of a larger embedding table, are masked out first), each request using its own
//      SamplingParams and its own RequestRng (seeded from the request), so a request's tokens
//      depend only on its seed and its logits, never on what shares the batch;
//   4. checks the stopping rules and returns the requests that finished; their slots are
//      free for step 1 of the next Step().
//
// Stopping, in this order after each sampled token:
//   * stop token: the token is in stop_token_ids. It is kept in `tokens` (the policy sampled
//     it, the trainer needs it) but its text is not part of `text`. reason kStopToken.
//   * stop string: the decoded text of the generated tokens (special tokens rendered as their
//     text, concatenated token by token, so a string split across tokens is found) now
//     contains one of stop_strings, searched only in the window the new token could complete.
//     RULE: `tokens` keeps every sampled token up to and including the one that completed the
//     earliest match (a token is never cut); `text` ends right after the stop string (the
//     string is included; characters the completing token carried beyond it are dropped and
//     reported in `text_overflow`). reason kStopString; matched_stop names the string.
//   * length: max_new_tokens tokens generated, or the slot is full. reason kLength.
// KV prefix reuse (sessions): a request with a nonzero `session` is one generation of a
// longer conversation (a trajectory's turns). When it finishes normally in continuous mode,
// its slot is not emptied but PARKED for the session, holding the keys of every token fed so
// far (the prompt and all generated tokens but the last, which was sampled, not fed). The
// session's next request is admitted into that slot ahead of the FIFO order, and when the
// parked tokens are a strict prefix of its prompt only the new suffix is prefilled; otherwise
// (or when the slot was reset meanwhile, e.g. by a weight swap) the slot is reset and the
// whole prompt prefilled — reuse is an optimisation, never a change of output. The caller
// ends a session with EndSession; a parked slot whose session has no waiting request is also
// evicted when new work finds no free slot, so parking never starves the queue.
// A request whose prompt is empty, does not fit its slot with room for one token, or has
// invalid sampling parameters finishes at once with kError (Submit never fails for it), as
// does every active request when the model step fails.
//
// Ownership: borrows the StepModel and the Tokenizer (both must outlive the Generator).
// Thread-safety: not thread-safe; one thread drives Submit/Step. Blocking: Step runs one model
// forward synchronously.
#pragma once

#include <array>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "scorch/common/status.h"
#include "scorch/model/sampling.h"
#include "scorch/model/tokenizer.h"
#include "scorch/rollout/step_model.h"

namespace scorch::rollout {

struct GenerationRequest {
  uint64_t id = 0;                       // caller's handle, echoed in the result
  std::vector<TokenId> prompt;           // the full context to continue (non-empty)
  model::SamplingParams sampling;        // temperature / top-k / top-p / seed
  int64_t max_new_tokens = 1024;         // > 0
  std::vector<TokenId> stop_token_ids;   // finish on any of these (kept in tokens)
  std::vector<std::string> stop_strings; // finish on any of these in the decoded text
  uint64_t session = 0;                  // != 0: keep the KV cache for the session's next request
};

enum class GenFinish { kStopToken, kStopString, kLength, kError };
const char* GenFinishName(GenFinish f);

struct GenerationResult {
  uint64_t id = 0;
  std::vector<TokenId> tokens;   // generated tokens (prompt excluded)
  std::vector<float> logprobs;   // one per token: log softmax(logits)[token], over the ids the
                                 // tokenizer knows (equal to the raw logits' when sizes agree)
  std::string text;              // decoded generated text, cut per the stop rule above
  std::string text_overflow;     // text the completing token carried past a stop string
  GenFinish finish = GenFinish::kLength;
  std::optional<TokenId> stop_token;       // set for kStopToken
  std::optional<std::string> matched_stop; // set for kStopString
  std::string error;                       // set for kError
  int64_t reused_prompt_tokens = 0;        // prompt tokens found in the session's parked slot
  // With a scoring head on the step model (step_model.h): one [gate logit, token reward] per
  // generated token, taken at the state that read it, the last one included: a scored
  // sequence's last token is fed once more before it finishes (one row in the next step; its
  // sample is discarded). Only when the slot was full (max_seq_len) does the last one lack
  // its term. Empty without a head.
  std::vector<std::array<float, 2>> token_terms;
};

struct GeneratorOptions {
  bool continuous = true;          // false = static batching (admit only into an empty batch)
  bool static_fixed_shape = true;  // static mode: finished rows stay in the step (see above)
  bool reuse_prefix = true;        // continuous mode: park session slots (see above)
};

struct GeneratorStats {
  int64_t steps = 0;             // Step() calls that ran the model
  int64_t generated_tokens = 0;  // sampled tokens
  int64_t prompt_tokens = 0;     // prefilled tokens
  int64_t slot_steps = 0;        // sum over steps of active slots (occupancy numerator)
  int64_t padding_rows = 0;      // static fixed-shape mode: rows computed for finished sequences
  int64_t reused_prompt_tokens = 0;  // prompt tokens not recomputed thanks to a parked slot
  int64_t prefix_misses = 0;     // session requests whose parked slot could not be reused
  int64_t evictions = 0;         // parked slots taken for other work
};

class Generator {
 public:
  Generator(StepModel& model, const model::Tokenizer& tokenizer, const GeneratorOptions& options = {});
  ~Generator();
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  // Queues a request (FIFO).
  void Submit(GenerationRequest request);

  // One batched step (see the file comment). Returns the requests that finished in it,
  // including requests rejected at admission. Never fails: errors become kError results.
  std::vector<GenerationResult> Step();

  // Steps until nothing is waiting or active; results in completion order.
  std::vector<GenerationResult> RunToCompletion();

  // Frees the slot parked for `session`, if any (the conversation is over).
  void EndSession(uint64_t session);
  int64_t parked() const;

  bool Idle() const { return waiting_.empty() && active_count_ == 0; }
  int64_t waiting() const { return static_cast<int64_t>(waiting_.size()); }
  int64_t active() const { return active_count_; }
  const GeneratorStats& stats() const { return stats_; }
  StepModel& model() { return model_; }

 private:
  struct Sequence;

  struct Parked {
    uint64_t session = 0;
    std::vector<TokenId> cached;  // tokens whose keys the slot holds
    int64_t since_step = 0;
  };

  void Admit(std::vector<GenerationResult>* finished);
  // Why `r` cannot run (empty = admissible).
  std::string Invalid(const GenerationRequest& r) const;
  // Puts `r` into free `slot`, reusing the slot's parked prefix when it is `r`'s.
  void Place(size_t slot, GenerationRequest r);
  // Appends the sampled token to slot's sequence; true when it finished.
  bool Accept(Sequence& seq, TokenId token, float logprob);
  GenerationResult Finish(size_t slot, GenFinish reason);

  StepModel& model_;
  const model::Tokenizer& tokenizer_;
  GeneratorOptions options_;
  std::deque<GenerationRequest> waiting_;
  std::vector<std::unique_ptr<Sequence>> slots_;  // null = free
  std::vector<std::optional<TokenId>> padding_;     // static fixed shape: finished slot's filler
  std::vector<std::optional<Parked>> parked_;       // free slots held for a session
  int64_t active_count_ = 0;
  GeneratorStats stats_;
};

}  // namespace scorch::rollout
