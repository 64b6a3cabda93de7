// JWTs made and checked by the reference library `jose`, plus forged tokens, for
// jwt_interop_test.sh. Keys are PEM files (PKCS#8 private, SPKI public) or HMAC secrets as text.
//
//   node jwt.mjs keygen ALG PRIVATE_PEM PUBLIC_PEM      generateKeyPair(ALG), exported to PEM
//   node jwt.mjs sign --alg ALG (--secret S | --key PEM) [--kid K] CLAIMS_JSON
//   node jwt.mjs verify --alg ALG (--secret S | --key PEM) [--issuer I] [--now UNIX] TOKEN
//       jwtVerify with only ALG allowed; prints {"ok":true,"header":..,"payload":..} and exits 0,
//       or {"ok":false,"code":"ERR_...","error":"..."} and exits 1
//   node jwt.mjs tamper TOKEN                            the payload's sub changed, signature kept
//   node jwt.mjs forge-none CLAIMS_JSON                  {"alg":"none"} token, empty signature
//   node jwt.mjs forge-hmac --alg HSxxx --keyfile FILE CLAIMS_JSON
//       HMAC token keyed with the bytes of FILE (a public key PEM: algorithm confusion)
import { createHmac } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import * as jose from 'jose';

function parse(argv) {
  const opts = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i].startsWith('--')) opts[argv[i].slice(2)] = argv[++i];
    else rest.push(argv[i]);
  }
  return { opts, rest };
}

async function key(opts, forSigning) {
  if (opts.secret !== undefined) return new TextEncoder().encode(opts.secret);
  const pem = readFileSync(opts.key, 'utf8');
  if (forSigning) return jose.importPKCS8(pem, opts.alg);
  return pem.includes('PRIVATE KEY') ? jose.importPKCS8(pem, opts.alg) : jose.importSPKI(pem, opts.alg);
}

const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  const { opts, rest } = parse(args);
  if (cmd === 'keygen') {
    const { privateKey, publicKey } = await jose.generateKeyPair(rest[0], { extractable: true });
    writeFileSync(rest[1], await jose.exportPKCS8(privateKey));
    writeFileSync(rest[2], await jose.exportSPKI(publicKey));
    return 0;
  }
  if (cmd === 'sign') {
    const header = { alg: opts.alg, typ: 'JWT' };
    if (opts.kid) header.kid = opts.kid;
    const token = await new jose.SignJWT(JSON.parse(rest[0])).setProtectedHeader(header).sign(await key(opts, true));
    process.stdout.write(token + '\n');
    return 0;
  }
  if (cmd === 'verify') {
    const vopts = { algorithms: [opts.alg] };
    if (opts.issuer) vopts.issuer = opts.issuer;
    if (opts.now) vopts.currentDate = new Date(Number(opts.now) * 1000);
    try {
      const { payload, protectedHeader } = await jose.jwtVerify(rest[0], await key(opts, false), vopts);
      process.stdout.write(JSON.stringify({ ok: true, header: protectedHeader, payload }) + '\n');
      return 0;
    } catch (err) {
      process.stdout.write(JSON.stringify({ ok: false, code: err.code, error: err.message }) + '\n');
      return 1;
    }
  }
  if (cmd === 'tamper') {
    const [h, p, sig] = rest[0].split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString('utf8'));
    claims.sub = 'mallory';
    process.stdout.write(`${h}.${b64(claims)}.${sig}\n`);
    return 0;
  }
  if (cmd === 'forge-none') {
    process.stdout.write(`${b64({ alg: 'none', typ: 'JWT' })}.${b64(rest[0])}.\n`);
    return 0;
  }
  if (cmd === 'forge-hmac') {
    const hash = { HS256: 'sha256', HS384: 'sha384', HS512: 'sha512' }[opts.alg];
    const input = `${b64({ alg: opts.alg, typ: 'JWT' })}.${b64(rest[0])}`;
    const sig = createHmac(hash, readFileSync(opts.keyfile)).update(input).digest('base64url');
    process.stdout.write(`${input}.${sig}\n`);
    return 0;
  }
  throw new Error(`unknown command '${cmd}'`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`jwt.mjs: ${err.stack || err}\n`);
    process.exit(2);
  }
);
