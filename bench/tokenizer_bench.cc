// Tokenizer throughput: Qwen3 byte-level BPE encode/decode and the character tokenizer, with
// a baseline measured in the same run — plain UTF-8 iteration over the same bytes (decoding
// every code point), the least any tokenizer must do.
//
// Usage: tokenizer_bench --out FILE [--tokenizer PATH] [--min-seconds S]
// Text: tests/fixtures/tokenizer/corpus.jsonl (441 varied strings) joined with newlines and
// repeated to ~1 MB. "cold" = first pass with an empty word cache; "warm" = later passes.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scorch/model/char_tokenizer.h"
#include "scorch/model/tokenizer.h"
#include "scorch/model/unicode.h"

namespace {

using Clock = std::chrono::steady_clock;
using scorch::model::TokenId;

double Seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// Runs fn() repeatedly for at least min_seconds; returns seconds per call.
template <typename Fn>
double TimePerCall(double min_seconds, Fn&& fn) {
  int calls = 0;
  const auto start = Clock::now();
  double elapsed = 0;
  do {
    fn();
    ++calls;
    elapsed = Seconds(start, Clock::now());
  } while (elapsed < min_seconds);
  return elapsed / calls;
}

}  // namespace

int main(int argc, char** argv) {
  std::string out_path, tokenizer_path = std::string(SCORCH_SOURCE_DIR) + "/tests/fixtures/tokenizer/qwen3";
  double min_seconds = 1.0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--out" && i + 1 < argc) {
      out_path = argv[++i];
    } else if (a == "--tokenizer" && i + 1 < argc) {
      tokenizer_path = argv[++i];
    } else if (a == "--min-seconds" && i + 1 < argc) {
      min_seconds = std::stod(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: tokenizer_bench --out FILE [--tokenizer PATH] [--min-seconds S]\n");
      return 2;
    }
  }

  std::vector<std::string> lines;
  {
    std::ifstream in(std::string(SCORCH_SOURCE_DIR) + "/tests/fixtures/tokenizer/corpus.jsonl");
    std::string line;
    while (std::getline(in, line)) {
      if (!line.empty()) lines.push_back(nlohmann::json::parse(line)["text"].get<std::string>());
    }
  }
  if (lines.empty()) {
    std::fprintf(stderr, "tokenizer_bench: corpus not found under %s\n", SCORCH_SOURCE_DIR);
    return 1;
  }
  std::string corpus;
  for (const std::string& l : lines) corpus += l + "\n";
  std::string text;
  while (text.size() < (1u << 20)) text += corpus;
  const double mb = static_cast<double>(text.size()) / 1e6;

  const auto load_start = Clock::now();
  auto tokenizer = scorch::model::LoadTokenizer(tokenizer_path);
  const double load_s = Seconds(load_start, Clock::now());
  if (!tokenizer.ok()) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", tokenizer.status().ToString().c_str());
    return 1;
  }
  const scorch::model::Tokenizer& bpe = **tokenizer;

  // Baseline: decode every code point of the text.
  uint64_t checksum = 0;
  const double baseline_s = TimePerCall(min_seconds, [&] {
    size_t pos = 0;
    char32_t cp;
    while (pos < text.size()) {
      if (!scorch::model::unicode::DecodeUtf8(text, &pos, &cp)) ++pos;
      checksum += cp;
    }
  });

  const auto cold_start = Clock::now();
  auto cold_ids = bpe.Encode(corpus);
  const double cold_s = Seconds(cold_start, Clock::now());
  if (!cold_ids.ok()) {
    std::fprintf(stderr, "tokenizer_bench: %s\n", cold_ids.status().ToString().c_str());
    return 1;
  }
  std::vector<TokenId> ids;
  const double encode_s = TimePerCall(min_seconds, [&] { ids = std::move(bpe.Encode(text)).value(); });
  size_t line_tokens = 0;
  const double lines_s = TimePerCall(min_seconds, [&] {
    line_tokens = 0;
    for (const std::string& l : lines) line_tokens += bpe.Encode(l)->size();
  });
  const double decode_s = TimePerCall(min_seconds, [&] { checksum += bpe.Decode(ids)->size(); });

  auto chars = scorch::model::CharTokenizer::CreateDefault();
  std::string ascii;
  while (ascii.size() < (1u << 20)) ascii += "Let's compute 12*(3+4)-5 = 79. \\boxed{79}\n[VERIFY] correct.\n";
  std::vector<TokenId> char_ids;
  const double char_s = TimePerCall(min_seconds, [&] { char_ids = std::move(chars->Encode(ascii)).value(); });

  const double baseline_mb_s = mb / baseline_s;
  const double encode_mb_s = mb / encode_s;
  nlohmann::json result = {
      {"bench", "tokenizer"},
      {"tokenizer", tokenizer_path},
      {"text_bytes", text.size()},
      {"load_seconds", load_s},
      {"baseline_utf8_iteration_mb_per_s", baseline_mb_s},
      {"bpe_encode_cold_mb_per_s", static_cast<double>(corpus.size()) / 1e6 / cold_s},
      {"bpe_encode_cold_tokens_per_s", static_cast<double>(cold_ids->size()) / cold_s},
      {"bpe_encode_warm_mb_per_s", encode_mb_s},
      {"bpe_encode_warm_tokens_per_s", static_cast<double>(ids.size()) / encode_s},
      {"bpe_encode_per_line_tokens_per_s", static_cast<double>(line_tokens) / lines_s},
      {"bpe_encode_fraction_of_baseline", encode_mb_s / baseline_mb_s},
      {"bpe_bytes_per_token", static_cast<double>(text.size()) / static_cast<double>(ids.size())},
      {"bpe_decode_tokens_per_s", static_cast<double>(ids.size()) / decode_s},
      {"char_encode_tokens_per_s", static_cast<double>(char_ids.size()) / char_s},
      {"checksum", checksum % 1000},
  };
  const std::string dump = result.dump(2);
  std::printf("%s\n", dump.c_str());
  if (!out_path.empty()) {
    std::ofstream out(out_path);
    out << dump << "\n";
    if (!out) {
      std::fprintf(stderr, "tokenizer_bench: cannot write %s\n", out_path.c_str());
      return 1;
    }
  }
  return 0;
}
