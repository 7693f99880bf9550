// UTF-8 decoding/repair and NFC normalization (see unicode.h).
#include "scorch/model/unicode.h"

#include <algorithm>
#include <vector>

#include "unicode_nfc_data.h"

namespace scorch::model::unicode {
namespace {

namespace ud = ::scorch::model::unicode_data;

// Hangul syllable composition constants (Unicode §3.12).
constexpr char32_t kSBase = 0xAC00, kLBase = 0x1100, kVBase = 0x1161, kTBase = 0x11A7;
constexpr int kLCount = 19, kVCount = 21, kTCount = 28;
constexpr int kNCount = kVCount * kTCount, kSCount = kLCount * kNCount;

// Examines the sequence at s[pos]. Returns its length when it is one well-formed code point
// (and stores it in *cp); otherwise returns 0 and stores in *subpart the length of the
// maximal invalid subpart (>= 1) to replace with one U+FFFD.
size_t Examine(std::string_view s, size_t pos, char32_t* cp, size_t* subpart) {
  const auto b0 = static_cast<unsigned char>(s[pos]);
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  }
  size_t need;
  unsigned char lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  char32_t value;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    need = 1;
    value = b0 & 0x1F;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    need = 2;
    value = b0 & 0x0F;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    need = 3;
    value = b0 & 0x07;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    *subpart = 1;
    return 0;
  }
  for (size_t k = 1; k <= need; ++k) {
    if (pos + k >= s.size()) {
      *subpart = k;
      return 0;
    }
    const auto b = static_cast<unsigned char>(s[pos + k]);
    const unsigned char min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) {
      *subpart = k;
      return 0;
    }
    value = (value << 6) | (b & 0x3F);
  }
  *cp = value;
  return need + 1;
}

const ud::Decomposition* FindDecomposition(char32_t cp) {
  const ud::Decomposition* end = ud::kDecomposition + ud::kDecompositionSize;
  const auto* it = std::lower_bound(ud::kDecomposition, end, cp,
                                    [](const ud::Decomposition& d, char32_t c) { return d.cp < c; });
  return it != end && it->cp == cp ? it : nullptr;
}

void Decompose(char32_t cp, std::vector<char32_t>* out) {
  if (cp >= kSBase && cp < kSBase + kSCount) {
    const int s = static_cast<int>(cp - kSBase);
    out->push_back(kLBase + s / kNCount);
    out->push_back(kVBase + (s % kNCount) / kTCount);
    if (s % kTCount != 0) out->push_back(kTBase + s % kTCount);
    return;
  }
  const ud::Decomposition* d = FindDecomposition(cp);
  if (d == nullptr) {
    out->push_back(cp);
    return;
  }
  Decompose(d->first, out);
  if (d->second != 0) Decompose(d->second, out);
}

// Primary composite of (a, b), or 0 when there is none.
char32_t Compose(char32_t a, char32_t b) {
  if (a >= kLBase && a < kLBase + kLCount && b >= kVBase && b < kVBase + kVCount) {
    return kSBase + ((a - kLBase) * kVCount + (b - kVBase)) * kTCount;
  }
  if (a >= kSBase && a < kSBase + kSCount && (a - kSBase) % kTCount == 0 && b > kTBase &&
      b < kTBase + kTCount) {
    return a + (b - kTBase);
  }
  const ud::Composition* end = ud::kComposition + ud::kCompositionSize;
  const auto* it = std::lower_bound(ud::kComposition, end, std::make_pair(a, b),
                                    [](const ud::Composition& c, std::pair<char32_t, char32_t> k) {
                                      return c.first < k.first ||
                                             (c.first == k.first && c.second < k.second);
                                    });
  return it != end && it->first == a && it->second == b ? it->composite : 0;
}

bool InQuickCheckSet(char32_t cp) {
  const ud::CodePointRange* end = ud::kNfcQuickCheck + ud::kNfcQuickCheckSize;
  const auto* it = std::upper_bound(ud::kNfcQuickCheck, end, cp,
                                    [](char32_t c, const ud::CodePointRange& r) { return c < r.first; });
  if (it == ud::kNfcQuickCheck) return false;
  --it;
  return cp >= it->first && cp <= it->last;
}

}  // namespace

bool DecodeUtf8(std::string_view s, size_t* pos, char32_t* cp) {
  if (*pos >= s.size()) return false;
  size_t subpart = 0;
  const size_t n = Examine(s, *pos, cp, &subpart);
  if (n == 0) return false;
  *pos += n;
  return true;
}

void AppendUtf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

bool Utf8Validate(std::string_view s, size_t* error_offset) {
  size_t pos = 0;
  while (pos < s.size()) {
    if (static_cast<unsigned char>(s[pos]) < 0x80) {
      ++pos;
      continue;
    }
    char32_t cp;
    size_t subpart;
    const size_t n = Examine(s, pos, &cp, &subpart);
    if (n == 0) {
      if (error_offset != nullptr) *error_offset = pos;
      return false;
    }
    pos += n;
  }
  return true;
}

