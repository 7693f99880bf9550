// GPT-2 byte-level alphabet (see byte_level.h).
#include "byte_level.h"

#include "scorch/model/unicode.h"

namespace scorch::model::byte_level {

const Tables& GetTables() {
  static const Tables tables = [] {
    Tables t;
    t.char_to_byte.fill(-1);
    std::array<bool, 256> printable{};
    for (int b = '!'; b <= '~'; ++b) printable[b] = true;
    for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
    for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
    int next = 0;
    for (int b = 0; b < 256; ++b) {
      const char32_t cp = printable[b] ? static_cast<char32_t>(b) : static_cast<char32_t>(256 + next++);
      t.byte_to_char[b] = cp;
      t.byte_to_utf8[b].clear();
      unicode::AppendUtf8(cp, &t.byte_to_utf8[b]);
      t.char_to_byte[cp] = static_cast<int16_t>(b);
    }
    return t;
  }();
  return tables;
}

void AppendEncoded(std::string_view bytes, std::string* out) {
  const Tables& t = GetTables();
  for (char c : bytes) out->append(t.byte_to_utf8[static_cast<unsigned char>(c)]);
}

bool Decode(std::string_view token, std::string* out) {
  const Tables& t = GetTables();
  const size_t start = out->size();
  size_t pos = 0;
  while (pos < token.size()) {
    char32_t cp;
    if (!unicode::DecodeUtf8(token, &pos, &cp) || cp >= t.char_to_byte.size() || t.char_to_byte[cp] < 0) {
      out->resize(start);
      return false;
    }
    out->push_back(static_cast<char>(t.char_to_byte[cp]));
  }
  return true;
}

}  // namespace scorch::model::byte_level
