// Bodies of the reward-plane messages (reward_messages.h).
#include "codec_internal.h"

namespace scorch::proto::internal {

json ToJson(const GradeTurn& v) {
  json j = json::object();
  j["turn"] = v.turn;
  j["kind"] = EnumOf(v.kind);
  j["text"] = v.text;
  return j;
}

Status FromJson(const FieldReader& r, GradeTurn* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("turn", &v->turn));
  SCORCH_RETURN_IF_ERROR(r.Read("kind", &v->kind));
  return r.Read("text", &v->text);
}

json ToJson(const GradeItem& v) {
  json j = json::object();
  j["step"] = v.step;
  j["prompt_id"] = v.prompt_id;
  j["sample_idx"] = v.sample_idx;
  j["lease_id"] = v.lease_id;
  j["protocol"] = v.protocol;
  j["gold_answer"] = v.gold_answer;
  j["turns"] = ObjectListOf(v.turns);
  j["generated_token_ids"] = BlobOf(v.generated_token_ids);
  j["num_generated_tokens"] = v.num_generated_tokens;
  j["max_new_tokens"] = v.max_new_tokens;
  j["finish_reasons"] = EnumListOf(v.finish_reasons);
  return j;
}

Status FromJson(const FieldReader& r, GradeItem* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("step", &v->step));
  SCORCH_RETURN_IF_ERROR(r.Read("prompt_id", &v->prompt_id));
  SCORCH_RETURN_IF_ERROR(r.Read("sample_idx", &v->sample_idx));
  SCORCH_RETURN_IF_ERROR(r.Read("lease_id", &v->lease_id));
  SCORCH_RETURN_IF_ERROR(r.Read("protocol", &v->protocol));
  SCORCH_RETURN_IF_ERROR(r.Read("gold_answer", &v->gold_answer));
  SCORCH_RETURN_IF_ERROR(r.ReadObjectList("turns", &v->turns));
  SCORCH_RETURN_IF_ERROR(r.Read("generated_token_ids", &v->generated_token_ids));
  SCORCH_RETURN_IF_ERROR(r.Read("num_generated_tokens", &v->num_generated_tokens));
  SCORCH_RETURN_IF_ERROR(r.Read("max_new_tokens", &v->max_new_tokens));
  return r.Read("finish_reasons", &v->finish_reasons);
}

json ToJson(const GradeRequest& v) {
  json j = json::object();
  j["request_id"] = v.request_id;
  j["items"] = ObjectListOf(v.items);
  return j;
}

Status FromJson(const FieldReader& r, GradeRequest* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("request_id", &v->request_id));
  return r.ReadObjectList("items", &v->items);
}

json ToJson(const TurnGrade& v) {
  json j = json::object();
  j["turn"] = v.turn;
  j["verdict"] = EnumOf(v.verdict);
  j["reason"] = v.reason;
  return j;
}

Status FromJson(const FieldReader& r, TurnGrade* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("turn", &v->turn));
  SCORCH_RETURN_IF_ERROR(r.Read("verdict", &v->verdict));
  return r.Read("reason", &v->reason);
}

json ToJson(const GradeResult& v) {
  json j = json::object();
  j["step"] = v.step;
  j["prompt_id"] = v.prompt_id;
  j["sample_idx"] = v.sample_idx;
  j["lease_id"] = v.lease_id;
  j["turns"] = ObjectListOf(v.turns);
  j["final_verdict"] = EnumOf(v.final_verdict);
  j["final_reason"] = v.final_reason;
  j["reward"] = v.reward;
  json components = json::object();
  for (const auto& [name, value] : v.reward_components) components[name] = value;
  j["reward_components"] = std::move(components);
  j["dense_rewards"] = BlobOf(v.dense_rewards);
  return j;
}

Status FromJson(const FieldReader& r, GradeResult* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("step", &v->step));
  SCORCH_RETURN_IF_ERROR(r.Read("prompt_id", &v->prompt_id));
  SCORCH_RETURN_IF_ERROR(r.Read("sample_idx", &v->sample_idx));
  SCORCH_RETURN_IF_ERROR(r.Read("lease_id", &v->lease_id));
  SCORCH_RETURN_IF_ERROR(r.ReadObjectList("turns", &v->turns));
  SCORCH_RETURN_IF_ERROR(r.Read("final_verdict", &v->final_verdict));
  SCORCH_RETURN_IF_ERROR(r.Read("final_reason", &v->final_reason));
  SCORCH_RETURN_IF_ERROR(r.Read("reward", &v->reward));
  SCORCH_RETURN_IF_ERROR(r.Read("reward_components", &v->reward_components));
  return r.Read("dense_rewards", &v->dense_rewards);
}

json ToJson(const GradeReply& v) {
  json j = json::object();
  j["request_id"] = v.request_id;
  j["items"] = ObjectListOf(v.items);
  return j;
}

Status FromJson(const FieldReader& r, GradeReply* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("request_id", &v->request_id));
  return r.ReadObjectList("items", &v->items);
}

}  // namespace scorch::proto::internal
