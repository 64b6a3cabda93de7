// CTA-5007 Common Access Tokens made and checked by the reference library @eyevinn/cat, for
// cat_interop_test.sh.
//
//   node cat.mjs issue --key HEX --kid KID [--alg HS256|HS256/64] [--tagged] CLAIMS_JSON
//       token from CAT.generateFromJson (default HMAC 256/256); --tagged: 61(17(..)) with a CBOR
//       payload, else the library's default (untagged, payload a text string of hex)
//   node cat.mjs validate --key HEX [--kid KID] [--issuer I] [--audience A] [--url U] [--ip IP]
//                         [--now UNIX] TOKEN
//       CAT.validate(token, 'mac', {issuer, audience, url, ip}) at time --now;
//       prints {"ok":true,"claims":{..}} and exits 0, or {"ok":false,"error":"..."} and exits 1
//   node cat.mjs tamper-mac TOKEN          the token with the last byte (of the MAC) flipped
//   node cat.mjs tamper-text TOKEN FROM TO the token with the bytes of FROM replaced by TO
//                                          (same length), e.g. a claim value
import catlib from '@eyevinn/cat';

const { CAT } = catlib;

function parse(argv) {
  const opts = {};
  const rest = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--tagged') opts.tagged = true;
    else if (a.startsWith('--')) opts[a.slice(2)] = argv[++i];
    else rest.push(a);
  }
  return { opts, rest };
}

const b64urlDecode = (s) => Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
const b64urlEncode = (b) => Buffer.from(b).toString('base64url');

async function main() {
  const [cmd, ...args] = process.argv.slice(2);
  const { opts, rest } = parse(args);
  if (cmd === 'issue') {
    const cat = new CAT({ keys: { [opts.kid]: Buffer.from(opts.key, 'hex') }, expectCwtTag: !!opts.tagged });
    const token = await cat.generateFromJson(JSON.parse(rest[0]), { type: 'mac', alg: opts.alg || 'HS256', kid: opts.kid });
    process.stdout.write(token + '\n');
    return 0;
  }
  if (cmd === 'validate') {
    if (opts.now) {
      const ms = Number(opts.now) * 1000;
      Date.now = () => ms;
    }
    const cat = new CAT({ keys: { [opts.kid || 'k']: Buffer.from(opts.key, 'hex') } });
    const vopts = { issuer: opts.issuer, url: opts.url ? new URL(opts.url) : undefined, ip: opts.ip };
    if (opts.audience) vopts.audience = [opts.audience];
    let result;
    try {
      result = await cat.validate(rest[0], 'mac', vopts);
    } catch (err) {
      result = { error: err };
    }
    if (result.error || !result.cat) {
      const e = result.error || new Error('no token');
      process.stdout.write(JSON.stringify({ ok: false, error: `${e.name}: ${e.message}` }) + '\n');
      return 1;
    }
    process.stdout.write(JSON.stringify({ ok: true, claims: result.cat.claims }) + '\n');
    return 0;
  }
  if (cmd === 'tamper-mac') {
    const b = b64urlDecode(rest[0]);
    b[b.length - 1] ^= 0x01;
    process.stdout.write(b64urlEncode(b) + '\n');
    return 0;
  }
  if (cmd === 'tamper-text') {
    const b = b64urlDecode(rest[0]);
    const from = Buffer.from(rest[1]);
    const to = Buffer.from(rest[2]);
    const at = b.indexOf(from);
    if (at < 0 || from.length !== to.length) throw new Error(`'${rest[1]}' not in the token`);
    to.copy(b, at);
    process.stdout.write(b64urlEncode(b) + '\n');
    return 0;
  }
  throw new Error(`unknown command '${cmd}'`);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    process.stderr.write(`cat.mjs: ${err.stack || err}\n`);
    process.exit(2);
  }
);