std::string Utf8Lossy(std::string_view s) {
  if (Utf8Validate(s)) return std::string(s);
  std::string out;
  out.reserve(s.size() + 8);
  size_t pos = 0;
  while (pos < s.size()) {
    char32_t cp;
    size_t subpart = 0;
    const size_t n = Examine(s, pos, &cp, &subpart);
    if (n > 0) {
      out.append(s.substr(pos, n));
      pos += n;
    } else {
      AppendUtf8(kReplacementChar, &out);
      pos += subpart;
    }
  }
  return out;
}

size_t Utf8CompletePrefixLength(std::string_view s) {
  // A code point is at most 4 bytes: only the last 3 bytes can start an incomplete sequence.
  const size_t start = s.size() > 3 ? s.size() - 3 : 0;
  for (size_t pos = start; pos < s.size(); ++pos) {
    const auto b = static_cast<unsigned char>(s[pos]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte
    char32_t cp;
    size_t subpart = 0;
    if (Examine(s, pos, &cp, &subpart) == 0 && pos + subpart == s.size() && b >= 0xC2 && b <= 0xF4) {
      return pos;  // a well-formed but truncated sequence at the very end
    }
  }
  return s.size();
}

int CombiningClass(char32_t cp) {
  if (cp < 0x300) return 0;
  const ud::CccRange* end = ud::kCombiningClass + ud::kCombiningClassSize;
  const auto* it = std::upper_bound(ud::kCombiningClass, end, cp,
                                    [](char32_t c, const ud::CccRange& r) { return c < r.first; });
  if (it == ud::kCombiningClass) return 0;
  --it;
  return cp >= it->first && cp <= it->last ? it->ccc : 0;
}

bool IsWhitespace(char32_t cp) {
  return (cp >= 0x09 && cp <= 0x0D) || cp == 0x20 || cp == 0x85 || cp == 0xA0 || cp == 0x1680 ||
         (cp >= 0x2000 && cp <= 0x200A) || cp == 0x2028 || cp == 0x2029 || cp == 0x202F ||
         cp == 0x205F || cp == 0x3000;
}

bool IsNfcQuick(std::string_view s) {
  size_t pos = 0;
  while (pos < s.size()) {
    const auto b = static_cast<unsigned char>(s[pos]);
    if (b < 0x80) {
      ++pos;
      continue;
    }
    char32_t cp;
    if (!DecodeUtf8(s, &pos, &cp)) return false;
    if (cp >= 0x300 && InQuickCheckSet(cp)) return false;
  }
  return true;
}

std::string NormalizeNfc(std::string_view s) {
  if (IsNfcQuick(s)) return std::string(s);
  // 1. Full canonical decomposition.
  std::vector<char32_t> cps;
  cps.reserve(s.size());
  size_t pos = 0;
  while (pos < s.size()) {
    char32_t cp;
    if (!DecodeUtf8(s, &pos, &cp)) {  // REQUIRES valid input; stay safe anyway
      cp = kReplacementChar;
      ++pos;
    }
    Decompose(cp, &cps);
  }
  // 2. Canonical ordering: stable sort of each run of non-starters by combining class.
  std::vector<int> ccc(cps.size());
  for (size_t i = 0; i < cps.size(); ++i) ccc[i] = CombiningClass(cps[i]);
  for (size_t i = 1; i < cps.size(); ++i) {
    for (size_t j = i; j > 0 && ccc[j] != 0 && ccc[j - 1] > ccc[j]; --j) {
      std::swap(cps[j], cps[j - 1]);
      std::swap(ccc[j], ccc[j - 1]);
    }
  }
  // 3. Canonical composition.
  std::vector<char32_t> out;
  out.reserve(cps.size());
  long starter = -1;  // index in `out` of the last starter
  int last_ccc = 0;   // combining class of the last code point appended to `out`
  for (size_t i = 0; i < cps.size(); ++i) {
    const char32_t cp = cps[i];
    const int cc = ccc[i];
    if (starter >= 0) {
      const bool adjacent = static_cast<long>(out.size()) - 1 == starter;
      if (adjacent || (last_ccc != 0 && last_ccc < cc)) {
        const char32_t composite = Compose(out[starter], cp);
        if (composite != 0) {
          out[starter] = composite;
          continue;
        }
      }
    }
    if (cc == 0) starter = static_cast<long>(out.size());
    last_ccc = cc;
    out.push_back(cp);
  }
  std::string result;
  result.reserve(s.size());
  for (char32_t cp : out) AppendUtf8(cp, &result);
  return result;
}

}  // namespace scorch::model::unicode
