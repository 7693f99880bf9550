// Parsing of a Hugging Face tokenizer.json into BpeTokenizer::Impl. Every rejection names the
// JSON field at fault; nothing here throws past this file (nlohmann exceptions are caught).
#include <cstdio>

#include <nlohmann/json.hpp>

#include "bpe_impl.h"
#include "byte_level.h"

namespace scorch::model {
namespace {

using nlohmann::json;
using tokenizer_internal::AddedToken;

constexpr int64_t kMaxTokenId = 1 << 24;  // far above any real vocabulary; bounds memory

Status ParseVocab(const json& model, BpeTokenizer::Impl* impl) {
  if (!model.contains("vocab") || !model["vocab"].is_object()) {
    return Status::InvalidArgument("model.vocab: expected an object mapping token -> id");
  }
  const json& vocab = model["vocab"];
  impl->token_to_id.reserve(vocab.size() * 2);
  for (auto it = vocab.begin(); it != vocab.end(); ++it) {
    if (!it.value().is_number_integer()) {
      return Status::InvalidArgument("model.vocab[\"" + it.key() + "\"]: id is not an integer");
    }
    const int64_t id = it.value().get<int64_t>();
    if (id < 0 || id >= kMaxTokenId) {
      return Status::InvalidArgument("model.vocab[\"" + it.key() + "\"]: id " + std::to_string(id) +
                                     " is out of range [0, " + std::to_string(kMaxTokenId) + ")");
    }
    if (static_cast<size_t>(id) >= impl->id_to_token.size()) {
      impl->id_to_token.resize(id + 1);
      impl->id_used.resize(id + 1, 0);
    }
    if (impl->id_used[id]) {
      return Status::InvalidArgument("model.vocab: id " + std::to_string(id) + " is used by both \"" +
                                     impl->id_to_token[id] + "\" and \"" + it.key() + "\"");
    }
    impl->id_used[id] = 1;
    impl->id_to_token[id] = it.key();
    impl->token_to_id.emplace(it.key(), static_cast<TokenId>(id));
  }
  return Status::Ok();
}

Status ParseMerges(const json& model, BpeTokenizer::Impl* impl) {
  if (!model.contains("merges") || !model["merges"].is_array()) {
    return Status::InvalidArgument("model.merges: expected an array");
  }
  const json& merges = model["merges"];
  impl->merges.reserve(merges.size() * 2);
  std::string a, b;
  for (size_t i = 0; i < merges.size(); ++i) {
    const json& m = merges[i];
    const std::string where = "model.merges[" + std::to_string(i) + "]";
    if (m.is_string()) {
      const std::string& s = m.get_ref<const std::string&>();
      const size_t space = s.find(' ');
      if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
        return Status::InvalidArgument(where + ": \"" + s + "\" is not two tokens separated by one space");
      }
      a = s.substr(0, space);
      b = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      a = m[0].get<std::string>();
      b = m[1].get<std::string>();
    } else {
      return Status::InvalidArgument(where + ": expected \"a b\" or [\"a\", \"b\"]");
    }
    const auto ia = impl->token_to_id.find(a), ib = impl->token_to_id.find(b);
    if (ia == impl->token_to_id.end() || ib == impl->token_to_id.end()) {
      return Status::InvalidArgument(where + ": token \"" + (ia == impl->token_to_id.end() ? a : b) +
                                     "\" is not in model.vocab");
    }
    const auto ir = impl->token_to_id.find(a + b);
    if (ir == impl->token_to_id.end()) {
      return Status::InvalidArgument(where + ": merged token \"" + a + b + "\" is not in model.vocab");
    }
    // Like tokenizers, a repeated pair keeps its last rank.
    impl->merges[tokenizer_internal::PairKey(ia->second, ib->second)] = {static_cast<int32_t>(i), ir->second};
  }
  return Status::Ok();
}

Status ParseModel(const json& root, BpeTokenizer::Impl* impl) {
  if (!root.contains("model") || !root["model"].is_object()) {
    return Status::InvalidArgument("model: missing or not an object");
  }
  const json& model = root["model"];
  const std::string type = model.value("type", std::string("BPE"));
  if (type != "BPE") return Status::Unimplemented("model.type: \"" + type + "\" is not supported (only BPE)");
  if (model.contains("dropout") && !model["dropout"].is_null() &&
      !(model["dropout"].is_number() && model["dropout"].get<double>() == 0.0)) {
    return Status::Unimplemented("model.dropout: BPE dropout is not supported");
  }
  for (const char* field : {"continuing_subword_prefix", "end_of_word_suffix"}) {
    if (model.contains(field) && !model[field].is_null() &&
        !(model[field].is_string() && model[field].get<std::string>().empty())) {
      return Status::Unimplemented(std::string("model.") + field + ": not supported (byte-level BPE uses none)");
    }
  }
  impl->ignore_merges = model.value("ignore_merges", false);
  SCORCH_RETURN_IF_ERROR(ParseVocab(model, impl));
  return ParseMerges(model, impl);
}

Status ParseAddedTokens(const json& root, BpeTokenizer::Impl* impl) {
  if (!root.contains("added_tokens") || root["added_tokens"].is_null()) return Status::Ok();
  const json& list = root["added_tokens"];
  if (!list.is_array()) return Status::InvalidArgument("added_tokens: expected an array");
  std::vector<size_t> raw, normalized;
  for (size_t i = 0; i < list.size(); ++i) {
    const json& t = list[i];
    const std::string where = "added_tokens[" + std::to_string(i) + "]";
    if (!t.is_object() || !t.contains("id") || !t["id"].is_number_integer() || !t.contains("content") ||
        !t["content"].is_string()) {
      return Status::InvalidArgument(where + ": expected an object with integer \"id\" and string \"content\"");
    }
    AddedToken token;
    const int64_t id = t["id"].get<int64_t>();
    if (id < 0 || id >= kMaxTokenId) {
      return Status::InvalidArgument(where + ": id " + std::to_string(id) + " is out of range");
    }
    token.id = static_cast<TokenId>(id);
    token.content = t["content"].get<std::string>();
    if (token.content.empty()) return Status::InvalidArgument(where + ": empty content");
    token.special = t.value("special", false);
    token.lstrip = t.value("lstrip", false);
    token.rstrip = t.value("rstrip", false);
    token.single_word = t.value("single_word", false);
    token.normalized = t.value("normalized", !token.special);
    if (static_cast<size_t>(id) >= impl->id_to_token.size()) {
      impl->id_to_token.resize(id + 1);
      impl->id_used.resize(id + 1, 0);
    }
    if (impl->id_used[id] && impl->id_to_token[id] != token.content) {
      return Status::InvalidArgument(where + ": id " + std::to_string(id) + " is already \"" +
                                     impl->id_to_token[id] + "\", not \"" + token.content + "\"");
    }
    impl->id_used[id] = 1;
    impl->id_to_token[id] = token.content;
    impl->token_to_id[token.content] = token.id;
    (token.normalized ? normalized : raw).push_back(impl->added_tokens.size());
    impl->added_tokens.push_back(std::move(token));
  }
  impl->raw_matcher.Build(impl->added_tokens, raw);
  impl->normalized_matcher.Build(impl->added_tokens, normalized);
  return Status::Ok();
}

Status ParseNormalizer(const json& n, const std::string& where, bool* nfc) {
  if (n.is_null()) return Status::Ok();
  if (!n.is_object() || !n.contains("type") || !n["type"].is_string()) {
    return Status::InvalidArgument(where + ": expected an object with a string \"type\"");
  }
  const std::string type = n["type"].get<std::string>();
  if (type == "NFC") {
    *nfc = true;
    return Status::Ok();
  }
  if (type == "Sequence" && n.contains("normalizers") && n["normalizers"].is_array()) {
    for (size_t i = 0; i < n["normalizers"].size(); ++i) {
      SCORCH_RETURN_IF_ERROR(ParseNormalizer(n["normalizers"][i], where + ".normalizers[" + std::to_string(i) + "]", nfc));
    }
    return Status::Ok();
  }
  return Status::Unimplemented(where + ": normalizer \"" + type + "\" is not supported (only NFC)");
}

Status ParsePostProcessor(const json& p, const std::string& where, BpeTokenizer::Impl* impl) {
  if (p.is_null()) return Status::Ok();
  if (!p.is_object() || !p.contains("type") || !p["type"].is_string()) {
    return Status::InvalidArgument(where + ": expected an object with a string \"type\"");
  }
  const std::string type = p["type"].get<std::string>();
  if (type == "ByteLevel") return Status::Ok();  // adds no tokens (trim_offsets is about offsets)
  if (type == "Sequence") {
    if (!p.contains("processors") || !p["processors"].is_array()) {
      return Status::InvalidArgument(where + ".processors: expected an array");
    }
    for (size_t i = 0; i < p["processors"].size(); ++i) {
      SCORCH_RETURN_IF_ERROR(ParsePostProcessor(p["processors"][i], where + ".processors[" + std::to_string(i) + "]", impl));
    }
    return Status::Ok();
  }
  if (type != "TemplateProcessing") {
    return Status::Unimplemented(where + ": post-processor \"" + type +
                                 "\" is not supported (only ByteLevel, TemplateProcessing, Sequence)");
  }
  if (!p.contains("single") || !p["single"].is_array()) {
    return Status::InvalidArgument(where + ".single: expected an array");
  }
  const json& specials = p.contains("special_tokens") ? p["special_tokens"] : json::object();
  bool seen_sequence = false;
  for (size_t i = 0; i < p["single"].size(); ++i) {
    const json& piece = p["single"][i];
    const std::string w = where + ".single[" + std::to_string(i) + "]";
    if (piece.contains("Sequence")) {
      seen_sequence = true;
      continue;
    }
    if (!piece.contains("SpecialToken") || !piece["SpecialToken"].contains("id")) {
      return Status::InvalidArgument(w + ": expected {\"Sequence\": ...} or {\"SpecialToken\": {\"id\": ...}}");
    }
    const std::string name = piece["SpecialToken"]["id"].get<std::string>();
    std::vector<TokenId> ids;
    if (specials.contains(name) && specials[name].contains("ids")) {
      for (const json& id : specials[name]["ids"]) ids.push_back(id.get<TokenId>());
    } else if (auto it = impl->token_to_id.find(name); it != impl->token_to_id.end()) {
      ids.push_back(it->second);
    } else {
      return Status::InvalidArgument(w + ": special token \"" + name + "\" is not defined");
    }
    auto& target = seen_sequence ? impl->post_suffix : impl->post_prefix;
    target.insert(target.end(), ids.begin(), ids.end());
  }
  return Status::Ok();
}

Status ParseDecoder(const json& d, const std::string& where) {
  if (!d.is_object() || !d.contains("type") || !d["type"].is_string()) {
    return Status::Unimplemented(where + ": expected a ByteLevel decoder");
  }
  const std::string type = d["type"].get<std::string>();
  if (type == "ByteLevel") return Status::Ok();
  if (type == "Sequence" && d.contains("decoders") && d["decoders"].is_array() && d["decoders"].size() == 1) {
    return ParseDecoder(d["decoders"][0], where + ".decoders[0]");
  }
  return Status::Unimplemented(where + ": decoder \"" + type + "\" is not supported (only ByteLevel)");
}

// eos/pad/bos/unk names from tokenizer_config.json ("name" or {"content": "name"}).
Status ParseSpecialRoles(std::string_view config_json, const BpeTokenizer::Impl& impl, SpecialTokenIds* special) {
  auto lookup = [&](const std::string& name) -> std::optional<TokenId> {
    auto it = impl.token_to_id.find(name);
    if (it == impl.token_to_id.end()) return std::nullopt;
    return it->second;
  };
  if (config_json.empty()) {
    for (const char* name : {"<|endoftext|>", "<|end_of_text|>", "</s>"}) {
      if (auto id = lookup(name)) {
        special->eos = id;
        break;
      }
    }
    return Status::Ok();
  }
  json config;
  try {
    config = json::parse(config_json);
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("tokenizer_config.json: not valid JSON: ") + e.what());
  }
  if (!config.is_object()) return Status::InvalidArgument("tokenizer_config.json: expected an object");
  const std::pair<const char*, std::optional<TokenId>*> roles[] = {
      {"eos_token", &special->eos}, {"pad_token", &special->pad}, {"bos_token", &special->bos}, {"unk_token", &special->unk}};
  for (const auto& [field, slot] : roles) {
    if (!config.contains(field) || config[field].is_null()) continue;
    const json& v = config[field];
    std::string name;
    if (v.is_string()) {
      name = v.get<std::string>();
    } else if (v.is_object() && v.contains("content") && v["content"].is_string()) {
      name = v["content"].get<std::string>();
    } else {
      return Status::InvalidArgument(std::string("tokenizer_config.json: ") + field + ": expected a string or {\"content\": ...}");
    }
    auto id = lookup(name);
    if (!id) {
      return Status::InvalidArgument(std::string("tokenizer_config.json: ") + field + " \"" + name +
                                     "\" is not in the vocabulary");
    }
    *slot = id;
  }
  return Status::Ok();
}

}  // namespace

