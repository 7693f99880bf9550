// UTF-8 and Unicode helpers for the tokenizers: strict UTF-8 decoding and validation, lossy
// repair of invalid byte sequences (U+FFFD per maximal invalid subpart, as Rust's
// String::from_utf8_lossy and the WHATWG decoder do), and NFC normalization.
//
// NFC uses tables generated from Unicode 14 (tools/tokenizer_reference/gen_unicode_tables.py);
// strings already in NFC (all ASCII, all CJK, almost all real text) are detected by a quick
// check and returned unchanged without the decompose/reorder/compose passes.
//
// Ownership: pure functions over caller-owned strings. Thread-safety: all functions are
// thread-safe (the tables are immutable). Errors: none of these functions fail; functions
// that require valid UTF-8 say so (validate first with Utf8Validate).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace scorch::model::unicode {

inline constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes the code point starting at s[*pos] and advances *pos past it. Returns false (and
// leaves *pos unchanged) when the bytes there are not a complete, well-formed UTF-8 sequence
// (overlong forms, surrogates and values above U+10FFFF are rejected).
bool DecodeUtf8(std::string_view s, size_t* pos, char32_t* cp);

// Appends the UTF-8 encoding of cp (REQUIRES: cp <= 0x10FFFF and not a surrogate).
void AppendUtf8(char32_t cp, std::string* out);

// True when s is well-formed UTF-8. On false, *error_offset (if given) is the byte offset of
// the first invalid sequence.
bool Utf8Validate(std::string_view s, size_t* error_offset = nullptr);

// Returns s with every maximal invalid subpart replaced by U+FFFD (valid input is returned
// unchanged).
std::string Utf8Lossy(std::string_view s);

// Length of the longest prefix of s that does not end inside an incomplete (but so far
// well-formed) UTF-8 sequence; used by streaming detokenizers to hold back a partial code point.
size_t Utf8CompletePrefixLength(std::string_view s);

// True when the quick check proves s (valid UTF-8) is already in NFC.
bool IsNfcQuick(std::string_view s);

// Unicode Normalization Form C of s. REQUIRES: s is valid UTF-8.
std::string NormalizeNfc(std::string_view s);

// Canonical combining class of cp (0 for starters).
int CombiningClass(char32_t cp);

// True for code points with the Unicode White_Space property (as Rust's char::is_whitespace).
bool IsWhitespace(char32_t cp);

}  // namespace scorch::model::unicode
