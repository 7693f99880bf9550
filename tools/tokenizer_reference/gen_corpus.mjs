// Writes the tokenizer conformance corpus: one JSON object {"category", "text"} per line.
//
// Deterministic: a fixed-seed PRNG (mulberry32) drives every generated string, so running
// this twice gives byte-identical output. Usage: node gen_corpus.mjs OUT.jsonl
//
// Categories cover what the byte-level BPE pre-tokenizer must get right: English with
// contractions, CJK and other scripts, math LaTeX, code, whitespace runs, emoji (ZWJ, flags,
// skin tones, keycaps), numbers of all lengths, special tokens inside text, NFC cases and very
// long words, plus random mixtures over a mixed alphabet.
import { writeFileSync } from "node:fs";

const out = process.argv[2];
if (!out) {
  console.error("usage: node gen_corpus.mjs OUT.jsonl");
  process.exit(2);
}

function mulberry32(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rand = mulberry32(20261122);
const randInt = (lo, hi) => lo + Math.floor(rand() * (hi - lo + 1));  // inclusive
const pick = (arr) => arr[Math.floor(rand() * arr.length)];

const rows = [];
const add = (category, text) => rows.push({ category, text });

// --- English, contractions ---------------------------------------------------------------
const english = [
  "Hello, world!",
  "The quick brown fox jumps over the lazy dog.",
  "I don't think it's going to rain; they'll be fine, won't they?",
  "SHE'S HERE AND WE'RE READY. I'M SURE YOU'VE SEEN IT, HE'D SAY.",
  "She's, he'll, they'd, we've, I'm, you're, it's, can't, shouldn't've",
  "'s 't 're 've 'm 'll 'd",
  "'S 'T 'RE 'VE 'M 'LL 'D",
  "rock'n'roll o'clock ma'am y'all",
  "\"Quoted\" text with 'single quotes' and `backticks`.",
  "Mr. Smith paid $1,234.56 for 3.5 kg of apples on 2024-01-15 at 10:30am.",
  "e-mail: someone@example.com, url: https://www.example.org/path?q=1&r=two#frag",
  "Wait... what?! No way!!! (Really?) [Yes.] {Maybe.}",
  "Hyphenated-words and under_scored_words and CamelCaseWords and snake_case_42",
  "   leading spaces and trailing spaces   ",
  "A sentence.\nAnother sentence on a new line.\n\nA paragraph break.",
  "Let's think step by step and output the final answer within \\boxed{}.",
  "You are a mathematical reasoning assistant. For each problem, follow these steps strictly:\n\n1. Solve the problem using step-by-step reasoning and output the final answer within \\boxed{}.\n\nAlways ensure clarity, correctness, and adherence to the required format.",
  "2. Perform a self-evaluation: - You may include reasoning to verify correctness. - However, your final self-evaluation **must** be in one of the following formats: `[VERIFY] correct.` or `[VERIFY] wrong.`",
  "[VERIFY] correct.",
  "[VERIFY] wrong.",
  "\\boxed{\\text{[VERIFY] wrong.}}",
  "3. please identify the mistake in your previous reasoning, revise your reasoning path and output a corrected final answer within \\boxed{}.",
  "Is my most recent final answer correct (Yes or No)? Yes.",
  "It seems that the previous answer was actually correct.",
  "Tabs\tbetween\twords\tand a trailing tab\t",
  "ALL CAPS SENTENCE WITH NUMBERS 123 AND SYMBOLS #@!",
  "x",
  "I",
  "a b c d e f g",
  "Don’t use curly apostrophes’s ‘like’ “this”",
];
english.forEach((t) => add("english", t));

// --- Other scripts -------------------------------------------------------------------------
const scripts = [
  ["chinese", "你好，世界！"],
  ["chinese", "今天天气很好，我们去公园散步吧。"],
  ["chinese", "机器学习是人工智能的一个分支，它使计算机能够从数据中学习。"],
  ["chinese", "求解方程 x^2 - 5x + 6 = 0 的所有实数根。"],
  ["chinese", "答案是 \\boxed{42}。"],
  ["chinese", "中文和English混合的句子，包含数字123和符号！"],
  ["chinese", "《红楼梦》是中国古典四大名著之一。"],
  ["chinese", "一二三四五六七八九十百千万亿"],
  ["chinese", "繁體中文與簡體中文的區別在於字形。"],
  ["chinese", "「引號」『雙引號』（括號）【方括號】"],
  ["chinese", "我爱北京天安门，天安门上太阳升。"],
  ["chinese", "请一步一步地思考，并把最终答案放在\\boxed{}中。"],
  ["japanese", "こんにちは、世界！"],
  ["japanese", "私は日本語を勉強しています。"],
  ["japanese", "カタカナとひらがなと漢字が混ざった文章です。"],
  ["japanese", "東京タワーは高さ333メートルです。"],
  ["japanese", "ｶﾀｶﾅ 半角カナ ＡＢＣ 全角英字 １２３"],
  ["japanese", "「ありがとうございます」と彼は言った。"],
  ["japanese", "ガ パ ヴ が ぱ"],
  ["korean", "안녕하세요, 세계!"],
  ["korean", "한국어 문장을 토큰화합니다."],
  ["russian", "Привет, мир! Как дела?"],
  ["russian", "Съешь же ещё этих мягких французских булок, да выпей чаю."],
  ["greek", "Γειά σου Κόσμε! Η γρήγορη καφέ αλεπού."],
  ["arabic", "مرحبا بالعالم! هذه جملة عربية."],
  ["hebrew", "שלום עולם, זה משפט בעברית."],
  ["hindi", "नमस्ते दुनिया! यह एक हिंदी वाक्य है।"],
  ["thai", "สวัสดีชาวโลก นี่คือประโยคภาษาไทย"],
  ["vietnamese", "Xin chào thế giới! Tiếng Việt có nhiều dấu."],
  ["turkish", "İstanbul'da ılık bir gün; Iğdır ve Şişli."],
  ["german", "Größenwahnsinnige Straßenbahnfahrer äußern Übelkeit."],
  ["french", "L'élève a répondu: « Ça va très bien, merci ! »"],
  ["spanish", "¿Dónde está la biblioteca? ¡Allí, señor!"],
  ["polish", "Zażółć gęślą jaźń."],
];
scripts.forEach(([c, t]) => add(c, t));

// --- Math LaTeX ----------------------------------------------------------------------------
const latex = [
  "\\frac{1}{2} + \\frac{1}{3} = \\frac{5}{6}",
  "$x^2 + y^2 = z^2$",
  "$$\\int_0^\\infty e^{-x^2}\\,dx = \\frac{\\sqrt{\\pi}}{2}$$",
  "\\sum_{k=1}^{n} k = \\frac{n(n+1)}{2}",
  "\\begin{pmatrix} 1 & 2 \\\\ 3 & 4 \\end{pmatrix}",
  "\\lim_{x \\to 0} \\frac{\\sin x}{x} = 1",
  "The answer is $\\boxed{\\dfrac{3}{4}}$.",
  "\\left( \\frac{a}{b} \\right)^{2} \\cdot \\sqrt[3]{27} = 3\\frac{a^2}{b^2}",
  "\\mathbb{R}, \\mathcal{O}(n \\log n), \\alpha\\beta\\gamma\\delta",
  "Let $f(x) = 3x^3 - 2x + 7$. Then $f'(x) = 9x^2 - 2$.",
  "\\boxed{10^{\\circ}}",
  "\\text{Area} = \\pi r^2 \\approx 3.14159 \\times 5^2 = 78.54",
  "x \\in [0, 1) \\cup (2, \\infty)",
  "a_{n+1} = a_n + 2a_{n-1}, \\quad a_0 = 1",
  "\\binom{10}{3} = 120",
  "∑ ∫ √ ∞ ≤ ≥ ≠ ± × ÷ π θ",
];
latex.forEach((t) => add("latex", t));
const ops = ["+", "-", "\\times", "\\cdot", "/", "^"];
for (let i = 0; i < 30; i++) {
  const a = randInt(0, 10 ** randInt(1, 5));
  const b = randInt(1, 10 ** randInt(1, 4));
  const op = pick(ops);
  const forms = [
    `$${a} ${op} ${b} = ?$`,
    `\\frac{${a}}{${b}}`,
    `\\boxed{${a}}`,
    `Compute ${a}${op}${b}. Let's think step by step.`,
    `\\sqrt{${a}} \\approx ${(Math.sqrt(a)).toFixed(randInt(1, 6))}`,
    `${a} ${op} ${b}\n= ${a + b}\n\nSo the answer is \\boxed{${a + b}}.`,
  ];
  add("latex_gen", pick(forms));
}

// --- Code ----------------------------------------------------------------------------------
const code = [
  ["python", "def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n"],
  ["python", "import numpy as np\n\nx = np.array([1, 2, 3])\nprint(f\"{x.sum()=}\")\n"],
  ["python", "class Foo(Bar):\n\tdef __init__(self, *args, **kwargs):\n\t\tsuper().__init__(*args, **kwargs)\n"],
  ["python", "result = [x ** 2 for x in range(10) if x % 2 == 0]  # squares\n"],
  ["cpp", "#include <iostream>\n\nint main() {\n  std::cout << \"Hello\" << std::endl;\n  return 0;\n}\n"],
  ["cpp", "template <typename T>\nT max(T a, T b) { return a > b ? a : b; }"],
  ["cpp", "for (int i = 0; i < n; ++i) {\n    sum += a[i] * b[i];\n}"],
  ["javascript", "const add = (a, b) => a + b;\nconsole.log(add(1, 2));\n"],
  ["javascript", "async function main() {\n  const res = await fetch('/api');\n  return res.json();\n}"],
  ["rust", "fn main() {\n    let v: Vec<i32> = (0..10).collect();\n    println!(\"{:?}\", v);\n}\n"],
  ["go", "package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n"],
  ["java", "public class Main {\n    public static void main(String[] args) {\n        System.out.println(\"Hello\");\n    }\n}"],
  ["sql", "SELECT id, name FROM users WHERE age >= 18 ORDER BY name DESC LIMIT 10;"],
  ["shell", "#!/usr/bin/env bash\nset -euo pipefail\nfor f in *.txt; do echo \"$f\"; done\n"],
  ["json", "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}"],
  ["html", "<!DOCTYPE html>\n<html>\n  <body><p class=\"x\">Hi &amp; bye</p></body>\n</html>"],
  ["yaml", "model:\n  name: qwen\n  layers: 24\n  dropout: 0.0\n"],
  ["regex", "^(?:[a-z0-9!#$%&'*+/=?^_`{|}~-]+)@(?:[a-z0-9-]+\\.)+[a-z]{2,}$"],
  ["diff", "--- a/file.c\n+++ b/file.c\n@@ -1,3 +1,3 @@\n-int x = 1;\n+int x = 2;\n"],
  ["haskell", "main :: IO ()\nmain = mapM_ print [x * y | x <- [1..3], y <- [1..3]]"],
];
code.forEach(([lang, t]) => add(`code_${lang}`, t));
const idents = ["foo", "bar", "value", "x", "count", "tmp", "résumé", "数据", "i", "_priv"];
for (let i = 0; i < 20; i++) {
  const indent = pick(["", "  ", "    ", "\t", "\t\t", "        "]);
  const lines = [];
  const n = randInt(1, 5);
  for (let j = 0; j < n; j++) {
    const id = pick(idents);
    lines.push(`${indent.repeat(randInt(0, 2))}${id} = ${id}${pick([" + ", "*", " // ", " -= ", "->", "::"])}${randInt(0, 9999)};`);
  }
  add("code_gen", lines.join(pick(["\n", "\r\n", "\n\n"])));
}

// --- Whitespace ----------------------------------------------------------------------------
const wsFixed = ["", " ", "  ", "\n", "\t", "\r\n", "\n\n\n", " \n ", "\t \t", "   \n\n   x",
  "a  b", "a   b", "a \n b", "word   ", "   word", "x\u00a0y", "x\u3000y", "\u2003em\u2002en\u2009thin"];
wsFixed.forEach((t) => add("whitespace", t));
const wsChars = [" ", " ", " ", "\t", "\n", "\r\n", "\r"];
for (let i = 0; i < 30; i++) {
  let s = "";
  const parts = randInt(1, 6);
  for (let j = 0; j < parts; j++) {
    let run = "";
    const len = randInt(1, 8);
    for (let k = 0; k < len; k++) run += pick(wsChars);
    s += run + (rand() < 0.8 ? pick(["word", "x", "42", "!", "中文", "é", "(", "}"]) : "");
  }
  add("whitespace_gen", s);
}

// --- Emoji ---------------------------------------------------------------------------------
const emoji = [
  "😀😃😄😁", "I ❤️ you", "👍🏽 thumbs up with skin tone", "👨‍👩‍👧‍👦 family (ZWJ)",
  "🧑‍💻 technologist", "🏳️‍🌈 rainbow flag", "🇺🇸🇨🇳🇯🇵 flags", "1️⃣ 2️⃣ #️⃣ keycaps",
  "🤷‍♀️ shrug", "✅ done ❌ failed ⚠️ warning", "Mixing text😀and🎉emoji🚀without spaces",
  "👩🏻‍❤️‍💋‍👨🏼", "🐍 Python 🦀 Rust ☕ Java", "☺︎ text presentation ☺️ emoji presentation",
];
emoji.forEach((t) => add("emoji", t));
const emojiPool = ["😀", "👍", "🏽", "\u200d", "❤", "\ufe0f", "🎉", "🚀", "👩", "💻", "🇫", "🇷", "🔥"];
for (let i = 0; i < 10; i++) {
  let s = "";
  const n = randInt(1, 10);
  for (let j = 0; j < n; j++) s += pick(emojiPool) + (rand() < 0.3 ? " " : "");
  add("emoji_gen", s);
}

// --- Numbers -------------------------------------------------------------------------------
for (let len = 1; len <= 40; len++) {
  let s = String(randInt(1, 9));
  for (let k = 1; k < len; k++) s += String(randInt(0, 9));
  add("number_len", s);
}
const numFixed = ["0", "-1", "3.14159265358979", "1,000,000", "1e-9", "6.022e23", "0x1F", "0b1011",
  "007", "12:34:56", "2024/11/22", "+49 30 1234567", "¼ ½ ¾", "①②③", "٣٤٥", "१२३", "Ⅻ", "１２３４５"];
numFixed.forEach((t) => add("number", t));
for (let i = 0; i < 20; i++) {
  const n = (rand() - 0.5) * 10 ** randInt(0, 12);
  add("number_gen", `${pick(["", "x=", "$", "about ", "-"])}${n.toFixed(randInt(0, 5))}${pick(["", "%", " kg", "km", "."])}`);
}

// --- Special tokens inside text ------------------------------------------------------------
const special = [
  "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\nHi!<|im_end|>\n<|im_start|>assistant\n",
  "<|endoftext|>", "before<|endoftext|>after", "<|im_start|><|im_end|>", "<|im_end|><|im_end|>",
  "text <|im_end|> text", "<|im_start", "<|im_", "|>", "< |im_start| >", "<|im_start|>>", "<<|im_end|>",
  "<|endoftext|><|endoftext|><|endoftext|>", "a<|box_start|>b<|box_end|>c", "<|vision_pad|>",
  "<think>\nreasoning\n</think>\n\nanswer", "<tool_call>\n{\"name\": \"f\"}\n</tool_call>",
  "<|fim_prefix|>def f():<|fim_suffix|>\n<|fim_middle|>", "<|IM_START|>", "<|im_start|>user\n你好<|im_end|>",
];
special.forEach((t) => add("special", t));

// --- NFC / accents -------------------------------------------------------------------------
const nfc = [
  "cafe\u0301", "café", "A\u030a and \u212b (angstrom sign)", "\u2126 ohm sign", "e\u0301\u0301 double accent",
  "a\u0323\u0307 vs a\u0307\u0323 (mark reordering)", "o\u0308\u0304", "\u1100\u1161\u11a8 hangul jamo",
  "\uac01 precomposed hangul", "n\u0303ino", "ﬁ ligature ﬂ stays", "Å", "\u0041\u030A\u0301",
  "q\u0307\u0323", "\u00e9\u0301", "\u0391\u0301\u0392", "\u0958 devanagari qa", "\u1e9b\u0323",
  "Ç\u0327 cedilla twice", "\u212a kelvin sign",
];
nfc.forEach((t) => add("nfc", t));

// --- Very long words -----------------------------------------------------------------------
add("long", "a".repeat(1000));
add("long", "supercalifragilisticexpialidocious".repeat(20));
add("long", "Pneumonoultramicroscopicsilicovolcanoconiosis");
add("long", "数".repeat(300));
add("long", "9".repeat(200));
add("long", " ".repeat(300) + "end");
add("long", "\n".repeat(100));
add("long", "!".repeat(150) + "?".repeat(50));
{
  const b64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  let s = "";
  for (let i = 0; i < 600; i++) s += b64[randInt(0, 63)];
  add("long", s);
  let w = "";
  for (let i = 0; i < 400; i++) w += "abcdefghijklmnopqrstuvwxyz"[randInt(0, 25)];
  add("long", w);
  add("long", "https://example.com/" + w.slice(0, 120) + "?token=" + s.slice(0, 80));
}

// --- Random mixtures -----------------------------------------------------------------------
const pool = [
  ..."abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789",
  ..." \t\n.,;:!?'\"()[]{}<>+-*/=_\\|@#$%^&~`",
  ..."中文字符日本語カタカナ한국어éèêëñçßøåæœ",
  "😀", "🚀", "\u200d", "\u0301", "'s", "'ll", "<|im_end|>", "\\boxed{", "\r\n", "    ",
];
for (let i = 0; i < 90; i++) {
  let s = "";
  const n = randInt(1, 60);
  for (let j = 0; j < n; j++) s += pick(pool);
  add("random", s);
}

const lines = rows.map((r) => JSON.stringify(r)).join("\n") + "\n";
writeFileSync(out, lines);
console.error(`wrote ${rows.length} strings to ${out}`);
