// Reads a JSON array of documents from argv[2]; prints, per encoding, the SHA-256 of each document's token ids
// (encode_ordinary, ids joined by ","), so the benchmark can check its tokenizer against tiktoken document by document.
import { get_encoding } from "tiktoken";
import { readFileSync } from "node:fs";
import { createHash } from "node:crypto";

const documents = JSON.parse(readFileSync(process.argv[2], "utf8"));
const result = {};
for (const name of ["o200k_base", "cl100k_base"]) {
  const encoding = get_encoding(name);
  result[name] = documents.map(text => createHash("sha256").update(Array.from(encoding.encode_ordinary(text)).join(",")).digest("hex"));
  encoding.free();
}
process.stdout.write(JSON.stringify(result));
