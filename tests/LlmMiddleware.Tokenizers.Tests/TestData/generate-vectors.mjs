// Regenerate with: npm install && npm run generate   (writes vectors.json next to this script)
// The oracle is the npm "tiktoken" package: OpenAI's tiktoken Rust core compiled to WASM. Pure-JS ports are not
// used because they differ from the Rust regex engine on some whitespace and Unicode cases.
import { get_encoding } from "tiktoken";
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";

const fixed = [
  "",
  "Hello, world!",
  "hello world",
  "The quick brown fox jumps over the lazy dog.",
  "I'm sure you're right; they've said we'll go, but he'd not. It's John's.",
  "I'M SURE YOU'RE RIGHT; THEY'VE SAID WE'LL GO. IT'S JOHN'S. 'S 'T 'RE",
  "don't DON'T Don'T o'clock rock'n'roll 'hello' ''s ' s",
  "Straße ſ 'ſ don'ſ ÆSIR'S naïve façade Ωmega",
  "1 12 123 1234 12345 123456 1234567 3.14159 1,000,000 0x1F 1e-10 ٣٤٥٦ ①②③ ⅧⅨ",
  "  leading spaces", "trailing spaces   ", "   ", " ", "\t", "\n", "\r\n", "\n\n\n", " \n ", "a\n\nb", "a \n \n b",
  "tabs\t\tand\tspaces  \t mixed", "line1\r\nline2\rline3\nline4", "   \n\n   x", "x\n   ", "x  \t\n\t  y",
  "word" + " ".repeat(40) + "word", "\n".repeat(25), " ".repeat(300), "\t".repeat(50) + "z",
  "def fibonacci(n):\n    if n <= 1:\n        return n\n    return fibonacci(n - 1) + fibonacci(n - 2)\n",
  "public sealed class Foo<T> where T : struct\n{\n    private readonly int _x = 42; // comment\n    public T? Bar(ref T value) => value;\n}\n",
  "const re = /^[a-z]+\\/(\\d{1,3})$/gi; console.log(`${a}/${b}`);\n",
  "SELECT id, name FROM users WHERE created_at >= '2024-01-01' AND status IN ('a','b');",
  "{\"key\": [1, 2.5, true, null], \"nested\": {\"a\": \"b\"}}",
  "<html><body><div class=\"x\">Hi &amp; bye</div></body></html>",
  "path/to/file.txt //comment /// ./a/../b //// http://example.com/a/b?c=d#e",
  "数学是研究数量、结构、变化以及空间等概念的一门学科。", "日本語のテキストとカタカナ、ひらがな。漢字も。",
  "한국어 텍스트입니다. 안녕하세요!", "Привет, мир! Как дела? ЭТО ТЕСТ.", "مرحبا بالعالم! هذا اختبار.", "שלום עולם",
  "नमस्ते दुनिया। यह एक परीक्षण है।", "สวัสดีชาวโลก", "Γειά σου Κόσμε! ΑΒΓ αβγ", "Tiếng Việt có dấu: Đường phố",
  "Mixed: English, 中文, русский, العربية, हिन्दी, 😀 and ∑∫∂ math.",
  "😀😃😄 👍🏽 👨‍👩‍👧‍👦 🏳️‍🌈 👩🏾‍💻 🇺🇸🇯🇵 ❤️ ✔︎ 1️⃣ #️⃣",
  "a😀b 😀a 'x😀 😀's", "e\u0301 a\u0308 \u0301start n\u0303o\u0303 Z\u0351\u0352\u0353algo", "\u0301\u0302\u0303", "x \u0301y",
  "𝐀𝐁𝐂 𝐚𝐛𝐜 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠀀𠀁 𐍈𐌰 𓀀", "ﬁﬂ ǅungla ǈ ǋ ᾈ", "ʰʲ ʰello Xʰ ˈstress",
  "Supercalifragilisticexpialidocious", "Pneumonoultramicroscopicsilicovolcanoconiosis",
  "antidisestablishmentarianism".repeat(20), "a".repeat(1000), "ab".repeat(700), "😀".repeat(200), "中".repeat(500),
  "1".repeat(100), "123 ".repeat(50), "!".repeat(100), "!?".repeat(100) + "\n\n", "-".repeat(80) + "\n" + "=".repeat(80),
  "CamelCaseWordsAndALLCAPSandMixedUPPERlower HTTPServer XMLHttpRequest iPhone eBay",
  "ŁÓDŹ łódź ÀÉÎÕÜ àéîõü", "\u00a0nbsp\u00a0\u00a0x \u2003em\u3000ideo\u2028ls\u2029ps\u0085nel\u000bvt\u000cff",
  "\u200b\u200c\u200d zero width \ufeffbom", "smart “quotes” and ‘single’ — dash – en … ellipsis",
  "<|endoftext|> is a special token; <|fim_prefix|><|fim_middle|><|fim_suffix|><|endofprompt|> <|endoftext",
  "email@example.com +1-555-0100 $100.00 50% #hashtag @mention ~tilde^caret",
  "\\n\\t escaped \\\\ backslashes \\\"quoted\\\"",
];

// Deterministic fuzz strings drawn from a pool of characters in every class the pre-tokenizer distinguishes.
const pool = [..."aZ ' \t\n\r/.,!?0123456789sStTdDmMlLrReEvV", "ſ", "é", "É", "ß", "ǅ", "ʰ", "中", "ア", "ш", "Ж",
  "\u0301", "\u0903", "١", "Ⅻ", "½", "\u00a0", "\u3000", "\u2028", "😀", "👍🏽", "\u200d", "𝐀", "𝐚", "𠀀", "<|endoftext|>", "  ", "\r\n", "'s", "'LL"];
let seed = 20261121;
const random = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const fuzz = [];
for (let i = 0; i < 400; i++) {
  const length = 1 + Math.floor(random() * 24);
  let text = "";
  for (let j = 0; j < length; j++) text += pool[Math.floor(random() * pool.length)];
  fuzz.push(text);
}

const vectors = [];
for (const name of ["cl100k_base", "o200k_base"]) {
  const enc = get_encoding(name);
  for (const text of [...fixed, ...fuzz]) {
    vectors.push({ encoding: name, mode: "ordinary", text, ids: Array.from(enc.encode_ordinary(text)) });
    if (text.includes("<|")) {
      vectors.push({ encoding: name, mode: "all_special", text, ids: Array.from(enc.encode(text, "all")) });
    }
  }
  enc.free();
}

// tiktoken's model map: models whose encoding this library ships must map the same way; the rest must map to none.
const modelMap = JSON.parse(readFileSync(createRequire(import.meta.url).resolve("tiktoken/model_to_encoding.json"), "utf8"));
const models = Object.fromEntries(Object.entries(modelMap).map(([model, name]) => [model, ["cl100k_base", "o200k_base"].includes(name) ? name : null]));

writeFileSync(new URL("./vectors.json", import.meta.url), JSON.stringify({
  generator: "generate-vectors.mjs",
  oracle: "npm tiktoken@1.0.22 (OpenAI tiktoken Rust core, WASM)",
  models,
  vectors,
}, null, 0).replace(/\},\{"encoding"/g, "},\n{\"encoding\""));
console.log(`${vectors.length} vectors written`);
