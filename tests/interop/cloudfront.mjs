// CloudFront signed URLs and cookies made by the reference library @aws-sdk/cloudfront-signer,
// and a checker that verifies them the way CloudFront does, for cloudfront_interop_test.sh.
//
//   node cloudfront.mjs url ARGS_JSON       getSignedUrl(ARGS) -> the signed URL
//   node cloudfront.mjs cookies ARGS_JSON   getSignedCookies(ARGS) -> JSON of the cookies
//       ARGS: url, keyPairId, keyFile (private PEM), algorithm ("SHA256"), and the times as unix
//       seconds: dateLessThan, dateGreaterThan; ipAddress; policy (a custom policy string)
//   node cloudfront.mjs check --pub PEM --now UNIX [--ip IP] [--cookies JSON] URL
//       Verifies a signed URL (or URL plus signed cookies): RSA PKCS#1 v1.5 signature (SHA-1, or
//       SHA-256 with Hash-Algorithm=SHA256) over the canned policy rebuilt from the URL or over the
//       decoded Policy, then the policy's Resource (with * wildcards), DateLessThan,
//       DateGreaterThan and IpAddress. Prints {"ok":true,"policy":..} and exits 0, or
//       {"ok":false,"error":".."} and exits 1.
import { createVerify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { getSignedCookies, getSignedUrl } from '@aws-sdk/cloudfront-signer';

const CF_PARAMS = ['Expires', 'Policy', 'Signature', 'Key-Pair-Id', 'Hash-Algorithm'];

function sdkArgs(json) {
  const a = JSON.parse(json);
  const out = { ...a, privateKey: readFileSync(a.keyFile, 'utf8') };
  delete out.keyFile;
  for (const k of ['dateLessThan', 'dateGreaterThan']) {
    if (a[k] !== undefined) out[k] = new Date(a[k] * 1000).toISOString();
  }
  return out;
}

const unb64 = (s) => Buffer.from(s.replace(/-/g, '+').replace(/_/g, '=').replace(/~/g, '/'), 'base64');

function ipInCidr(ip, cidr) {
  const [net, bits = '32'] = cidr.split('/');
  const n = (s) => s.split('.').reduce((acc, o) => acc * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(net) / size);
}

function wildcardMatch(pattern, s) {
  const re = new RegExp('^' + pattern.split('*').map((p) => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$');
  return re.test(s);
}

function check(opts, url) {
  // Split the URL into the resource (without CloudFront's parameters) and those parameters.
  const q = url.indexOf('?');
  const base = q < 0 ? url : url.slice(0, q);
  const kept = [];
  const cf = {};
  if (q >= 0) {
    for (const pair of url.slice(q + 1).split('&')) {
      const name = pair.split('=')[0];
      if (CF_PARAMS.includes(name)) cf[name] = decodeURIComponent(pair.slice(name.length + 1));
      else kept.push(pair);
    }
  }
  if (opts.cookies) {
    for (const [k, v] of Object.entries(JSON.parse(opts.cookies))) cf[k.replace(/^CloudFront-/, '')] = v;
  }
  const resourceUrl = kept.length ? `${base}?${kept.join('&')}` : base;
  if (!cf.Signature || !cf['Key-Pair-Id']) return { ok: false, error: 'no Signature or Key-Pair-Id' };
  let policy;
  if (cf.Policy) policy = unb64(cf.Policy).toString('utf8');
  else if (cf.Expires) {
    policy = JSON.stringify({
      Statement: [{ Resource: resourceUrl, Condition: { DateLessThan: { 'AWS:EpochTime': Number(cf.Expires) } } }]
    });
  } else return { ok: false, error: 'neither Expires nor Policy' };
  const hash = cf['Hash-Algorithm'] === 'SHA256' ? 'RSA-SHA256' : 'RSA-SHA1';
  const verifier = createVerify(hash);
  verifier.update(policy);
  if (!verifier.verify(readFileSync(opts.pub, 'utf8'), unb64(cf.Signature))) {
    return { ok: false, error: `bad ${hash} signature`, policy };
  }
  const st = JSON.parse(policy).Statement[0];
  const cond = st.Condition || {};
  const now = Number(opts.now);
  if (!wildcardMatch(st.Resource, resourceUrl)) return { ok: false, error: `resource ${st.Resource} does not match`, policy };
  if (!(now < cond.DateLessThan['AWS:EpochTime'])) return { ok: false, error: 'expired', policy };
  if (cond.DateGreaterThan && !(now > cond.DateGreaterThan['AWS:EpochTime'])) return { ok: false, error: 'not yet valid', policy };
  if (cond.IpAddress && !(opts.ip && ipInCidr(opts.ip, cond.IpAddress['AWS:SourceIp']))) {
    return { ok: false, error: 'source IP not allowed', policy };
  }
  return { ok: true, policy, hash };
}

function main() {
  const [cmd, ...args] = process.argv.slice(2);
  if (cmd === 'url') {
    process.stdout.write(getSignedUrl(sdkArgs(args[0])) + '\n');
    return 0;
  }
  if (cmd === 'cookies') {
    process.stdout.write(JSON.stringify(getSignedCookies(sdkArgs(args[0]))) + '\n');
    return 0;
  }
  if (cmd === 'check') {
    const opts = {};
    let url;
    for (let i = 0; i < args.length; i++) {
      if (args[i].startsWith('--')) opts[args[i].slice(2)] = args[++i];
      else url = args[i];
    }
    const r = check(opts, url);
    process.stdout.write(JSON.stringify(r) + '\n');
    return r.ok ? 0 : 1;
  }
  throw new Error(`unknown command '${cmd}'`);
}

try {
  process.exit(main());
} catch (err) {
  process.stderr.write(`cloudfront.mjs: ${err.stack || err}\n`);
  process.exit(2);
}
