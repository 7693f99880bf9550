// UTF-8 decoding/repair and NFC normalization (scorch/model/unicode.h).
#include <string>

#include <gtest/gtest.h>

#include "scorch/model/unicode.h"

namespace scorch::model::unicode {
namespace {

const std::string kFffd = "\xEF\xBF\xBD";

TEST(Utf8Test, ValidateRejectsMalformedSequences) {
  EXPECT_TRUE(Utf8Validate("plain ascii"));
  EXPECT_TRUE(Utf8Validate("\xE4\xBD\xA0\xE5\xA5\xBD \xF0\x9F\x98\x80"));
  size_t at = 99;
  EXPECT_FALSE(Utf8Validate("ab\xC0\xAF", &at));  // overlong '/'
  EXPECT_EQ(at, 2u);
  EXPECT_FALSE(Utf8Validate("\xED\xA0\x80"));      // surrogate U+D800
  EXPECT_FALSE(Utf8Validate("\xF4\x90\x80\x80"));  // > U+10FFFF
  EXPECT_FALSE(Utf8Validate("\xE4\xBD"));          // truncated
  EXPECT_FALSE(Utf8Validate("\x80"));              // lone continuation
}

TEST(Utf8Test, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(Utf8Lossy("ok"), "ok");
  EXPECT_EQ(Utf8Lossy("a\xF0\x9F\x98"), "a" + kFffd);                  // one truncated sequence
  EXPECT_EQ(Utf8Lossy("\xC0\xAF"), kFffd + kFffd);                     // C0 never valid
  EXPECT_EQ(Utf8Lossy("\xED\xA0\x80"), kFffd + kFffd + kFffd);         // surrogates: per byte
  EXPECT_EQ(Utf8Lossy("\xE4\xBD" "x"), kFffd + "x");                   // cut short by ASCII
  EXPECT_EQ(Utf8Lossy("\xFF\xFE"), kFffd + kFffd);
}

TEST(Utf8Test, CompletePrefixHoldsBackOnlyATruncatedTail) {
  EXPECT_EQ(Utf8CompletePrefixLength("abc"), 3u);
  EXPECT_EQ(Utf8CompletePrefixLength("ab\xF0\x9F\x98"), 2u);
  EXPECT_EQ(Utf8CompletePrefixLength("ab\xF0\x9F\x98\x80"), 6u);
  EXPECT_EQ(Utf8CompletePrefixLength("ab\xE4"), 2u);
  EXPECT_EQ(Utf8CompletePrefixLength("ab\xFF"), 3u);  // invalid, not incomplete: nothing to wait for
}

TEST(Utf8Test, DecodeAndAppendRoundTrip) {
  for (char32_t cp : {U'\0', U'A', U'\u00E9', U'\u4F60', U'\U0001F600', U'\U0010FFFF'}) {
    std::string s;
    AppendUtf8(cp, &s);
    size_t pos = 0;
    char32_t back = 0;
    ASSERT_TRUE(DecodeUtf8(s, &pos, &back));
    EXPECT_EQ(back, cp);
    EXPECT_EQ(pos, s.size());
  }
}

TEST(NfcTest, ComposesDecomposedText) {
  EXPECT_EQ(NormalizeNfc("cafe\xCC\x81"), "caf\xC3\xA9");                   // e + U+0301 -> é
  EXPECT_EQ(NormalizeNfc("\xE2\x84\xAB"), "\xC3\x85");                      // Angstrom sign -> Å
  EXPECT_EQ(NormalizeNfc("\xE2\x84\xA6"), "\xCE\xA9");                      // Ohm sign -> Ω
  EXPECT_EQ(NormalizeNfc("\xE1\x84\x80\xE1\x85\xA1\xE1\x86\xA8"), "\xEA\xB0\x81");  // jamo -> 각
  EXPECT_EQ(NormalizeNfc("\xEA\xB0\x81"), "\xEA\xB0\x81");                  // precomposed stays
  EXPECT_EQ(NormalizeNfc("\xEF\xAC\x81"), "\xEF\xAC\x81");                  // ﬁ: compatibility only
}

TEST(NfcTest, ReordersMarksBeforeComposing) {
  // a + dot above (230) + dot below (220) and the other order both give ạ̇ = U+1EA1 U+0307.
  const std::string expected = "\xE1\xBA\xA1\xCC\x87";
  EXPECT_EQ(NormalizeNfc("a\xCC\x87\xCC\xA3"), expected);
  EXPECT_EQ(NormalizeNfc("a\xCC\xA3\xCC\x87"), expected);
  // A blocked mark: two acutes on e compose only the first.
  EXPECT_EQ(NormalizeNfc("e\xCC\x81\xCC\x81"), "\xC3\xA9\xCC\x81");
  // Composition exclusion: U+0958 stays decomposed (क + nukta).
  EXPECT_EQ(NormalizeNfc("\xE0\xA5\x98"), "\xE0\xA4\x95\xE0\xA4\xBC");
}

TEST(NfcTest, QuickCheck) {
  EXPECT_TRUE(IsNfcQuick("hello"));
  EXPECT_TRUE(IsNfcQuick("\xE4\xBD\xA0\xE5\xA5\xBD"));  // CJK
  EXPECT_TRUE(IsNfcQuick("caf\xC3\xA9"));
  EXPECT_FALSE(IsNfcQuick("cafe\xCC\x81"));
  EXPECT_EQ(CombiningClass(0x0301), 230);
  EXPECT_EQ(CombiningClass(0x0323), 220);
  EXPECT_EQ(CombiningClass('a'), 0);
}

TEST(WhitespaceTest, UnicodeWhiteSpaceProperty) {
  for (char32_t cp : {U' ', U'\t', U'\n', U'\u00A0', U'\u3000', U'\u2028', U'\u0085'}) EXPECT_TRUE(IsWhitespace(cp));
  for (char32_t cp : {U'a', U'\u200B', U'\uFEFF', U'_'}) EXPECT_FALSE(IsWhitespace(cp));
}

}  // namespace
}  // namespace scorch::model::unicode
