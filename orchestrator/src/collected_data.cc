// JSONL of the SRR training sets; see collected_data.h.
#include "scorch/orchestrator/collected_data.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "scorch/common/atomic_file.h"
#include "scorch/common/proto/message.h"

namespace scorch::orchestrator {
namespace {

using nlohmann::json;

json SegmentJson(const proto::Segment& s) {
  return {{"role", proto::ChatRoleName(s.role)}, {"turn", s.turn},   {"kind", proto::SegmentKindName(s.kind)},
          {"begin", s.begin},                     {"end", s.end},     {"text", s.text}};
}

StatusOr<proto::Segment> SegmentFrom(const json& j) {
  proto::Segment s;
  try {
    auto role = proto::ParseChatRole(j.at("role").get<std::string>());
    auto kind = proto::ParseSegmentKind(j.at("kind").get<std::string>());
    if (!role) return Status::InvalidArgument("segment role '" + j.at("role").get<std::string>() + "' is unknown");
    if (!kind) return Status::InvalidArgument("segment kind '" + j.at("kind").get<std::string>() + "' is unknown");
    s.role = *role;
    s.kind = *kind;
    s.turn = j.at("turn").get<int32_t>();
    s.begin = j.at("begin").get<int32_t>();
    s.end = j.at("end").get<int32_t>();
    s.text = j.value("text", "");
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("bad segment: ") + e.what());
  }
  return s;
}

}  // namespace

Status WriteCollected(const std::filesystem::path& path, const std::vector<CollectedSample>& samples) {
  std::string out;
  for (const auto& s : samples) {
    json segments = json::array();
    for (const auto& seg : s.trajectory.segments) segments.push_back(SegmentJson(seg));
    json line = {{"set", s.set},
                 {"prompt_id", s.trajectory.prompt_id},
                 {"problem", s.problem},
                 {"gold", s.gold},
                 {"token_ids", s.trajectory.token_ids},
                 {"trainable_mask", s.trajectory.trainable_mask},
                 {"segments", std::move(segments)},
                 {"turn_answers", s.trajectory.turn_answers}};
    out += line.dump(-1, ' ', false, json::error_handler_t::replace);
    out += '\n';
  }
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  return AtomicWriteFile(path, out);
}

StatusOr<std::vector<proto::TrainSample>> ReadCollected(const std::filesystem::path& path) {
  SCORCH_ASSIGN_OR_RETURN(std::string text, ReadFileToString(path));
  std::vector<proto::TrainSample> samples;
  std::istringstream in(text);
  std::string line;
  int64_t number = 0;
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    const std::string where = path.string() + ":" + std::to_string(number) + ": ";
    json j = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.is_object()) return Status::InvalidArgument(where + "not a JSON object");
    proto::TrainSample sample;
    try {
      const std::string set = j.at("set").get<std::string>();
      if (set != "d1" && set != "d2" && set != "d3") {
        return Status::InvalidArgument(where + "set '" + set + "' is not d1, d2 or d3");
      }
      sample.mask_rule = "srr_" + set;
      auto& t = sample.trajectory;
      t.prompt_id = j.at("prompt_id").get<int64_t>();
      t.token_ids = j.at("token_ids").get<std::vector<int32_t>>();
      t.trainable_mask = j.at("trainable_mask").get<std::vector<uint8_t>>();
      t.logprobs.assign(t.token_ids.size(), 0.0f);
      t.turn_answers = j.value("turn_answers", std::vector<std::string>{});
      for (const auto& sj : j.at("segments")) {
        auto seg = SegmentFrom(sj);
        if (!seg.ok()) return Status::InvalidArgument(where + seg.status().message());
        t.segments.push_back(std::move(*seg));
      }
    } catch (const json::exception& e) {
      return Status::InvalidArgument(where + e.what());
    }
    Status valid = proto::Validate(proto::Message(proto::Trajectory(sample.trajectory)));
    if (!valid.ok()) return Status::InvalidArgument(where + valid.message());
    samples.push_back(std::move(sample));
  }
  return samples;
}

}  // namespace scorch::orchestrator
