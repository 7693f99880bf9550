// CharTokenizer (see char_tokenizer.h).
#include "scorch/model/char_tokenizer.h"

#include <algorithm>
#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "scorch/model/unicode.h"
#include "tokenizer_json.h"

namespace scorch::model {
namespace {

using nlohmann::json;

std::string CodePointName(char32_t cp) {
  char buf[16];
  std::snprintf(buf, sizeof(buf), "U+%04X", static_cast<unsigned>(cp));
  return buf;
}

}  // namespace

std::unique_ptr<CharTokenizer> CharTokenizer::CreateDefault() {
  std::string chars = "\n\t";
  for (char c = ' '; c <= '~'; ++c) chars.push_back(c);
  auto t = Create({"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|pad|>"}, chars, Roles{});
  return std::move(t).value();  // the default vocabulary is valid by construction
}

StatusOr<std::unique_ptr<CharTokenizer>> CharTokenizer::Create(const std::vector<std::string>& special_tokens,
                                                               std::string_view characters, const Roles& roles) {
  std::unique_ptr<CharTokenizer> t(new CharTokenizer());
  t->ascii_to_id_.fill(-1);
  for (const std::string& s : special_tokens) {
    if (s.empty()) return Status::InvalidArgument("char tokenizer: empty special token");
    if (!unicode::Utf8Validate(s)) return Status::InvalidArgument("char tokenizer: special token is not valid UTF-8");
    if (std::find(t->tokens_.begin(), t->tokens_.end(), s) != t->tokens_.end()) {
      return Status::InvalidArgument("char tokenizer: duplicate special token \"" + s + "\"");
    }
    t->tokens_.push_back(s);
  }
  t->num_special_ = static_cast<int32_t>(t->tokens_.size());
  size_t pos = 0;
  while (pos < characters.size()) {
    const size_t start = pos;
    char32_t cp;
    if (!unicode::DecodeUtf8(characters, &pos, &cp)) {
      return Status::InvalidArgument("char tokenizer: characters are not valid UTF-8 at byte " + std::to_string(start));
    }
    const auto id = static_cast<TokenId>(t->tokens_.size());
    if (!t->char_to_id_.emplace(cp, id).second) {
      return Status::InvalidArgument("char tokenizer: duplicate character " + CodePointName(cp));
    }
    if (cp < 128) t->ascii_to_id_[cp] = id;
    t->tokens_.emplace_back(characters.substr(start, pos - start));
  }
  for (TokenId id = 0; id < t->num_special_; ++id) {
    t->specials_by_length_.push_back(id);
    t->special_first_byte_[static_cast<unsigned char>(t->tokens_[id][0])] = true;
  }
  std::stable_sort(t->specials_by_length_.begin(), t->specials_by_length_.end(),
                   [&](TokenId a, TokenId b) { return t->tokens_[a].size() > t->tokens_[b].size(); });
  t->roles_ = roles;
  const std::pair<const std::string*, std::optional<TokenId>*> slots[] = {
      {&roles.eos, &t->special_.eos}, {&roles.pad, &t->special_.pad}, {&roles.bos, &t->special_.bos}};
  for (const auto& [name, slot] : slots) {
    if (name->empty()) continue;
    auto it = std::find(t->tokens_.begin(), t->tokens_.begin() + t->num_special_, *name);
    if (it == t->tokens_.begin() + t->num_special_) {
      return Status::InvalidArgument("char tokenizer: role token \"" + *name + "\" is not a special token");
    }
    *slot = static_cast<TokenId>(it - t->tokens_.begin());
  }
  return t;
}

StatusOr<std::vector<TokenId>> CharTokenizer::DoEncode(std::string_view text, bool add_special_tokens) const {
  std::vector<TokenId> ids;
  ids.reserve(text.size());
  if (add_special_tokens && special_.bos) ids.push_back(*special_.bos);
  size_t pos = 0;
  while (pos < text.size()) {
    bool matched = false;
    if (special_first_byte_[static_cast<unsigned char>(text[pos])]) {
      for (TokenId id : specials_by_length_) {
        const std::string& s = tokens_[id];
        if (text.compare(pos, s.size(), s) == 0) {
          ids.push_back(id);
          pos += s.size();
          matched = true;
          break;
        }
      }
    }
    if (matched) continue;
    const auto b = static_cast<unsigned char>(text[pos]);
    if (b < 0x80 && ascii_to_id_[b] >= 0) {
      ids.push_back(ascii_to_id_[b]);
      ++pos;
      continue;
    }
    const size_t start = pos;
    char32_t cp;
    if (!unicode::DecodeUtf8(text, &pos, &cp)) {
      return Status::InvalidArgument("text is not valid UTF-8 (invalid byte sequence at offset " +
                                     std::to_string(start) + ")");
    }
    auto it = char_to_id_.find(cp);
    if (it == char_to_id_.end()) {
      return Status::InvalidArgument("character " + CodePointName(cp) + " at byte offset " + std::to_string(start) +
                                     " is not in the char tokenizer's vocabulary");
    }
    ids.push_back(it->second);
  }
  return ids;
}

StatusOr<std::string> CharTokenizer::DoDecodeBytes(std::span<const TokenId> ids, bool skip_special_tokens) const {
  std::string out;
  out.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const TokenId id = ids[i];
    if (id < 0 || id >= static_cast<TokenId>(tokens_.size())) {
      return Status::OutOfRange("token id " + std::to_string(id) + " at position " + std::to_string(i) +
                                " is not in the vocabulary (size " + std::to_string(tokens_.size()) + ")");
    }
    if (skip_special_tokens && IsSpecial(id)) continue;
    out.append(tokens_[id]);
  }
  return out;
}

