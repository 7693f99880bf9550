// Bodies of the rollout-plane messages (rollout_messages.h). Numeric arrays are bin blobs.
#include "codec_internal.h"

namespace scorch::proto::internal {

json ToJson(const SamplingParams& v) {
  json j = json::object();
  j["temperature"] = v.temperature;
  j["top_p"] = v.top_p;
  j["top_k"] = v.top_k;
  j["max_new_tokens"] = v.max_new_tokens;
  j["seed"] = v.seed;
  if (v.continuation_seed) j["continuation_seed"] = *v.continuation_seed;
  j["stop_strings"] = v.stop_strings;
  j["stop_token_ids"] = BlobOf(v.stop_token_ids);
  return j;
}

Status FromJson(const FieldReader& r, SamplingParams* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("temperature", &v->temperature));
  SCORCH_RETURN_IF_ERROR(r.Read("top_p", &v->top_p));
  SCORCH_RETURN_IF_ERROR(r.Read("top_k", &v->top_k));
  SCORCH_RETURN_IF_ERROR(r.Read("max_new_tokens", &v->max_new_tokens));
  SCORCH_RETURN_IF_ERROR(r.Read("seed", &v->seed));
  SCORCH_RETURN_IF_ERROR(r.ReadOptional("continuation_seed", &v->continuation_seed));
  SCORCH_RETURN_IF_ERROR(r.Read("stop_strings", &v->stop_strings));
  return r.Read("stop_token_ids", &v->stop_token_ids);
}

json ToJson(const GenerateRequest& v) {
  json j = json::object();
  j["step"] = v.step;
  j["prompt_id"] = v.prompt_id;
  j["sample_idx"] = v.sample_idx;
  j["lease_id"] = v.lease_id;
  j["deadline_unix_ms"] = v.deadline_unix_ms;
  j["prompt_text"] = v.prompt_text;
  j["prompt_token_ids"] = BlobOf(v.prompt_token_ids);
  j["protocol"] = v.protocol;
  j["sampling"] = ToJson(v.sampling);
  if (v.forced_verdict) j["forced_verdict"] = EnumOf(*v.forced_verdict);
  if (v.gold_answer) j["gold_answer"] = *v.gold_answer;
  if (v.score_head) j["score_head"] = *v.score_head;
  return j;
}

Status FromJson(const FieldReader& r, GenerateRequest* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("step", &v->step));
  SCORCH_RETURN_IF_ERROR(r.Read("prompt_id", &v->prompt_id));
  SCORCH_RETURN_IF_ERROR(r.Read("sample_idx", &v->sample_idx));
  SCORCH_RETURN_IF_ERROR(r.Read("lease_id", &v->lease_id));
  SCORCH_RETURN_IF_ERROR(r.Read("deadline_unix_ms", &v->deadline_unix_ms));
  SCORCH_RETURN_IF_ERROR(r.Read("prompt_text", &v->prompt_text));
  SCORCH_RETURN_IF_ERROR(r.Read("prompt_token_ids", &v->prompt_token_ids));
  SCORCH_RETURN_IF_ERROR(r.Read("protocol", &v->protocol));
  SCORCH_RETURN_IF_ERROR(r.ReadObject("sampling", &v->sampling));
  SCORCH_RETURN_IF_ERROR(r.ReadOptional("forced_verdict", &v->forced_verdict));
  SCORCH_RETURN_IF_ERROR(r.ReadOptional("gold_answer", &v->gold_answer));
  return r.ReadOptional("score_head", &v->score_head);
}

json ToJson(const Segment& v) {
  json j = json::object();
  j["role"] = EnumOf(v.role);
  j["turn"] = v.turn;
  j["kind"] = EnumOf(v.kind);
  j["begin"] = v.begin;
  j["end"] = v.end;
  j["text"] = v.text;
  return j;
}

Status FromJson(const FieldReader& r, Segment* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("role", &v->role));
  SCORCH_RETURN_IF_ERROR(r.Read("turn", &v->turn));
  SCORCH_RETURN_IF_ERROR(r.Read("kind", &v->kind));
  SCORCH_RETURN_IF_ERROR(r.Read("begin", &v->begin));
  SCORCH_RETURN_IF_ERROR(r.Read("end", &v->end));
  return r.Read("text", &v->text);
}

