#!/usr/bin/env node
// Regenerates genai-prices.json (its licence beside it, and the package's own look-ups for the tests) from the npm package @pydantic/genai-prices.
//   node src/LlmMiddleware/Catalog/generate-genai-prices.mjs [version]
// Keeps what the gateway meters: token prices (input, cache read/write, output, reasoning), their tiers by prompt size,
// dated and time-of-day prices, context windows and each model's match rule. Prices the gateway cannot meter (audio,
// images, searches, pages, requests) are left out, and a model with only such prices is left out whole; a model listed
// with no prices at all is free (included in a subscription).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';

const packageName = '@pydantic/genai-prices';
const version = process.argv[2] ?? '0.1.8';
const here = dirname(fileURLToPath(import.meta.url));

const work = mkdtempSync(join(tmpdir(), 'genai-prices-'));
const tarball = execFileSync('npm', ['pack', `${packageName}@${version}`, '--silent'], { cwd: work, encoding: 'utf8' }).trim();
execFileSync('tar', ['xzf', tarball], { cwd: work });
const root = join(work, 'package');
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

// The package bundles its data as the module-level constant E and exports only calculators; expose the constant.
const source = readFileSync(join(root, 'dist', 'index.cjs'), 'utf8') + '\n;module.exports.__providers = E;';
const module = { exports: {} };
new Function('exports', 'require', 'module', source)(module.exports, createRequire(join(root, 'dist', 'index.cjs')), module);
const providers = module.exports.__providers;
if (!Array.isArray(providers) || providers.length < 10) throw new Error('The package layout changed: no provider list found.');

const keys = { input_mtok: 'input', cache_read_mtok: 'cachedInput', cache_write_mtok: 'cacheWrite', output_mtok: 'output', output_reasoning_mtok: 'reasoning' };

// One genai-prices price set as ours: flat prices plus tiers, each tier carrying every price that changes at its start.
function pricing(prices) {
  const flat = {};
  const tiers = new Map();
  for (const [key, name] of Object.entries(keys)) {
    const value = prices[key];
    if (value === undefined) continue;
    if (typeof value === 'number') { flat[name] = value; continue; }
    flat[name] = value.base;
    for (const tier of value.tiers) {
      if (!tiers.has(tier.start)) tiers.set(tier.start, { aboveInputTokens: tier.start });
      tiers.get(tier.start)[name] = tier.price;
    }
  }
  // No prices at all means no charge (a subscription's models); only prices we cannot meter mean unpriced.
  if (flat.input === undefined && flat.output === undefined && Object.keys(prices).length > 0) return null;
  flat.input ??= 0;
  flat.output ??= 0;
  if (tiers.size > 0) flat.tiers = [...tiers.values()].sort((a, b) => a.aboveInputTokens - b.aboveInputTokens);
  return flat;
}

function model(entry) {
  const out = { id: entry.id, match: entry.match };
  if (entry.context_window) out.contextWindow = entry.context_window;
  if (!Array.isArray(entry.prices)) {
    out.pricing = pricing(entry.prices);
    return out.pricing ? out : null;
  }

  // Conditional prices: the unconstrained one is the standing price; start dates and UTC time-of-day windows as ours.
  out.prices = [];
  for (const { constraint, prices } of entry.prices) {
    const price = pricing(prices);
    if (!price) continue;
    if (!constraint) out.pricing = price;
    else if (constraint.type === 'start_date') out.prices.push({ effectiveFrom: `${constraint.start_date}T00:00:00Z`, ...price });
    else if (constraint.type === 'time_of_date') out.prices.push({ dailyFromUtc: constraint.start_time.replace(/Z$/, ''), dailyUntilUtc: constraint.end_time.replace(/Z$/, ''), ...price });
    else throw new Error(`Unknown price constraint on ${entry.id}: ${JSON.stringify(constraint)}`);
  }
  return out.pricing || out.prices.length ? out : null;
}

const lines = [];
let count = 0;
for (const provider of providers) {
  const models = provider.models.map(model).filter(Boolean);
  count += models.length;
  const head = { id: provider.id };
  if (provider.provider_match) head.providerMatch = provider.provider_match;
  if (provider.model_match) head.modelMatch = provider.model_match;
  if (provider.fallback_model_providers) head.fallbacks = provider.fallback_model_providers;
  lines.push(`    ${JSON.stringify(head).slice(0, -1)}, "models": [\n${models.map(m => `      ${JSON.stringify(m)}`).join(',\n')}\n    ]}`);
}

const provenance = { package: packageName, version: manifest.version, license: manifest.license, homepage: manifest.homepage ?? 'https://github.com/pydantic/genai-prices' };
writeFileSync(join(here, 'genai-prices.json'),
  `{\n  "source": ${JSON.stringify(provenance)},\n  "note": "Generated by generate-genai-prices.mjs; do not edit. USD per million tokens; our own entries are in models.json.",\n  "providers": [\n${lines.join(',\n')}\n  ]\n}\n`);
writeFileSync(join(here, 'genai-prices.LICENSE.txt'), readFileSync(join(root, 'LICENSE'), 'utf8'));

// The package's own answer for every model id it lists (some ids are not covered by their own rule), so the tests can
// check our matcher resolves each exactly as the package does.
const { calcPrice } = module.exports;
const oracle = providers.flatMap(p => p.models.map(m => {
  const found = calcPrice({ input_tokens: 1000, output_tokens: 100 }, m.id, { providerId: p.id, timestamp: new Date('2026-11-21T20:00:00Z') });
  return `  ${JSON.stringify([p.id, m.id, found?.model.id ?? null])}`;
}));
writeFileSync(join(here, '../../../tests/LlmMiddleware.Tests/Catalog/genai-prices.oracle.json'), `[\n${oracle.join(',\n')}\n]\n`);
console.log(`${count} priced models from ${providers.length} providers (${packageName}@${manifest.version}, ${manifest.license})`);