StatusOr<std::unique_ptr<BpeTokenizer::Impl>> ParseBpeTokenizerJson(const nlohmann::json& root,
                                                                     SpecialTokenIds* special,
                                                                     std::string_view tokenizer_config_json) {
  auto impl = std::make_unique<BpeTokenizer::Impl>();
  try {
    if (!root.is_object()) return Status::InvalidArgument("tokenizer.json: expected a JSON object at the top level");
    SCORCH_RETURN_IF_ERROR(ParseModel(root, impl.get()));
    SCORCH_RETURN_IF_ERROR(ParseAddedTokens(root, impl.get()));
    SCORCH_RETURN_IF_ERROR(ParseNormalizer(root.value("normalizer", json()), "normalizer", &impl->nfc));
    SCORCH_ASSIGN_OR_RETURN(impl->pre_tokenizer,
                            tokenizer_internal::PreTokenizer::FromJson(root.value("pre_tokenizer", json())));
    SCORCH_RETURN_IF_ERROR(ParsePostProcessor(root.value("post_processor", json()), "post_processor", impl.get()));
    SCORCH_RETURN_IF_ERROR(ParseDecoder(root.value("decoder", json()), "decoder"));
  } catch (const json::exception& e) {
    return Status::InvalidArgument(std::string("tokenizer.json: unexpected field type: ") + e.what());
  }

  const byte_level::Tables& tables = byte_level::GetTables();
  for (int b = 0; b < 256; ++b) {
    auto it = impl->token_to_id.find(tables.byte_to_utf8[b]);
    if (it == impl->token_to_id.end()) {
      char hex[8];
      std::snprintf(hex, sizeof(hex), "0x%02X", b);
      return Status::InvalidArgument(std::string("model.vocab: lacks the byte-level symbol \"") + tables.byte_to_utf8[b] +
                                     "\" for byte " + hex + "; only byte-level BPE vocabularies are supported");
    }
    impl->byte_ids[b] = it->second;
  }
  const size_t n = impl->id_to_token.size();
  impl->id_to_bytes.resize(n);
  impl->is_special.assign(n, 0);
  for (size_t id = 0; id < n; ++id) {
    if (!impl->id_used[id]) continue;
    if (!byte_level::Decode(impl->id_to_token[id], &impl->id_to_bytes[id])) {
      impl->id_to_bytes[id] = impl->id_to_token[id];  // not byte-level: its own UTF-8, as tokenizers does
    }
  }
  for (const AddedToken& t : impl->added_tokens) {
    impl->id_to_bytes[t.id] = t.content;
    impl->is_special[t.id] = t.special ? 1 : 0;
  }
  SCORCH_RETURN_IF_ERROR(ParseSpecialRoles(tokenizer_config_json, *impl, special));
  return impl;
}

}  // namespace scorch::model
