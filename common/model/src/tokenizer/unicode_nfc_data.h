// Private: the Unicode tables behind NFC normalization (unicode.cc). The data lives in the
// generated unicode_<table>_data.cc files, one per table
// (tools/tokenizer_reference/gen_unicode_tables.py). All arrays are sorted by their first
// field and immutable, so any thread may read them.
#pragma once

#include <cstdint>

namespace scorch::model::unicode_data {

struct CccRange {
  uint32_t first;
  uint32_t last;
  uint8_t ccc;  // canonical combining class of every code point in [first, last]
};
struct Decomposition {
  uint32_t cp;
  uint32_t first;
  uint32_t second;  // 0 for a singleton decomposition
};
struct Composition {
  uint32_t first;
  uint32_t second;
  uint32_t composite;
};
struct CodePointRange {
  uint32_t first;
  uint32_t last;
};

extern const char kUnicodeVersion[];
extern const CccRange kCombiningClass[];
extern const int kCombiningClassSize;
extern const Decomposition kDecomposition[];
extern const int kDecompositionSize;
extern const Composition kComposition[];
extern const int kCompositionSize;
extern const CodePointRange kNfcQuickCheck[];  // code points that may make a string non-NFC
extern const int kNfcQuickCheckSize;

}  // namespace scorch::model::unicode_data
