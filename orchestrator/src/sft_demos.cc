// SFT demonstrations in the turn protocols' exact token layout; see sft_demos.h.
#include "scorch/orchestrator/sft_demos.h"

#include <algorithm>
#include <array>
#include <optional>
#include <utility>
#include <vector>

#include "scorch/model/chat_template.h"

namespace scorch::orchestrator {
namespace {

using proto::ChatRole;
using proto::SegmentKind;

uint64_t Mix(uint64_t x) {  // splitmix64 finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

// Appends token runs with their segments, keeping the trajectory's invariants.
class DemoWriter {
 public:
  DemoWriter(const model::Tokenizer& tokenizer) : tokenizer_(tokenizer) {}

  void Tokens(const std::vector<model::TokenId>& ids, ChatRole role, SegmentKind kind, int32_t turn, bool trainable) {
    if (ids.empty()) return;
    auto& t = traj_.token_ids;
    const auto begin = static_cast<int32_t>(t.size());
    t.insert(t.end(), ids.begin(), ids.end());
    traj_.logprobs.insert(traj_.logprobs.end(), ids.size(), 0.0f);
    traj_.trainable_mask.insert(traj_.trainable_mask.end(), ids.size(), trainable ? 1 : 0);
    proto::Segment s;
    s.role = role;
    s.kind = kind;
    s.turn = turn;
    s.begin = begin;
    s.end = static_cast<int32_t>(t.size());
    auto text = tokenizer_.Decode(ids);
    s.text = text.ok() ? *text : "";
    traj_.segments.push_back(std::move(s));
  }

  Status Text(const std::string& text, ChatRole role, SegmentKind kind, int32_t turn, bool trainable) {
    SCORCH_ASSIGN_OR_RETURN(auto ids, tokenizer_.Encode(text));
    Tokens(ids, role, kind, turn, trainable);
    return Status::Ok();
  }

  // The protocol's user turn between generations (Episode::AppendUserTurn).
  Status UserTurn(const std::string& instruction, int32_t turn) {
    std::string text;
    if (!EndsWithImEnd()) text += model::kImEnd;
    text += "\n";
    text += model::kImStart;
    text += "user\n" + instruction + model::kImEnd + "\n" + model::kImStart + "assistant\n";
    return Text(text, ChatRole::kUser, SegmentKind::kInstruction, turn, false);
  }

  // A generated attempt: the text, then <|im_end|> (the model's end of turn); trainable unless
  // it is a wrong attempt shown as context.
  Status Attempt(const std::string& text, int32_t turn, const std::string& answer, bool trainable = true) {
    SCORCH_ASSIGN_OR_RETURN(auto ids, tokenizer_.Encode(text + model::kImEnd));
    Tokens(ids, ChatRole::kAssistant, SegmentKind::kAttempt, turn, trainable);
    traj_.finish_reasons.push_back(proto::FinishReason::kEos);
    traj_.turn_answers.push_back(answer);
    return Status::Ok();
  }

  // A generated verdict, after optional verification reasoning: ends exactly at the stop string.
  Status Verdict(const std::string& reasoning, const char* verdict, int32_t turn) {
    const std::string text = reasoning.empty() ? std::string(verdict) : reasoning + " " + verdict;
    SCORCH_RETURN_IF_ERROR(Text(text, ChatRole::kAssistant, SegmentKind::kVerify, turn, true));
    traj_.finish_reasons.push_back(proto::FinishReason::kStop);
    // Where the verdict string's own tokens are: the segment's tail, when the tokenizer splits
    // the text there (it encodes the whole text at once; a merge across the boundary would
    // leave no clean tail, and then the whole segment counts as the verdict).
    SCORCH_ASSIGN_OR_RETURN(auto word, tokenizer_.Encode(verdict));
    const proto::Segment& seg = traj_.segments.back();
    const auto n = static_cast<int32_t>(word.size());
    const bool tail = n <= seg.end - seg.begin &&
                      std::equal(word.begin(), word.end(), traj_.token_ids.begin() + (seg.end - n));
    verdict_words_.emplace_back(tail ? seg.end - n : seg.begin, seg.end);
    return Status::Ok();
  }

  // Leaves only the verdict strings trainable: attempts, corrections and verification
  // reasoning become context.
  void TrainVerdictWordsOnly() {
    std::vector<uint8_t> keep(traj_.trainable_mask.size(), 0);
    for (const auto& [begin, end] : verdict_words_) {
      for (int32_t i = begin; i < end; ++i) keep[static_cast<size_t>(i)] = 1;
    }
    traj_.trainable_mask = std::move(keep);
  }

  proto::Trajectory Take() { return std::move(traj_); }
  const model::Tokenizer& tokenizer() const { return tokenizer_; }
  // Ends a generated turn that Text() wrote: its finish reason and, for an attempt, its answer.
  void EndTurn(proto::FinishReason reason, std::optional<std::string> answer) {
    traj_.finish_reasons.push_back(reason);
    if (answer) traj_.turn_answers.push_back(std::move(*answer));
  }

 private:
  bool EndsWithImEnd() const {
    auto id = tokenizer_.TokenToId(model::kImEnd);
    return id && !traj_.token_ids.empty() && traj_.token_ids.back() == *id;
  }

  const model::Tokenizer& tokenizer_;
  proto::Trajectory traj_;
  std::vector<std::pair<int32_t, int32_t>> verdict_words_;  // token ranges [begin, end)
};

}  // namespace

StatusOr<std::string> CorruptFinalStep(const std::string& solution, const std::string& answer, uint64_t seed) {
  const std::string boxed = "\\boxed{" + answer + "}";
  const size_t box = solution.rfind(boxed);
  const std::string result = "= " + answer;
  const size_t eq = box == std::string::npos ? std::string::npos : solution.rfind(result, box);
  if (box == std::string::npos || eq == std::string::npos) {
    return Status::InvalidArgument("solution \"" + solution + "\" has no final \"= " + answer + "\" and \"" + boxed +
                                   "\" to corrupt");
  }
  long long value = 0;
  try {
    value = std::stoll(answer);
  } catch (const std::exception&) {
    return Status::InvalidArgument("answer \"" + answer + "\" is not an integer");
  }
  static constexpr std::array<int, 8> kSlips = {1, -1, 2, -2, 3, -3, 10, -10};
  long long wrong = value + kSlips[Mix(seed) % kSlips.size()];
  if (wrong < 0 && value >= 0) wrong = value + 1;
  const std::string w = std::to_string(wrong);
  std::string out = solution;
  out.replace(box, boxed.size(), "\\boxed{" + w + "}");
  out.replace(eq, result.size(), "= " + w);
  return out;
}

namespace {

// The worked steps without the closing "The answer is \boxed{…}." sentence.
std::string StepsOf(const std::string& solution) {
  const size_t cut = solution.rfind(" The answer is");
  return cut == std::string::npos ? solution : solution.substr(0, cut);
}

StatusOr<proto::Trajectory> PclDemonstration(DemoWriter& w, const model::PromptTexts& texts, const Prompt& prompt,
                                             const DemoOptions& options) {
  const std::vector<model::ChatMessage> messages = {{"system", texts.pcl_system_prompt}, {"user", prompt.problem}};
  SCORCH_ASSIGN_OR_RETURN(auto ids, model::EncodeChatMl(w.tokenizer(), messages));
  w.Tokens(ids, ChatRole::kUser, SegmentKind::kPrompt, 0, false);
  std::string solution = prompt.solution;
  std::string answer = prompt.answer;
  if (options.wrong_first_attempt) {
    SCORCH_ASSIGN_OR_RETURN(solution, CorruptFinalStep(prompt.solution, prompt.answer, options.seed));
    const size_t open = solution.rfind("\\boxed{");
    answer = solution.substr(open + 7, solution.find('}', open) - open - 7);
  }
  // The attempt ends exactly at the POST marker, as generation stops there. A wrong attempt is
  // context only: the demonstration teaches judging it, never writing it (PCL's evaluation track).
  SCORCH_RETURN_IF_ERROR(w.Text("<think>" + StepsOf(solution) + "</think>\n<answer>" + answer + "</answer>",
                                ChatRole::kAssistant, SegmentKind::kAttempt, 0, !options.wrong_first_attempt));
  w.EndTurn(proto::FinishReason::kStop, answer);
  const bool right = !options.wrong_first_attempt;
  // Short on purpose: the evaluation must fit a turn's token budget with its <reward> list.
  const std::string evaluation = std::string("\n<evaluation>") + answer + (right ? " is right." : " is wrong.") +
                                 "</evaluation>\n<reward>[" + (right ? "1" : "0") + ", 1]</reward>" + model::kImEnd;
  SCORCH_RETURN_IF_ERROR(w.Text(evaluation, ChatRole::kAssistant, SegmentKind::kEvaluation, 0, true));
  w.EndTurn(proto::FinishReason::kEos, std::nullopt);
  return w.Take();
}

}  // namespace

DemoOptions StageDemoOptions(const config::StageConfig& stage, uint64_t seed) {
  DemoOptions demo;
  demo.protocol = stage.protocol;
  demo.seed = seed;
  demo.recheck = stage.demo_recheck;
  // Two independent draws from one seed: the wrong-attempt one as it always was (seed % 10⁴,
  // so earlier runs' demonstrations are unchanged), the verdict-only one from a remix of it.
  auto in_share = [](uint64_t draw, double fraction) {
    return static_cast<double>(draw % 10000) < fraction * 10000.0;
  };
  const bool judged = stage.protocol == "self_correct" || stage.protocol.rfind("post_completion", 0) == 0;
  demo.wrong_first_attempt = judged && in_share(seed, stage.demo_wrong_fraction);
  demo.verdict_only =
      stage.protocol == "self_correct" && in_share(Mix(seed ^ 0x7e4d1c7ULL), stage.demo_verdict_only_fraction);
  return demo;
}

StatusOr<proto::Trajectory> BuildDemonstration(const model::Tokenizer& tokenizer, const model::PromptTexts& texts,
                                               const Prompt& prompt, const DemoOptions& options) {
  if (prompt.solution.empty()) {
    return Status::InvalidArgument("prompt " + prompt.id + " has no worked solution to demonstrate");
  }
  DemoWriter w(tokenizer);
  if (options.protocol == "single_turn") {
    const std::vector<model::ChatMessage> messages = {{"system", texts.eval_system_prompt},
                                                      {"user", prompt.problem + texts.eval_user_suffix}};
    SCORCH_ASSIGN_OR_RETURN(auto ids, model::EncodeChatMl(tokenizer, messages));
    w.Tokens(ids, ChatRole::kUser, SegmentKind::kPrompt, 0, false);
    SCORCH_RETURN_IF_ERROR(w.Attempt(prompt.solution, 0, prompt.answer));
    return w.Take();
  }
  if (options.protocol == "post_completion" || options.protocol == "post_completion_train") {
    return PclDemonstration(w, texts, prompt, options);
  }
  if (options.protocol != "self_correct") {
    return Status::InvalidArgument("demonstrations exist for single_turn, self_correct and post_completion, not '" +
                                   options.protocol + "'");
  }
  const std::vector<model::ChatMessage> messages = {{"system", texts.srr_system_prompt},
                                                    {"user", prompt.problem + texts.srr_user_suffix}};
  SCORCH_ASSIGN_OR_RETURN(auto ids, model::EncodeChatMl(tokenizer, messages));
  w.Tokens(ids, ChatRole::kUser, SegmentKind::kPrompt, 0, false);
  // The verification reasoning, when asked for: the right steps, whatever the attempt said,
  // then the attempt's answer restated beside the result, where the verdict compares them.
  auto recheck = [&](const std::string& attempt_answer) {
    return options.recheck ? StepsOf(prompt.solution) + " Boxed " + attempt_answer + "." : std::string();
  };
  auto take = [&]() {
    if (options.verdict_only) w.TrainVerdictWordsOnly();
    return w.Take();
  };
  if (!options.wrong_first_attempt) {
    SCORCH_RETURN_IF_ERROR(w.Attempt(prompt.solution, 0, prompt.answer));
    SCORCH_RETURN_IF_ERROR(w.UserTurn(texts.self_eval_instruction, 0));
    SCORCH_RETURN_IF_ERROR(w.Verdict(recheck(prompt.answer), model::kVerifyCorrect, 0));
    return take();
  }
  SCORCH_ASSIGN_OR_RETURN(std::string wrong, CorruptFinalStep(prompt.solution, prompt.answer, options.seed));
  const size_t open = wrong.rfind("\\boxed{");
  const std::string wrong_answer = wrong.substr(open + 7, wrong.find('}', open) - open - 7);
  // The wrong a¹ is context, as in D1 (ALGORITHMS §4.4): the demonstration teaches judging and
  // correcting it, never writing it.
  SCORCH_RETURN_IF_ERROR(w.Attempt(wrong, 0, wrong_answer, /*trainable=*/false));
  SCORCH_RETURN_IF_ERROR(w.UserTurn(texts.self_eval_instruction, 0));
  SCORCH_RETURN_IF_ERROR(w.Verdict(recheck(wrong_answer), model::kVerifyWrong, 0));
  SCORCH_RETURN_IF_ERROR(w.UserTurn(texts.correction_instruction, 1));
  SCORCH_RETURN_IF_ERROR(w.Attempt(prompt.solution, 1, prompt.answer));
  SCORCH_RETURN_IF_ERROR(w.UserTurn(texts.self_eval_instruction, 1));
  SCORCH_RETURN_IF_ERROR(w.Verdict(recheck(prompt.answer), model::kVerifyCorrect, 1));
  return take();
}

namespace {

// Keeps the trainable tokens of `kind`'s segments, and no others.
void TrainOnly(proto::Trajectory* t, proto::SegmentKind kind) {
  std::vector<uint8_t> keep(t->trainable_mask.size(), 0);
  for (const auto& seg : t->segments) {
    if (seg.kind != kind) continue;
    for (int32_t i = seg.begin; i < seg.end && i < static_cast<int32_t>(keep.size()); ++i) {
      keep[static_cast<size_t>(i)] = t->trainable_mask[static_cast<size_t>(i)];
    }
  }
  t->trainable_mask = std::move(keep);
}

}  // namespace

StatusOr<std::vector<proto::TrainSample>> PclTrackSamples(const model::Tokenizer& tokenizer,
                                                          const model::PromptTexts& texts, const Prompt& prompt,
                                                          const PclTrackOptions& options) {
  if (options.protocol.rfind("post_completion", 0) != 0) {
    return Status::InvalidArgument("PCL track samples need a post_completion protocol, not '" + options.protocol + "'");
  }
  std::vector<proto::TrainSample> out;
  auto add = [&](const char* track, double weight, bool wrong, proto::SegmentKind trained) -> Status {
    if (weight <= 0.0) return Status::Ok();
    DemoOptions demo;
    demo.protocol = options.protocol;
    demo.wrong_first_attempt = wrong;
    demo.seed = options.seed;
    SCORCH_ASSIGN_OR_RETURN(proto::Trajectory t, BuildDemonstration(tokenizer, texts, prompt, demo));
    TrainOnly(&t, trained);
    proto::TrainSample s;
    s.trajectory = std::move(t);
    s.sft_track = track;
    s.sft_weight = weight;
    out.push_back(std::move(s));
    return Status::Ok();
  };
  SCORCH_RETURN_IF_ERROR(add("reason", options.reason_weight, false, proto::SegmentKind::kAttempt));
  SCORCH_RETURN_IF_ERROR(add("eval", options.eval_weight, options.wrong_eval_attempt, proto::SegmentKind::kEvaluation));
  return out;
}

}  // namespace scorch::orchestrator