json ToJson(const Trajectory& v) {
  json j = json::object();
  j["step"] = v.step;
  j["prompt_id"] = v.prompt_id;
  j["sample_idx"] = v.sample_idx;
  j["lease_id"] = v.lease_id;
  j["policy_version"] = v.policy_version;
  j["token_ids"] = BlobOf(v.token_ids);
  j["logprobs"] = BlobOf(v.logprobs);
  j["trainable_mask"] = BlobOf(v.trainable_mask);
  j["segments"] = ObjectListOf(v.segments);
  j["finish_reasons"] = EnumListOf(v.finish_reasons);
  j["turn_answers"] = v.turn_answers;
  if (v.hidden_state_score) j["hidden_state_score"] = *v.hidden_state_score;
  return j;
}

Status FromJson(const FieldReader& r, Trajectory* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("step", &v->step));
  SCORCH_RETURN_IF_ERROR(r.Read("prompt_id", &v->prompt_id));
  SCORCH_RETURN_IF_ERROR(r.Read("sample_idx", &v->sample_idx));
  SCORCH_RETURN_IF_ERROR(r.Read("lease_id", &v->lease_id));
  SCORCH_RETURN_IF_ERROR(r.Read("policy_version", &v->policy_version));
  SCORCH_RETURN_IF_ERROR(r.Read("token_ids", &v->token_ids));
  SCORCH_RETURN_IF_ERROR(r.Read("logprobs", &v->logprobs));
  SCORCH_RETURN_IF_ERROR(r.Read("trainable_mask", &v->trainable_mask));
  SCORCH_RETURN_IF_ERROR(r.ReadObjectList("segments", &v->segments));
  SCORCH_RETURN_IF_ERROR(r.Read("finish_reasons", &v->finish_reasons));
  SCORCH_RETURN_IF_ERROR(r.Read("turn_answers", &v->turn_answers));
  return r.ReadOptional("hidden_state_score", &v->hidden_state_score);
}

json ToJson(const TrainSample& v) {
  json j = json::object();
  j["trajectory"] = ToJson(v.trajectory);
  j["reward"] = v.reward;
  json components = json::object();
  for (const auto& [name, value] : v.reward_components) components[name] = value;
  j["reward_components"] = std::move(components);
  j["dense_rewards"] = BlobOf(v.dense_rewards);
  if (!v.mask_rule.empty()) j["mask_rule"] = v.mask_rule;
  if (v.pair_index >= 0) {  // absent for unpaired samples: older peers read such batches unchanged
    j["pair_index"] = v.pair_index;
    j["pair_chosen"] = v.pair_chosen;
  }
  if (!v.sft_track.empty()) {  // absent for the stage's own samples, as above
    j["sft_track"] = v.sft_track;
    j["sft_weight"] = v.sft_weight;
  }
  return j;
}

Status FromJson(const FieldReader& r, TrainSample* v) {
  SCORCH_RETURN_IF_ERROR(r.ReadObject("trajectory", &v->trajectory));
  SCORCH_RETURN_IF_ERROR(r.Read("reward", &v->reward));
  SCORCH_RETURN_IF_ERROR(r.Read("reward_components", &v->reward_components));
  SCORCH_RETURN_IF_ERROR(r.Read("dense_rewards", &v->dense_rewards));
  std::optional<std::string> rule;
  SCORCH_RETURN_IF_ERROR(r.ReadOptional("mask_rule", &rule));
  v->mask_rule = rule.value_or("");
  std::optional<int32_t> pair;
  SCORCH_RETURN_IF_ERROR(r.ReadOptional("pair_index", &pair));
  v->pair_index = pair.value_or(-1);
  if (pair) SCORCH_RETURN_IF_ERROR(r.Read("pair_chosen", &v->pair_chosen));
  std::optional<std::string> track;
  SCORCH_RETURN_IF_ERROR(r.ReadOptional("sft_track", &track));
  v->sft_track = track.value_or("");
  if (track) return r.Read("sft_weight", &v->sft_weight);
  return Status::Ok();
}

json ToJson(const TrainBatch& v) {
  json j = json::object();
  j["step"] = v.step;
  j["stage"] = v.stage;
  j["samples"] = ObjectListOf(v.samples);
  if (v.checkpoint_state) j["checkpoint_state"] = *v.checkpoint_state;
  return j;
}

Status FromJson(const FieldReader& r, TrainBatch* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("step", &v->step));
  SCORCH_RETURN_IF_ERROR(r.Read("stage", &v->stage));
  SCORCH_RETURN_IF_ERROR(r.ReadObjectList("samples", &v->samples));
  return r.ReadOptional("checkpoint_state", &v->checkpoint_state);
}

}  // namespace scorch::proto::internal
