// `scorch tokenize`: encode text with a tokenizer.json (Hugging Face byte-level BPE, or
// scorch's character tokenizer) and print the token ids.
//
//   scorch tokenize --tokenizer FILE|DIR --text "..." [--verbose] [--add-special-tokens]
//       Prints the ids as one JSON array; --verbose then prints one line per token:
//       id <TAB> token as stored in the vocabulary (JSON string) <TAB> its text (JSON string).
//   scorch tokenize --tokenizer FILE|DIR --json [--add-special-tokens]
//       Reads stdin line by line; each line must be one JSON string (UTF-8). Prints, per input
//       line, the JSON array of its token ids (no special tokens added unless asked).
//       A bad line (not a JSON string, or text the tokenizer rejects) prints `null` on stdout
//       so output lines stay aligned with input lines, an error naming the line number on
//       stderr, and processing continues; the exit status is 1 if any line was bad.
// Exit status 2 when the tokenizer cannot be loaded or the options are wrong.
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "scorch/model/tokenizer.h"

namespace scorch::app {
namespace {

struct TokenizeOptions {
  std::string tokenizer;
  std::string text;
  bool json_lines = false;
  bool verbose = false;
  bool add_special_tokens = false;
};

std::string IdsJson(const std::vector<model::TokenId>& ids) {
  std::string out = "[";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) out += ',';
    out += std::to_string(ids[i]);
  }
  out += ']';
  return out;
}

// JSON string of possibly invalid UTF-8 (invalid bytes become U+FFFD).
std::string JsonString(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

int RunText(const model::Tokenizer& tokenizer, const TokenizeOptions& o) {
  auto ids = tokenizer.Encode(o.text, o.add_special_tokens);
  if (!ids.ok()) {
    std::fprintf(stderr, "scorch tokenize: --text: %s\n", ids.status().ToString().c_str());
    return 1;
  }
  std::printf("%s\n", IdsJson(*ids).c_str());
  if (o.verbose) {
    for (model::TokenId id : *ids) {
      const std::vector<model::TokenId> one = {id};
      auto bytes = tokenizer.DecodeBytes(one);
      std::printf("%d\t%s\t%s\n", id, JsonString(tokenizer.IdToToken(id).value_or("")).c_str(),
                  JsonString(bytes.ok() ? *bytes : "").c_str());
    }
  }
  return 0;
}

int RunJsonLines(const model::Tokenizer& tokenizer, const TokenizeOptions& o) {
  std::string line;
  size_t line_number = 0, bad = 0;
  while (std::getline(std::cin, line)) {
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    std::string error;
    std::string text;
    try {
      const nlohmann::json j = nlohmann::json::parse(line);
      if (j.is_string()) {
        text = j.get<std::string>();
      } else {
        error = std::string("expected a JSON string, got ") + j.type_name();
      }
    } catch (const nlohmann::json::exception& e) {
      error = std::string("not valid JSON: ") + e.what();
    }
    if (error.empty()) {
      auto ids = tokenizer.Encode(text, o.add_special_tokens);
      if (ids.ok()) {
        std::fputs(IdsJson(*ids).c_str(), stdout);
        std::fputc('\n', stdout);
        std::fflush(stdout);
        continue;
      }
      error = ids.status().ToString();
    }
    ++bad;
    std::fprintf(stderr, "scorch tokenize: line %zu: %s\n", line_number, error.c_str());
    std::fputs("null\n", stdout);
    std::fflush(stdout);
  }
  if (bad > 0) {
    std::fprintf(stderr, "scorch tokenize: %zu of %zu lines were bad\n", bad, line_number);
    return 1;
  }
  return 0;
}

}  // namespace

void RegisterTokenizeCommand(CLI::App& app) {
  auto* cmd = app.add_subcommand("tokenize", "Encode text with a tokenizer.json and print token ids");
  auto o = std::make_shared<TokenizeOptions>();
  cmd->add_option("--tokenizer", o->tokenizer, "tokenizer.json, or a model directory holding one")->required();
  auto* text = cmd->add_option("--text", o->text, "Text to encode; prints its ids as a JSON array");
  auto* json = cmd->add_flag("--json", o->json_lines,
                             "Read one JSON string per stdin line; print one JSON array of ids per line "
                             "(bad lines: `null`, an error on stderr, exit 1 at the end)");
  text->excludes(json);
  cmd->add_flag("-v,--verbose", o->verbose, "With --text: also print id, token and text, one per line");
  cmd->add_flag("--add-special-tokens", o->add_special_tokens,
                "Add the post-processor's tokens (e.g. Llama-3's <|begin_of_text|>)");
  cmd->callback([o, text] {
    if (text->count() == 0 && !o->json_lines) {
      std::fprintf(stderr, "scorch tokenize: give --text TEXT or --json (see --help)\n");
      throw CommandExit{2};
    }
    auto tokenizer = model::LoadTokenizer(o->tokenizer);
    if (!tokenizer.ok()) {
      std::fprintf(stderr, "scorch tokenize: cannot load tokenizer: %s\n", tokenizer.status().ToString().c_str());
      throw CommandExit{2};
    }
    const int code = o->json_lines ? RunJsonLines(**tokenizer, *o) : RunText(**tokenizer, *o);
    if (code != 0) throw CommandExit{code};
  });
}

}  // namespace scorch::app
