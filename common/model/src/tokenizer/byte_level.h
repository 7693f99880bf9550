// Private: GPT-2's byte-level alphabet. Every byte 0..255 maps to one printable code point
// (bytes that are printable Latin-1 map to themselves, the others to U+0100..U+0143), so any
// byte string becomes a string of "characters" that BPE can merge. Immutable after first use;
// thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <string>

namespace scorch::model::byte_level {

struct Tables {
  std::array<char32_t, 256> byte_to_char;          // byte -> code point
  std::array<std::string, 256> byte_to_utf8;       // byte -> UTF-8 of that code point
  std::array<int16_t, 0x144> char_to_byte;         // code point (< 0x144) -> byte, or -1
};

// The tables, built once (thread-safe static initialisation).
const Tables& GetTables();

// Appends the byte-level spelling of `bytes` (each byte as its code point in UTF-8).
void AppendEncoded(std::string_view bytes, std::string* out);

// Maps a byte-level token back to bytes. Returns false when some character of `token` is not
// in the byte-level alphabet (the caller then uses the token's own UTF-8, as tokenizers does).
bool Decode(std::string_view token, std::string* out);

}  // namespace scorch::model::byte_level
