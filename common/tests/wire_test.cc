// Wire protocol tests: every message round-trips exactly, and each kind of malformed input
// is rejected with an error that names what is wrong.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "scorch/common/proto/message.h"
#include "scorch/common/proto/msgpack_scan.h"
#include "wire_samples.h"

namespace scorch::proto {
namespace {

using json = nlohmann::json;
using ::testing::HasSubstr;

std::string Encode(const Message& m) {
  auto bytes = EncodeMessage(m);
  EXPECT_TRUE(bytes.ok()) << bytes.status();
  return bytes.ok() ? *bytes : std::string();
}

// Decodes an encoded message to json, lets `edit` change it, and re-encodes the raw msgpack.
template <typename F>
std::string Tamper(const Message& m, F edit) {
  json j = json::from_msgpack(Encode(m));
  edit(j);
  std::string out;
  json::to_msgpack(j, out);
  return out;
}

void ExpectError(std::string_view bytes, StatusCode code, std::string_view substring) {
  auto decoded = DecodeMessage(bytes);
  ASSERT_FALSE(decoded.ok()) << "decoded a malformed message";
  EXPECT_EQ(decoded.status().code(), code) << decoded.status();
  EXPECT_THAT(decoded.status().message(), HasSubstr(std::string(substring)));
}

TEST(WireTest, EveryMessageRoundTripsExactly) {
  for (const Message& m : testing::AllSampleMessages()) {
    SCOPED_TRACE(std::string(MessageTypeName(m)));
    const std::string bytes = Encode(m);
    auto decoded = DecodeMessage(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->index(), m.index());
    EXPECT_TRUE(*decoded == m);
    // Deterministic: re-encoding the decoded message gives the same bytes.
    EXPECT_EQ(Encode(*decoded), bytes);
  }
}

TEST(WireTest, DefaultMessagesRoundTrip) {
  std::vector<Message> defaults = {Hello{},      Heartbeat{},  Trajectory{}, GradeRequest{},
                                   GradeReply{}, TrainBatch{}, StepStats{},  WeightsAnnounce{},
                                   Error{},      Shutdown{}};
  GenerateRequest g;  // defaults are valid sampling params
  defaults.push_back(g);
  for (const Message& m : defaults) {
    SCOPED_TRACE(std::string(MessageTypeName(m)));
    auto decoded = DecodeMessage(Encode(m));
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_TRUE(*decoded == m);
  }
}

TEST(WireTest, OptionalFieldsAbsentStayAbsent) {
  Hello h = testing::SampleHello();
  h.token.reset();
  Trajectory t = testing::SampleTrajectory(8);
  t.hidden_state_score.reset();
  GenerateRequest g = testing::SampleGenerateRequest();
  g.forced_verdict.reset();
  g.gold_answer.reset();
  g.score_head.reset();
  for (const Message& m : std::vector<Message>{h, t, g}) {
    const std::string bytes = Encode(m);
    const json body = json::from_msgpack(bytes)["body"];
    EXPECT_FALSE(body.contains("token"));
    EXPECT_FALSE(body.contains("hidden_state_score"));
    EXPECT_FALSE(body.contains("forced_verdict"));
    EXPECT_FALSE(body.contains("score_head"));
    auto decoded = DecodeMessage(bytes);
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_TRUE(*decoded == m);
  }
}

TEST(WireTest, UnsetContinuationSeedAndUnpairedSamplesLeaveNoFields) {
  GenerateRequest g = testing::SampleGenerateRequest();
  EXPECT_TRUE(json::from_msgpack(Encode(g))["body"]["sampling"].contains("continuation_seed"));
  g.sampling.continuation_seed.reset();
  const std::string bytes = Encode(g);
  EXPECT_FALSE(json::from_msgpack(bytes)["body"]["sampling"].contains("continuation_seed"));
  auto decoded = DecodeMessage(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == Message(g));
  const json sample = json::from_msgpack(Encode(testing::SampleTrainBatch()))["body"]["samples"][0];
  EXPECT_FALSE(sample.contains("pair_index"));
  EXPECT_FALSE(sample.contains("pair_chosen"));
}

TEST(WireTest, PairedSamplesRoundTripWithTheirPairFields) {
  const TrainBatch b = testing::SampleMdpoTrainBatch();
  const std::string bytes = Encode(b);
  const json samples = json::from_msgpack(bytes)["body"]["samples"];
  EXPECT_EQ(samples[0]["pair_index"], 1);
  EXPECT_EQ(samples[0]["pair_chosen"], true);
  EXPECT_EQ(samples[1]["pair_chosen"], false);
  auto decoded = DecodeMessage(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const auto& got = std::get<TrainBatch>(*decoded);
  ASSERT_EQ(got.samples.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(got.samples[i].pair_index, b.samples[i].pair_index) << i;
    EXPECT_EQ(got.samples[i].pair_chosen, b.samples[i].pair_chosen) << i;
  }
  EXPECT_TRUE(got == b);
}

TEST(WireTest, SftTrackDemonstrationsRoundTripAndBadOnesAreNamed) {
  TrainBatch b = testing::SampleTrainBatch();
  ASSERT_GE(b.samples.size(), 1u);
  b.samples[0].sft_track = "eval";
  b.samples[0].sft_weight = 0.01;
  const std::string bytes = Encode(b);
  const json samples = json::from_msgpack(bytes)["body"]["samples"];
  EXPECT_EQ(samples[0]["sft_track"], "eval");
  if (samples.size() > 1) {
    EXPECT_FALSE(samples[1].contains("sft_track"));
  }
  auto decoded = DecodeMessage(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(std::get<TrainBatch>(*decoded) == b);
  const Message m = b;
  ExpectError(Tamper(m, [](json& j) { j["body"]["samples"][0]["sft_track"] = "poetry"; }),
              StatusCode::kInvalidArgument, "TrainBatch.samples[0].sft_track: 'poetry' is not one of reason, eval");
  ExpectError(Tamper(m, [](json& j) { j["body"]["samples"][0]["sft_weight"] = -1.0; }),
              StatusCode::kInvalidArgument, "TrainBatch.samples[0].sft_weight");
  ExpectError(Tamper(m, [](json& j) { j["body"]["samples"][0].erase("sft_weight"); }),
              StatusCode::kInvalidArgument, "sft_weight");
}

TEST(WireTest, MalformedPairsAreRefusedByName) {
  const Message b = testing::SampleMdpoTrainBatch();
  ExpectError(Tamper(b, [](json& j) { j["body"]["samples"][2].erase("pair_index"); }),
              StatusCode::kInvalidArgument,
              "TrainBatch.samples[2].pair_index: unset, but other samples of the batch are paired");
  ExpectError(Tamper(b, [](json& j) { j["body"]["samples"][1]["pair_index"] = 2; }),
              StatusCode::kInvalidArgument, "TrainBatch.samples[1].pair_index: 2 is not below the 2 pairs");
  ExpectError(Tamper(b, [](json& j) { j["body"]["samples"][3]["pair_chosen"] = true; }),
              StatusCode::kInvalidArgument, "pair 1 has 2 chosen and 0 rejected samples");
  ExpectError(Tamper(b, [](json& j) { j["body"]["samples"][2]["trajectory"]["prompt_id"] = 7; }),
              StatusCode::kInvalidArgument,
              "TrainBatch.samples[2].trajectory.prompt_id: 7 differs from the prompt 3456 of the other side of pair 0");
  ExpectError(Tamper(b, [](json& j) { j["body"]["samples"][0]["mask_rule"] = "srr_d1"; }),
              StatusCode::kInvalidArgument, "TrainBatch.samples[0].mask_rule: a paired (M-DPO) sample takes no mask rule");
  ExpectError(Tamper(b, [](json& j) { j["body"]["samples"][0]["pair_index"] = -3; }),
              StatusCode::kInvalidArgument, "TrainBatch.samples[0].pair_index: -3 is below -1");
  ExpectError(Tamper(b, [](json& j) { j["body"]["samples"][0].erase("pair_chosen"); }),
              StatusCode::kInvalidArgument, "pair_chosen");
  TrainBatch encode_side = testing::SampleMdpoTrainBatch();
  encode_side.samples.pop_back();
  auto encoded = EncodeMessage(encode_side);
  ASSERT_FALSE(encoded.ok());
  EXPECT_THAT(encoded.status().message(), HasSubstr("pair_index: 1 is not below the 1 pairs that 3 samples make"));
}

TEST(WireTest, ExtremeValuesRoundTrip) {
  Trajectory t = testing::SampleTrajectory(8);
  t.lease_id = UINT64_MAX;
  t.step = INT64_MIN;
  t.policy_version = INT64_MAX;
  t.logprobs[1] = -std::numeric_limits<float>::infinity();
  t.logprobs[2] = std::numeric_limits<float>::denorm_min();
  t.token_ids[0] = INT32_MAX;
  t.segments[0].text = std::string("nul\0byte", 8);
  auto decoded = DecodeMessage(Encode(t));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == Message(t));
}

TEST(WireTest, BigArraysTravelAsLittleEndianBlobs) {
  Trajectory t = testing::SampleTrajectory(4096);
  const std::string bytes = Encode(t);
  const json body = json::from_msgpack(bytes)["body"];
  ASSERT_TRUE(body["token_ids"].is_binary());
  ASSERT_TRUE(body["logprobs"].is_binary());
  ASSERT_TRUE(body["trainable_mask"].is_binary());
  const auto& ids = body["token_ids"].get_binary();
  ASSERT_EQ(ids.size(), 4096u * 4);
  const uint32_t first = ids[0] | ids[1] << 8 | ids[2] << 16 | static_cast<uint32_t>(ids[3]) << 24;
  EXPECT_EQ(first, static_cast<uint32_t>(t.token_ids[0]));
  // ids + logprobs + mask = 9 bytes/token; the rest (segments, header) is small.
  EXPECT_LT(bytes.size(), 4096u * 9 + 1024);
}

TEST(WireTest, UnknownBodyFieldsAreIgnored) {
  const std::string bytes =
      Tamper(testing::SampleHeartbeat(), [](json& j) { j["body"]["added_in_v1_1"] = "x"; });
  auto decoded = DecodeMessage(bytes);
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  EXPECT_TRUE(*decoded == Message(testing::SampleHeartbeat()));
}

TEST(WireTest, EmptyBufferIsDataLoss) { ExpectError("", StatusCode::kDataLoss, "empty"); }

TEST(WireTest, OversizedMessageIsRefused) {
  const std::string bytes = Encode(testing::SampleTrajectory(1024));
  CodecOptions small;
  small.max_message_bytes = 1000;
  auto decoded = DecodeMessage(bytes, small);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(decoded.status().message(), HasSubstr("exceeds the limit of 1000"));
  auto encoded = EncodeMessage(testing::SampleTrajectory(1024), small);
  ASSERT_FALSE(encoded.ok());
  EXPECT_EQ(encoded.status().code(), StatusCode::kResourceExhausted);
}

TEST(WireTest, EveryTruncationIsAnError) {
  const std::string bytes = Encode(testing::SampleGradeReply());
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto decoded = DecodeMessage(std::string_view(bytes).substr(0, len));
    ASSERT_FALSE(decoded.ok()) << "prefix of " << len << " bytes decoded";
    EXPECT_TRUE(decoded.status().IsDataLoss()) << decoded.status();
  }
  ExpectError(std::string_view(bytes).substr(0, bytes.size() - 1), StatusCode::kDataLoss,
              "truncated, expected a value at offset");
}

TEST(WireTest, TrailingBytesAreAnError) {
  ExpectError(Encode(testing::SampleShutdown()) + "x", StatusCode::kDataLoss, "trailing bytes");
}

TEST(WireTest, DeepNestingIsRefusedWithoutRecursion) {
  // A million nested one-element arrays would overflow nlohmann's recursive reader.
  std::string deep(1'000'000, '\x91');
  deep.push_back('\x00');
  CodecOptions big;
  big.max_message_bytes = 2 << 20;
  auto decoded = DecodeMessage(deep, big);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(decoded.status().message(), HasSubstr("nesting deeper than 64"));
  // Exactly at the limit is structurally fine (then fails as a non-envelope).
  std::string ok_depth(64, '\x91');
  ok_depth.push_back('\x00');
  EXPECT_TRUE(ScanMsgpack(ok_depth).ok());
  ok_depth.insert(0, "\x91");
  EXPECT_FALSE(ScanMsgpack(ok_depth).ok());
  ExpectError(std::string(10, '\x91') + '\x00', StatusCode::kInvalidArgument,
              "envelope: expected map, got array");
}

TEST(WireTest, ImpossibleLengthsAreCaughtBeforeParsing) {
  ExpectError(std::string("\xdd\xff\xff\xff\xff", 5), StatusCode::kDataLoss, "cannot fit");
  ExpectError(std::string("\xdf\x00\x01\x00\x00\x00", 6), StatusCode::kDataLoss, "cannot fit");
  ExpectError(std::string("\xc6\x7f\xff\xff\xff"
                          "abc",
                          8),
              StatusCode::kDataLoss, "past the end");
  ExpectError(std::string("\xdb\x00\x00\x00\x09"
                          "abc",
                          8),
              StatusCode::kDataLoss, "past the end");
  ExpectError(std::string("\xcb\x00\x00", 3), StatusCode::kDataLoss, "truncated");
  ExpectError(std::string("\xc1", 1), StatusCode::kDataLoss, "reserved type byte");
}

TEST(WireTest, TooManyElementsIsRefused) {
  std::string many("\xdc\xff\xff", 3);  // array16 of 65535 nils
  many.append(65535, '\xc0');
  CodecOptions opts;
  opts.max_elements = 1000;
  auto decoded = DecodeMessage(many, opts);
  ASSERT_FALSE(decoded.ok());
  EXPECT_EQ(decoded.status().code(), StatusCode::kResourceExhausted);
  EXPECT_THAT(decoded.status().message(), HasSubstr("more than 1000 values"));
}

TEST(WireTest, NonStringMapKeyIsAnError) {
  ExpectError(std::string("\x81\x01\x02", 3), StatusCode::kInvalidArgument,
              "map key at offset 1 is not a string");
}

TEST(WireTest, EnvelopeErrorsAreNamed) {
  const Message hb = testing::SampleHeartbeat();
  ExpectError(Tamper(hb, [](json& j) { j["v"] = 2; }), StatusCode::kFailedPrecondition,
              "unsupported protocol version 2 (this build speaks version 1)");
  ExpectError(Tamper(hb, [](json& j) { j["v"] = "1"; }), StatusCode::kInvalidArgument,
              "envelope.v: expected integer, got string");
  ExpectError(Tamper(hb, [](json& j) { j.erase("v"); }), StatusCode::kInvalidArgument,
              "envelope.v: missing");
  ExpectError(Tamper(hb, [](json& j) { j["type"] = "Bogus"; }), StatusCode::kInvalidArgument,
              "unknown message type 'Bogus'");
  ExpectError(Tamper(hb, [](json& j) { j.erase("body"); }), StatusCode::kInvalidArgument,
              "envelope.body: missing");
  ExpectError(Tamper(hb, [](json& j) { j["body"] = json::array(); }), StatusCode::kInvalidArgument,
              "envelope.body: expected map, got array");
  std::string not_map;
  json::to_msgpack(json(42), not_map);
  ExpectError(not_map, StatusCode::kInvalidArgument, "envelope: expected map, got integer");
}

TEST(WireTest, FieldTypeErrorsNameTheField) {
  const Message t = testing::SampleTrajectory(8);
  ExpectError(Tamper(t, [](json& j) { j["body"]["logprobs"] = "oops"; }),
              StatusCode::kInvalidArgument,
              "Trajectory.logprobs: expected bin of float32, got string");
  ExpectError(Tamper(t,
                     [](json& j) {
                       j["body"]["token_ids"] = json::array({1, 2});
                     }),
              StatusCode::kInvalidArgument,
              "Trajectory.token_ids: expected bin of int32, got array");
  ExpectError(Tamper(t, [](json& j) { j["body"].erase("trainable_mask"); }),
              StatusCode::kInvalidArgument, "Trajectory.trainable_mask: missing");
  ExpectError(Tamper(t, [](json& j) { j["body"]["step"] = 1.5; }), StatusCode::kInvalidArgument,
              "Trajectory.step: expected integer, got float");
  ExpectError(Tamper(t, [](json& j) { j["body"]["sample_idx"] = int64_t{1} << 40; }),
              StatusCode::kInvalidArgument,
              "Trajectory.sample_idx: 1099511627776 is out of range for int32");
  ExpectError(Tamper(t, [](json& j) { j["body"]["lease_id"] = -1; }), StatusCode::kInvalidArgument,
              "Trajectory.lease_id: -1 is out of range for uint64");
  ExpectError(Tamper(t, [](json& j) { j["body"]["segments"][1]["kind"] = "banana"; }),
              StatusCode::kInvalidArgument,
              "Trajectory.segments[1].kind: unknown value 'banana' (expected one of prompt, "
              "attempt, verify, instruction, evaluation)");
  ExpectError(Tamper(t, [](json& j) { j["body"]["segments"][2] = 7; }),
              StatusCode::kInvalidArgument, "Trajectory.segments[2]: expected map, got integer");
  ExpectError(Tamper(t, [](json& j) { j["body"]["finish_reasons"][0] = 3; }),
              StatusCode::kInvalidArgument,
              "Trajectory.finish_reasons[0]: expected string, got integer");
  ExpectError(Tamper(t, [](json& j) { j["body"]["turn_answers"][1] = nullptr; }),
              StatusCode::kInvalidArgument, "Trajectory.turn_answers[1]: expected string, got nil");
  ExpectError(Tamper(t, [](json& j) { j["body"]["hidden_state_score"] = 1e300; }),
              StatusCode::kInvalidArgument,
              "Trajectory.hidden_state_score: 1e+300 is out of range for float32");
  ExpectError(Tamper(t, [](json& j) { j["body"]["hidden_state_score"] = "high"; }),
              StatusCode::kInvalidArgument,
              "Trajectory.hidden_state_score: expected float, got string");

  ExpectError(Tamper(testing::SampleGradeReply(),
                     [](json& j) { j["body"]["items"][1]["turns"][0]["verdict"] = "maybe"; }),
              StatusCode::kInvalidArgument,
              "GradeReply.items[1].turns[0].verdict: unknown value 'maybe'");
  ExpectError(
      Tamper(testing::SampleStepStats(), [](json& j) { j["body"]["metrics"]["loss"] = "low"; }),
      StatusCode::kInvalidArgument, "StepStats.metrics[\"loss\"]: expected float, got string");
  ExpectError(Tamper(testing::SampleGenerateRequest(),
                     [](json& j) { j["body"]["sampling"]["top_k"] = true; }),
              StatusCode::kInvalidArgument,
              "GenerateRequest.sampling.top_k: expected integer, got bool");
  ExpectError(Tamper(testing::SampleHello(), [](json& j) { j["body"]["role"] = "boss"; }),
              StatusCode::kInvalidArgument, "Hello.role: unknown value 'boss'");
  ExpectError(Tamper(testing::SampleShutdown(), [](json& j) { j["body"]["drain"] = 1; }),
              StatusCode::kInvalidArgument, "Shutdown.drain: expected bool, got integer");
}

TEST(WireTest, BlobLengthMustBeAMultipleOfTheElementSize) {
  const Message t = testing::SampleTrajectory(8);
  ExpectError(Tamper(t,
                     [](json& j) {
                       j["body"]["token_ids"] = json::binary({1, 2, 3, 4, 5, 6, 7});
                     }),
              StatusCode::kInvalidArgument,
              "Trajectory.token_ids: bin of 7 bytes is not a multiple of 4 (int32)");
  ExpectError(Tamper(t,
                     [](json& j) {
                       j["body"]["token_ids"] = json::binary({1, 2, 3, 4}, 5);
                     }),
              StatusCode::kInvalidArgument, "Trajectory.token_ids: expected bin of int32, got ext");
}

TEST(WireTest, InvariantErrorsNameTheField) {
  const Message t = testing::SampleTrajectory(8);
  // 8 tokens: drop one log-prob (4 bytes).
  ExpectError(Tamper(t,
                     [](json& j) {
                       auto b = j["body"]["logprobs"].get_binary();
                       b.resize(b.size() - 4);
                       j["body"]["logprobs"] = json::binary(b);
                     }),
              StatusCode::kInvalidArgument, "Trajectory.logprobs: 7 entries for 8 tokens");
  ExpectError(Tamper(t,
                     [](json& j) {
                       j["body"]["trainable_mask"] = json::binary({1, 0});
                     }),
              StatusCode::kInvalidArgument, "Trajectory.trainable_mask: 2 entries for 8 tokens");
  ExpectError(Tamper(t, [](json& j) { j["body"]["segments"][4]["end"] = 9; }),
              StatusCode::kInvalidArgument, "Trajectory.segments[4]: range [6, 9)");
  ExpectError(Tamper(t, [](json& j) { j["body"]["segments"][1]["begin"] = 0; }),
              StatusCode::kInvalidArgument, "Trajectory.segments[1]: range [0, 4)");
  ExpectError(Tamper(testing::SampleGenerateRequest(),
                     [](json& j) { j["body"]["forced_verdict"] = "error"; }),
              StatusCode::kInvalidArgument,
              "GenerateRequest.forced_verdict: 'error' cannot be forced");
  ExpectError(Tamper(testing::SampleGenerateRequest(),
                     [](json& j) { j["body"]["sampling"]["top_p"] = 0.0; }),
              StatusCode::kInvalidArgument,
              "GenerateRequest.sampling.top_p: 0.000000 is not in (0, 1]");
  ExpectError(Tamper(testing::SampleGradeRequest(),
                     [](json& j) { j["body"]["items"][2]["num_generated_tokens"] = 4; }),
              StatusCode::kInvalidArgument,
              "GradeRequest.items[2].generated_token_ids: 5 ids but num_generated_tokens is 4");
  ExpectError(Tamper(testing::SampleTrainBatch(),
                     [](json& j) {
                       j["body"]["samples"][1]["dense_rewards"] = json::binary({0, 0, 0, 0});
                     }),
              StatusCode::kInvalidArgument,
              "TrainBatch.samples[1].dense_rewards: 1 entries for 24 tokens");
  ExpectError(Tamper(testing::SampleError(), [](json& j) { j["body"]["code"] = 0; }),
              StatusCode::kInvalidArgument, "Error.code: 0 is not a scorch error code");
}

TEST(WireTest, EncodeRefusesInvalidMessages) {
  Trajectory t = testing::SampleTrajectory(8);
  t.logprobs.pop_back();
  auto encoded = EncodeMessage(t);
  ASSERT_FALSE(encoded.ok());
  EXPECT_THAT(encoded.status().message(), HasSubstr("Trajectory.logprobs: 7 entries for 8 tokens"));

  GenerateRequest g = testing::SampleGenerateRequest();
  g.sampling.max_new_tokens = 0;
  encoded = EncodeMessage(g);
  ASSERT_FALSE(encoded.ok());
  EXPECT_THAT(encoded.status().message(), HasSubstr("GenerateRequest.sampling.max_new_tokens"));
}

// The iterative parser must build the same tree as nlohmann's reference reader for every
// msgpack type and width.
TEST(WireTest, IterativeParserMatchesNlohmannReader) {
  const json values = {
      {"pos", {0, 1, 127, 128, 255, 256, 65535, 65536, 4294967295ULL, 4294967296ULL, UINT64_MAX}},
      {"neg", {-1, -32, -33, -128, -129, -32768, -32769, -2147483648LL, -2147483649LL, INT64_MIN}},
      {"float", {0.5, -1e300, 3.25}},
      {"str",
       {"", "a", std::string(31, 'x'), std::string(32, 'y'), std::string(300, 'z'),
        std::string(70000, 'w')}},
      {"bin",
       {json::binary({}), json::binary({1, 2, 3}), json::binary(std::vector<uint8_t>(300, 7)),
        json::binary(std::vector<uint8_t>(70000, 9))}},
      {"ext",
       {json::binary({1}, 5), json::binary({1, 2}, 6), json::binary({1, 2, 3, 4}, 7),
        json::binary({1, 2, 3}, 200), json::binary(std::vector<uint8_t>(16, 1), 1),
        json::binary(std::vector<uint8_t>(300, 2), 2)}},
      {"misc", {nullptr, true, false, json::array(), json::object()}},
      {"big_array", std::vector<int>(70000, 1)}};
  std::string bytes;
  json::to_msgpack(values, bytes);
  // Hand-written encodings nlohmann's writer never produces: float32, over-wide ints, a
  // repeated key.
  const std::vector<std::string> extra = {
      std::string("\xca\x3f\xc0\x00\x00", 5),                  // float32 1.5
      std::string("\xd0\x80", 2),                              // int8 -128
      std::string("\xd1\xff\x00", 3),                          // int16 -256
      std::string("\xd2\xff\xff\xff\xfe", 5),                  // int32 -2
      std::string("\xd3\x00\x00\x00\x00\x00\x00\x00\x05", 9),  // int64 5
      std::string("\xcd\x00\x01", 3),                          // uint16 1
      std::string("\x82\xa1k\x01\xa1k\x02", 7),                // {"k": 1, "k": 2}
      std::string("\xd9\x01z", 3),                             // str8 "z"
  };
  for (const std::string& b : std::vector<std::string>{
           bytes, extra[0], extra[1], extra[2], extra[3], extra[4], extra[5], extra[6], extra[7]}) {
    auto mine = ParseMsgpack(b);
    ASSERT_TRUE(mine.ok()) << mine.status();
    const json reference = json::from_msgpack(b);
    EXPECT_EQ(*mine, reference) << reference.dump().substr(0, 200);
    EXPECT_EQ(mine->type(), reference.type());
  }
  EXPECT_EQ(*ParseMsgpack(extra[6]), json({{"k", 2}}));
  EXPECT_EQ(ParseMsgpack(extra[0])->get<double>(), 1.5);
}

TEST(WireTest, ErrorMessagesCarryStatuses) {
  const Error e = ErrorFromStatus(Status::Unavailable("reward service down"), "GradeRequest");
  EXPECT_EQ(e.code, static_cast<int32_t>(StatusCode::kUnavailable));
  EXPECT_EQ(e.in_reply_to, "GradeRequest");
  auto decoded = DecodeMessage(Encode(e));
  ASSERT_TRUE(decoded.ok()) << decoded.status();
  const Status s = StatusFromError(std::get<Error>(*decoded));
  EXPECT_TRUE(s.IsUnavailable());
  EXPECT_EQ(s.message(), "reward service down");
  EXPECT_EQ(StatusFromError(Error{99, "?", ""}).code(), StatusCode::kInternal);
}

TEST(WireTest, TypeNamesAndEnumNamesAreStable) {
  EXPECT_EQ(MessageTypeName(Message(Trajectory{})), "Trajectory");
  EXPECT_EQ(MessageTypeName(Message(Shutdown{})), "Shutdown");
  EXPECT_EQ(SegmentKindName(SegmentKind::kEvaluation), "evaluation");
  EXPECT_EQ(ParseVerdict("wrong"), Verdict::kWrong);
  EXPECT_EQ(ParseVerdict("Wrong"), std::nullopt);
  EXPECT_EQ(EnumChoices<FinishReason>(), "eos, stop, length, aborted");
}

}  // namespace
}  // namespace scorch::proto