std::optional<TokenId> CharTokenizer::TokenToId(std::string_view token) const {
  for (TokenId id = 0; id < num_special_; ++id) {
    if (tokens_[id] == token) return id;
  }
  size_t pos = 0;
  char32_t cp;
  if (!unicode::DecodeUtf8(token, &pos, &cp) || pos != token.size()) return std::nullopt;
  auto it = char_to_id_.find(cp);
  if (it == char_to_id_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> CharTokenizer::IdToToken(TokenId id) const {
  if (id < 0 || id >= static_cast<TokenId>(tokens_.size())) return std::nullopt;
  return tokens_[id];
}

std::string CharTokenizer::ToJson() const {
  json added = json::array();
  for (TokenId id = 0; id < num_special_; ++id) {
    added.push_back({{"id", id}, {"content", tokens_[id]}, {"single_word", false}, {"lstrip", false},
                     {"rstrip", false}, {"normalized", false}, {"special", true}});
  }
  // The vocabulary as an array in id order (an object would not keep the order readable).
  json chars = json::array();
  for (size_t id = num_special_; id < tokens_.size(); ++id) chars.push_back(tokens_[id]);
  json root = {
      {"version", "1.0"},
      {"added_tokens", added},
      {"model", {{"type", "ScorchChar"},
                 {"characters", chars},
                 {"eos_token", roles_.eos},
                 {"pad_token", roles_.pad},
                 {"bos_token", roles_.bos}}},
  };
  return root.dump(2) + "\n";
}

Status CharTokenizer::Save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return Status::IoError("cannot open " + path + " for writing");
  out << ToJson();
  out.close();
  if (!out) return Status::IoError("failed writing " + path);
  return Status::Ok();
}

StatusOr<std::unique_ptr<CharTokenizer>> CharTokenizer::FromJson(std::string_view json_text) {
  SCORCH_ASSIGN_OR_RETURN(json root, tokenizer_internal::ParseJsonText(json_text, "char tokenizer JSON"));
  return FromParsedJson(root);
}

StatusOr<std::unique_ptr<CharTokenizer>> CharTokenizer::FromParsedJson(const json& root) {
  if (!root.is_object() || !root.contains("model") || !root["model"].is_object()) {
    return Status::InvalidArgument("char tokenizer JSON: missing \"model\" object");
  }
  const json& model = root["model"];
  if (model.value("type", std::string()) != "ScorchChar") {
    return Status::InvalidArgument("char tokenizer JSON: model.type must be \"ScorchChar\"");
  }
  if (!model.contains("characters") || !model["characters"].is_array()) {
    return Status::InvalidArgument("char tokenizer JSON: model.characters: expected an array of strings");
  }
  std::vector<std::string> specials;
  if (root.contains("added_tokens")) {
    const json& added = root["added_tokens"];
    if (!added.is_array()) return Status::InvalidArgument("char tokenizer JSON: added_tokens: expected an array");
    for (size_t i = 0; i < added.size(); ++i) {
      const json& t = added[i];
      if (!t.is_object() || !t.contains("content") || !t["content"].is_string() || !t.contains("id") ||
          !t["id"].is_number_integer() || t["id"].get<int64_t>() != static_cast<int64_t>(i)) {
        return Status::InvalidArgument("char tokenizer JSON: added_tokens[" + std::to_string(i) +
                                       "]: expected {\"id\": " + std::to_string(i) + ", \"content\": string}");
      }
      specials.push_back(t["content"].get<std::string>());
    }
  }
  std::string characters;
  for (size_t i = 0; i < model["characters"].size(); ++i) {
    const json& c = model["characters"][i];
    if (!c.is_string()) {
      return Status::InvalidArgument("char tokenizer JSON: model.characters[" + std::to_string(i) + "]: not a string");
    }
    const std::string s = c.get<std::string>();
    size_t pos = 0;
    char32_t cp;
    if (!unicode::DecodeUtf8(s, &pos, &cp) || pos != s.size()) {
      return Status::InvalidArgument("char tokenizer JSON: model.characters[" + std::to_string(i) +
                                     "]: must be exactly one character");
    }
    characters += s;
  }
  Roles roles;
  auto role = [&](const char* field, std::string* out) -> Status {
    if (!model.contains(field) || model[field].is_null()) {
      out->clear();
      return Status::Ok();
    }
    if (!model[field].is_string()) {
      return Status::InvalidArgument(std::string("char tokenizer JSON: model.") + field + ": expected a string");
    }
    *out = model[field].get<std::string>();
    return Status::Ok();
  };
  SCORCH_RETURN_IF_ERROR(role("eos_token", &roles.eos));
  SCORCH_RETURN_IF_ERROR(role("pad_token", &roles.pad));
  SCORCH_RETURN_IF_ERROR(role("bos_token", &roles.bos));
  return Create(specials, characters, roles);
}

}  // namespace scorch::model
