// The turn protocols of ALGORITHMS §1 (see protocol.h for the contract of each).
#include <algorithm>
#include <utility>

#include "scorch/rollout/protocol.h"

namespace scorch::rollout {

using proto::ChatRole;
using proto::SegmentKind;
using proto::Verdict;

Status ProtocolOptions::Validate() const {
  if (max_turns < 1) return Status::InvalidArgument("protocol.max_turns must be >= 1, got " + std::to_string(max_turns));
  if (verdict_max_new_tokens < 1) {
    return Status::InvalidArgument("protocol.verdict_max_new_tokens must be >= 1, got " +
                                   std::to_string(verdict_max_new_tokens));
  }
  if (post_marker.empty()) return Status::InvalidArgument("protocol.post_marker must not be empty");
  return Status::Ok();
}

// ---------------------------------------------------------------------------------------
Episode::Episode(const proto::GenerateRequest& request, const model::Tokenizer& tokenizer,
                 const ProtocolOptions& options)
    : request_(request), tokenizer_(tokenizer), options_(options), builder_(tokenizer) {}

uint64_t Episode::SeedFor(int32_t g) const {
  if (g == 0) return request_.sampling.seed;
  // A continuation seed replaces the request seed for every later generation only: a¹ stays
  // the request seed's, the rest of the trajectory is the continuation seed's.
  const uint64_t base = request_.sampling.continuation_seed.value_or(request_.sampling.seed);
  uint64_t x = base + 0x9e3779b97f4a7c15ULL * static_cast<uint64_t>(g);
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

StatusOr<std::optional<TurnSpec>> Episode::Begin() {
  SCORCH_ASSIGN_OR_RETURN(auto first, Start());
  pending_ = first;
  return first;
}

StatusOr<std::optional<TurnSpec>> Episode::OnGenerated(const GenerationResult& result) {
  if (!pending_) return Status::FailedPrecondition("episode: a generation arrived but none was requested");
  TurnSpec spec = std::move(*pending_);
  pending_.reset();
  ++generations_;
  builder_.AppendGenerated(result, ChatRole::kAssistant, spec.kind, spec.turn);
  proto::FinishReason reason = proto::FinishReason::kLength;
  switch (result.finish) {
    case GenFinish::kStopToken: {
      const auto stops = tokenizer_.StopTokenIds();
      const bool eos = result.stop_token && std::find(stops.begin(), stops.end(), *result.stop_token) != stops.end();
      reason = eos ? proto::FinishReason::kEos : proto::FinishReason::kStop;
      break;
    }
    case GenFinish::kStopString: reason = proto::FinishReason::kStop; break;
    case GenFinish::kLength: reason = proto::FinishReason::kLength; break;
    case GenFinish::kError: reason = proto::FinishReason::kAborted; break;
  }
  builder_.trajectory().finish_reasons.push_back(reason);
  if (result.finish == GenFinish::kError) {
    stats_.error = result.error;
    return std::optional<TurnSpec>();
  }
  SCORCH_ASSIGN_OR_RETURN(auto next, Next(spec, result));
  pending_ = next;
  return next;
}

void Episode::Abandon(std::string why, bool context_full) {
  pending_.reset();
  stats_.context_full = context_full;
  if (!context_full) stats_.error = std::move(why);
}

Status Episode::AppendPrompt(const std::vector<model::ChatMessage>& messages) {
  if (!request_.prompt_token_ids.empty()) {
    std::vector<TokenId> ids(request_.prompt_token_ids.begin(), request_.prompt_token_ids.end());
    builder_.AppendContextTokens(ids, ChatRole::kUser, SegmentKind::kPrompt, 0);
    return Status::Ok();
  }
  if (request_.prompt_text.empty()) return Status::InvalidArgument("GenerateRequest: empty prompt_text and no prompt_token_ids");
  SCORCH_ASSIGN_OR_RETURN(auto ids, model::EncodeChatMl(tokenizer_, messages));
  builder_.AppendContextTokens(ids, ChatRole::kUser, SegmentKind::kPrompt, 0);
  return Status::Ok();
}

Status Episode::AppendUserTurn(std::string_view instruction, int32_t turn) {
  std::string text;
  auto im_end = tokenizer_.TokenToId(model::kImEnd);
  if (!im_end) return Status::InvalidArgument("tokenizer has no <|im_end|> token for the ChatML turns");
  if (builder_.last_token() != im_end) text += model::kImEnd;
  text += "\n";
  text += model::kImStart;
  text += "user\n";
  text += instruction;
  text += model::kImEnd;
  text += "\n";
  text += model::kImStart;
  text += "assistant\n";
  return builder_.AppendContext(text, ChatRole::kUser, SegmentKind::kInstruction, turn);
}

Status Episode::AppendInjected(std::string_view text, SegmentKind kind, int32_t turn) {
  return builder_.AppendContext(text, ChatRole::kAssistant, kind, turn);
}

namespace {

std::optional<TurnSpec> Generate(SegmentKind kind, int32_t turn, std::vector<std::string> stops = {},
                                 std::optional<int64_t> max_new = std::nullopt) {
  TurnSpec s;
  s.kind = kind;
  s.turn = turn;
  s.stop_strings = std::move(stops);
  s.max_new_tokens = max_new;
  return s;
}

bool Finished(const GenerationResult& r) { return r.finish == GenFinish::kLength || r.finish == GenFinish::kError; }

// ---------------------------------------------------------------------------------------
class SingleTurnEpisode final : public Episode {
 public:
  using Episode::Episode;
  StatusOr<std::optional<TurnSpec>> Start() override {
    SCORCH_RETURN_IF_ERROR(AppendPrompt({{"system", options_.texts.eval_system_prompt}, {"user", request_.prompt_text + options_.texts.eval_user_suffix}}));
    return Generate(SegmentKind::kAttempt, 0);
  }

 protected:
  StatusOr<std::optional<TurnSpec>> Next(const TurnSpec&, const GenerationResult& r) override {
    builder_.trajectory().turn_answers.push_back(ExtractLastBoxed(r.text));
    return std::optional<TurnSpec>();
  }
};

// ---------------------------------------------------------------------------------------
class SelfCorrectEpisode final : public Episode {
 public:
  using Episode::Episode;
  StatusOr<std::optional<TurnSpec>> Start() override {
    SCORCH_RETURN_IF_ERROR(AppendPrompt({{"system", options_.texts.srr_system_prompt}, {"user", request_.prompt_text + options_.texts.srr_user_suffix}}));
    return Generate(SegmentKind::kAttempt, 0);
  }

 protected:
  StatusOr<std::optional<TurnSpec>> Next(const TurnSpec& spec, const GenerationResult& r) override {
    const int32_t h = spec.turn;
    if (spec.kind == SegmentKind::kAttempt) {
      builder_.trajectory().turn_answers.push_back(ExtractLastBoxed(r.text));
      if (Finished(r)) return std::optional<TurnSpec>();  // cut off: no verdict can follow
      SCORCH_RETURN_IF_ERROR(AppendUserTurn(options_.texts.self_eval_instruction, h));
      if (h == 0 && request_.forced_verdict) {
        const Verdict v = *request_.forced_verdict;
        stats_.forced_verdict_used = true;
        SCORCH_RETURN_IF_ERROR(AppendInjected(v == Verdict::kCorrect ? kVerifyCorrect : kVerifyWrong, SegmentKind::kVerify, h));
        return AfterVerdict(v, h);
      }
      return Generate(SegmentKind::kVerify, h, {kVerifyCorrect, kVerifyWrong});
    }
    auto v = ParseSrrVerdict(r.text);
    if (!v) {
      ++stats_.malformed_verdicts;
      return std::optional<TurnSpec>();
    }
    return AfterVerdict(*v, h);
  }

 private:
  StatusOr<std::optional<TurnSpec>> AfterVerdict(Verdict v, int32_t h) {
    stats_.verdicts.push_back(v);
    if (v == Verdict::kCorrect || h + 1 >= options_.max_turns) return std::optional<TurnSpec>();
    SCORCH_RETURN_IF_ERROR(AppendUserTurn(options_.texts.correction_instruction, h + 1));
    return Generate(SegmentKind::kAttempt, h + 1);
  }
};

// ---------------------------------------------------------------------------------------
class TwoTurnEpisode final : public Episode {
 public:
  using Episode::Episode;
  StatusOr<std::optional<TurnSpec>> Start() override {
    SCORCH_RETURN_IF_ERROR(AppendPrompt({{"user", request_.prompt_text + options_.texts.srr_user_suffix}}));
    return Generate(SegmentKind::kAttempt, 0, {kYesNoQuestion});
  }

 protected:
  StatusOr<std::optional<TurnSpec>> Next(const TurnSpec& spec, const GenerationResult& r) override {
    if (spec.kind == SegmentKind::kAttempt) {
      builder_.trajectory().turn_answers.push_back(ExtractLastBoxed(r.text));
      if (spec.turn == 1) return std::optional<TurnSpec>();
      if (r.finish != GenFinish::kStopString) {  // format not followed: a¹ is final
        if (!Finished(r)) ++stats_.malformed_verdicts;
        return std::optional<TurnSpec>();
      }
      if (request_.forced_verdict) {
        const Verdict v = *request_.forced_verdict;
        stats_.forced_verdict_used = true;
        SCORCH_RETURN_IF_ERROR(AppendInjected(v == Verdict::kCorrect ? " Yes." : " No.", SegmentKind::kVerify, 0));
        return AfterVerdict(v);
      }
      return Generate(SegmentKind::kVerify, 0, {"Yes.", "No."}, options_.verdict_max_new_tokens);
    }
    auto v = ParseYesNoVerdict(r.text);
    if (!v) {
      ++stats_.malformed_verdicts;
      return std::optional<TurnSpec>();
    }
    return AfterVerdict(*v);
  }

 private:
  StatusOr<std::optional<TurnSpec>> AfterVerdict(Verdict v) {
    stats_.verdicts.push_back(v);
    if (v == Verdict::kCorrect && !options_.two_turn_continue_after_yes) return std::optional<TurnSpec>();
    const std::string instruction = v == Verdict::kWrong ? options_.texts.two_turn_no_instruction
                                    : options_.two_turn_yes_paper_wording ? kTwoTurnYesInstructionPaper
                                                                          : kTwoTurnYesInstructionCode;
    SCORCH_RETURN_IF_ERROR(AppendUserTurn(instruction, 1));
    return Generate(SegmentKind::kAttempt, 1);
  }
};

// ---------------------------------------------------------------------------------------
class PostCompletionEpisode final : public Episode {
 public:
  using Episode::Episode;
  StatusOr<std::optional<TurnSpec>> Start() override {
    SCORCH_RETURN_IF_ERROR(AppendPrompt({{"system", options_.texts.pcl_system_prompt}, {"user", request_.prompt_text}}));
    return Generate(SegmentKind::kAttempt, 0, {options_.post_marker});
  }

 protected:
  StatusOr<std::optional<TurnSpec>> Next(const TurnSpec& spec, const GenerationResult& r) override {
    if (spec.kind == SegmentKind::kAttempt) {
      builder_.trajectory().turn_answers.push_back(ExtractAnswerTag(r.text));
      if (options_.training && r.finish == GenFinish::kStopString) return Generate(SegmentKind::kEvaluation, 0);
    }
    return std::optional<TurnSpec>();
  }
};

template <typename E>
class ProtocolOf final : public TurnProtocol {
 public:
  ProtocolOf(std::string name, const ProtocolOptions& options) : name_(std::move(name)), options_(options) {}
  std::string_view name() const override { return name_; }
  std::unique_ptr<Episode> NewEpisode(const proto::GenerateRequest& request,
                                      const model::Tokenizer& tokenizer) const override {
    return std::make_unique<E>(request, tokenizer, options_);
  }

 private:
  std::string name_;
  ProtocolOptions options_;
};

}  // namespace

std::vector<std::string> ProtocolNames() {
  return {"single_turn", "self_correct", "two_turn", "post_completion", "post_completion_train"};
}

StatusOr<std::unique_ptr<TurnProtocol>> CreateProtocol(std::string_view name, const ProtocolOptions& options) {
  SCORCH_RETURN_IF_ERROR(options.Validate());
  if (name == "single_turn" || name == "single") {
    return std::unique_ptr<TurnProtocol>(new ProtocolOf<SingleTurnEpisode>("single_turn", options));
  }
  if (name == "self_correct" || name == "srr") {
    return std::unique_ptr<TurnProtocol>(new ProtocolOf<SelfCorrectEpisode>("self_correct", options));
  }
  if (name == "two_turn") return std::unique_ptr<TurnProtocol>(new ProtocolOf<TwoTurnEpisode>("two_turn", options));
  if (name == "post_completion" || name == "pcl") {
    return std::unique_ptr<TurnProtocol>(new ProtocolOf<PostCompletionEpisode>("post_completion", options));
  }
  if (name == "post_completion_train") {
    // Training mode per request (the worker's own option stays as configured): the evaluation
    // and <reward> follow the POST marker, as PCL's GRPO and its evaluation metric need.
    ProtocolOptions train = options;
    train.training = true;
    return std::unique_ptr<TurnProtocol>(new ProtocolOf<PostCompletionEpisode>("post_completion_train", train));
  }
  return Status::InvalidArgument("unknown turn protocol '" + std::string(name) +
                                 "' (expected single_turn, self_correct, two_turn, post_completion or "
                                 "post_completion_train)");
}

}  // namespace scorch::rollout
