// Bodies of the control-plane messages (control_messages.h).
#include "codec_internal.h"

namespace scorch::proto::internal {

json ToJson(const Hello& v) {
  json j = json::object();
  j["role"] = EnumOf(v.role);
  j["rank"] = v.rank;
  j["capacity"] = v.capacity;
  j["policy_version"] = v.policy_version;
  if (v.token) j["token"] = *v.token;
  j["pid"] = v.pid;
  j["host"] = v.host;
  return j;
}

Status FromJson(const FieldReader& r, Hello* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("role", &v->role));
  SCORCH_RETURN_IF_ERROR(r.Read("rank", &v->rank));
  SCORCH_RETURN_IF_ERROR(r.Read("capacity", &v->capacity));
  SCORCH_RETURN_IF_ERROR(r.Read("policy_version", &v->policy_version));
  SCORCH_RETURN_IF_ERROR(r.ReadOptional("token", &v->token));
  SCORCH_RETURN_IF_ERROR(r.Read("pid", &v->pid));
  return r.Read("host", &v->host);
}

json ToJson(const Heartbeat& v) {
  json j = json::object();
  j["seq"] = v.seq;
  j["sent_unix_ms"] = v.sent_unix_ms;
  j["in_flight"] = v.in_flight;
  j["policy_version"] = v.policy_version;
  return j;
}

Status FromJson(const FieldReader& r, Heartbeat* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("seq", &v->seq));
  SCORCH_RETURN_IF_ERROR(r.Read("sent_unix_ms", &v->sent_unix_ms));
  SCORCH_RETURN_IF_ERROR(r.Read("in_flight", &v->in_flight));
  return r.Read("policy_version", &v->policy_version);
}

json ToJson(const StepStats& v) {
  json j = json::object();
  j["step"] = v.step;
  json metrics = json::object();
  for (const auto& [name, value] : v.metrics) metrics[name] = value;
  j["metrics"] = std::move(metrics);
  return j;
}

Status FromJson(const FieldReader& r, StepStats* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("step", &v->step));
  return r.Read("metrics", &v->metrics);
}

json ToJson(const WeightsAnnounce& v) {
  json j = json::object();
  j["version"] = v.version;
  j["transport"] = EnumOf(v.transport);
  j["location"] = v.location;
  j["size_bytes"] = v.size_bytes;
  j["checksum"] = v.checksum;
  return j;
}

Status FromJson(const FieldReader& r, WeightsAnnounce* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("version", &v->version));
  SCORCH_RETURN_IF_ERROR(r.Read("transport", &v->transport));
  SCORCH_RETURN_IF_ERROR(r.Read("location", &v->location));
  SCORCH_RETURN_IF_ERROR(r.Read("size_bytes", &v->size_bytes));
  return r.Read("checksum", &v->checksum);
}

json ToJson(const Error& v) {
  json j = json::object();
  j["code"] = v.code;
  j["message"] = v.message;
  j["in_reply_to"] = v.in_reply_to;
  return j;
}

Status FromJson(const FieldReader& r, Error* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("code", &v->code));
  SCORCH_RETURN_IF_ERROR(r.Read("message", &v->message));
  return r.Read("in_reply_to", &v->in_reply_to);
}

json ToJson(const Shutdown& v) {
  json j = json::object();
  j["reason"] = v.reason;
  j["drain"] = v.drain;
  return j;
}

Status FromJson(const FieldReader& r, Shutdown* v) {
  SCORCH_RETURN_IF_ERROR(r.Read("reason", &v->reason));
  return r.Read("drain", &v->drain);
}

}  // namespace scorch::proto::internal
