// node_cat_bench: validations per second of the reference CAT library @eyevinn/cat (node-cat) for
// the tokens bench/token_bench.c times in Warden: the "minimal" (91 bytes) and "full_cwt_tagged"
// (277 bytes) vectors of tests/vectors/cat/eyevinn-node-cat-generated.json.
//
// Each validation is `await cat.validate(token, 'mac', {issuer, url, ip})` with the Symmetric256
// key, the same request URL and client address as token_bench, Date.now fixed at the same time.
// The URL object is built once, outside the loop (node-cat's HTTP validator builds one per
// request, so this favours node-cat). Warm-up, then RUNS runs of about SECONDS each; the median
// run is printed, one row per token in the same format as token_bench.
//
//   node bench/node_cat_bench.mjs [--time SECONDS] [--runs N] [--modules DIR]
//   --modules: the node_modules holding @eyevinn/cat (default tests/interop/node_modules)
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
let secs = 1.5;
let runs = 5;
let modules = path.join(here, '..', 'tests', 'interop', 'node_modules');
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--time') secs = Number(args[++i]);
  else if (args[i] === '--runs') runs = Number(args[++i]);
  else if (args[i] === '--modules') modules = args[++i];
  else {
    process.stderr.write('usage: node node_cat_bench.mjs [--time SECONDS] [--runs N] [--modules DIR]\n');
    process.exit(2);
  }
}

const require = createRequire(path.join(modules, 'bench.js'));
let catlib;
try {
  catlib = require('@eyevinn/cat');
} catch (err) {
  process.stderr.write(`node_cat_bench: @eyevinn/cat not found under ${modules}: ${err.message}\n`);
  process.exit(1);
}
const { CAT } = catlib;
const version = require('@eyevinn/cat/package.json').version;

const NOW_MS = 1750000000 * 1000;
Date.now = () => NOW_MS;

const key = Buffer.from('403697de87af64611c1d32a05dab0fe1fcb715a86ab435f1ec99192d79569388', 'hex');
const cases = [
  {
    name: 'cat-minimal',
    token:
      '2D3RhEOhAQWhBExTeW1tZXRyaWMyNTZYIKUBZ2V5ZXZpbm4EGvSGVwAGGmgwXQAHRN6tvu8ZATYBWCCevIEuFnaMHxLGQG9d' +
      'by7NPh8GSPG7vy3ZgHtclqnfEg',
  },
  {
    name: 'cat-full',
    token:
      '2D3RhEOhAQWhBExTeW1tZXRyaWMyNTZY2q0BZ2V5ZXZpbm4CZWpvbmFzA4Jjb25lY3R3bwQa9IZXAAUaaDBdAAYaaDBdAAdQ' +
      'ASNFZ4mrze8BI0VniavN7xkBNAEZATYBGQE3hNg0ghgYRMCoAQDYNEQKAAAB2DaCGCBQIAENuAAAAAAAAAAAAAAAABn79BkB' +
      'OKQAoQBlaHR0cHMBoQJsLmV4YW1wbGUuY29tA6EBaS9jb250ZW50LwihAGUubTN1OBkBOYJjR0VUZEhFQUQZAUOkAAIEd2N0' +
      'YS1jb21tb24tYWNjZXNzLXRva2VuARh4Ahg8WCBezvCnUYqyVzzF53uwosOI2nYAKp-bwPxZfL7R4eRVdQ',
  },
];

const cat = new CAT({ keys: { Symmetric256: key }, expectCwtTag: true });
const vopts = {
  issuer: 'eyevinn',
  url: new URL('https://cdn.example.com/content/a/index.m3u8'),
  ip: '192.168.1.10',
};

async function once(token) {
  const r = await cat.validate(token, 'mac', vopts);
  if (r.error || !r.cat) throw r.error || new Error('no token');
}

async function timed(token, n) {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await once(token);
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function main() {
  process.stdout.write(`# @eyevinn/cat ${version}, node ${process.version}\n`);
  process.stdout.write(`${'scheme'.padEnd(18)} ${'bytes'.padStart(6)} ${'validations/s'.padStart(15)} ${'ns/op'.padStart(10)}\n`);
  for (const c of cases) {
    try {
      await once(c.token);
    } catch (err) {
      process.stderr.write(`node_cat_bench: ${c.name} does not validate: ${err.name}: ${err.message}\n`);
      process.exit(1);
    }
    let n = 64;
    let t;
    while ((t = await timed(c.token, n)) < 0.3) n *= 2;
    const perRun = Math.max(1, Math.round((n * secs) / t));
    const rates = [];
    for (let j = 0; j < runs; j++) rates.push(perRun / (await timed(c.token, perRun)));
    rates.sort((a, b) => a - b);
    const med = runs % 2 ? rates[(runs - 1) / 2] : (rates[runs / 2 - 1] + rates[runs / 2]) / 2;
    const bytes = Buffer.from(c.token, 'base64url').length;
    process.stdout.write(
      `${c.name.padEnd(18)} ${String(bytes).padStart(6)} ${med.toFixed(0).padStart(15)} ${(1e9 / med).toFixed(1).padStart(10)}\n`
    );
  }
}

main().catch((err) => {
  process.stderr.write(`node_cat_bench: ${err.stack || err}\n`);
  process.exit(1);
});
