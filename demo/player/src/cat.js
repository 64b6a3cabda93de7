// The expiry and id of a Common Access Token (CTA-5007), read without verifying it: the player
// needs them to schedule its refresh and to tell tokens apart. A CAT is base64url of a CBOR
// COSE_Mac0 or COSE_Sign1 (optionally tagged 61 and 17/18): [protected, unprotected, payload,
// tag], the payload a CBOR map of claims where 4 is exp and 7 is cti.

function b64urlBytes(s) {
  const b64 = s.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((s.length + 3) % 4);
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

// A small CBOR reader for what a CAT holds: integers, byte and text strings, arrays, maps, tags,
// simple values and floats. Throws on anything malformed or too deep.
function decode(bytes) {
  let pos = 0;
  const need = (n) => {
    if (pos + n > bytes.length) throw new Error('truncated CBOR');
  };
  const uint = (info) => {
    if (info < 24) return info;
    const n = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
    if (n < 0) throw new Error('bad CBOR length');
    need(n);
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + bytes[pos++];
    return v;
  };
  const item = (depth) => {
    if (depth > 16) throw new Error('CBOR too deep');
    need(1);
    const ib = bytes[pos++];
    const major = ib >> 5;
    const info = ib & 31;
    switch (major) {
      case 0: return uint(info);
      case 1: return -1 - uint(info);
      case 2: case 3: {
        const n = uint(info);
        need(n);
        const b = bytes.subarray(pos, pos + n);
        pos += n;
        return major === 2 ? b : new TextDecoder().decode(b);
      }
      case 4: {
        const n = uint(info);
        const a = [];
        for (let i = 0; i < n; i++) a.push(item(depth + 1));
        return a;
      }
      case 5: {
        const n = uint(info);
        const m = new Map();
        for (let i = 0; i < n; i++) {
          const k = item(depth + 1);
          m.set(k, item(depth + 1));
        }
        return m;
      }
      case 6: uint(info); return item(depth + 1); // the tag's content
      default: {
        if (info === 20) return false;
        if (info === 21) return true;
        if (info === 22 || info === 23) return null;
        if (info === 25 || info === 26 || info === 27) {
          const n = info === 25 ? 2 : info === 26 ? 4 : 8;
          need(n);
          const dv = new DataView(bytes.buffer, bytes.byteOffset + pos, n);
          pos += n;
          return n === 2 ? dv.getUint16(0) : n === 4 ? dv.getFloat32(0) : dv.getFloat64(0);
        }
        throw new Error('unsupported CBOR item');
      }
    }
  };
  return item(0);
}

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');

// {exp, cti} of a CAT (exp in unix seconds, cti as hex), or null when it is not one.
export function catInfo(token) {
  try {
    const msg = decode(b64urlBytes(token));
    if (!Array.isArray(msg) || msg.length < 3 || !(msg[2] instanceof Uint8Array)) return null;
    const claims = decode(msg[2]);
    if (!(claims instanceof Map)) return null;
    const exp = claims.get(4);
    const cti = claims.get(7);
    return {
      exp: typeof exp === 'number' ? exp : null,
      cti: cti instanceof Uint8Array ? hex(cti) : typeof cti === 'string' ? cti : null,
    };
  } catch {
    return null;
  }
}
