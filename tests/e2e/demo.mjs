// The demo in Debian's Chromium, driven by playwright-core (tests/e2e/demo_test.sh starts the
// stack and runs this). Prints TAP-like "ok - ..." / "not ok - ..." lines; exits 1 on a failure.
//
// 1. Four viewers at once for more than three token lifetimes: HLS (AES-128, key from Warden)
//    and DASH, plain and IP-bound tokens, refreshed from the token API or renewed by CAT
//    renewal. Each must see no HTTP error, no fatal player error, playback time that keeps
//    advancing, and at least three new tokens.
// 2. Sharing: a token the paying viewer has just replaced (still valid for the refresh lead) is
//    replayed from six networks (X-Forwarded-For, believed by the demo's nginx). Warden finds it
//    shared: the replays get the callout slate instead of the stream and no key, the token is
//    banned by the detector, a sharer's player never gets the key, and the paying viewer plays
//    on without an error.
//
// Environment: DEMO_BASE (nginx), DEMO_WARDEN_URL, DEMO_ADMIN, DEMO_TTL, CHROMIUM (default
// /usr/bin/chromium), SHOTS (a directory for screenshots; default none), DEMO_CONSOLE_PASSWORD
// (with SHOTS: a screenshot of the console too).
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const BASE = process.env.DEMO_BASE;
const WARDEN = process.env.DEMO_WARDEN_URL;
const ADMIN = process.env.DEMO_ADMIN;
const TTL = Number(process.env.DEMO_TTL || 10);
const SHOTS = process.env.SHOTS || '';
const CONSOLE_PASSWORD = process.env.DEMO_CONSOLE_PASSWORD || '';
const PLAY_S = 3 * TTL + 4;        // more than three token lifetimes
const SPAN_S = 6;                  // playback must advance over every span this long (3 segments)
const SHARERS = ['8.8.8.8', '1.1.1.1', '9.9.9.9', '208.67.222.222', '77.88.8.8', '94.140.14.14'];

let failed = 0;
let passed = 0;
const ok = (cond, what) => {
  if (cond) passed++;
  else failed++;
  console.log(`${cond ? 'ok' : 'not ok'} - ${what}`);
  return cond;
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const state = (page) => page.evaluate(() => {
  const d = window.demo;
  const t = d.tokens;
  return {
    ready: d.ready, currentTime: d.currentTime, samples: d.samples, httpErrors: d.httpErrors,
    errors: d.errors, keyLoads: d.keyLoads, requests: d.requests,
    refreshes: t ? t.refreshes : 0, renewals: t ? t.renewals : 0,
    history: t ? t.history.map((h) => ({ token: h.token, cti: h.cti, source: h.source, at: h.at, expires: h.expires })) : [],
  };
});
const shot = async (page, name) => {
  if (!SHOTS) return;
  mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: join(SHOTS, name) });
};

// Does playback advance over every span of SPAN_S seconds between from and to (unix s)?
function steady(samples, from, to) {
  const s = samples.filter((x) => x.at >= from && x.at <= to);
  if (s.length < 2) return { ok: false, why: 'no samples' };
  for (let i = 0; i < s.length; i++) {
    const later = s.find((x) => x.at >= s[i].at + SPAN_S);
    if (!later) break;
    if (!(later.currentTime > s[i].currentTime))
      return { ok: false, why: `stalled at ${s[i].currentTime.toFixed(1)} s from ${new Date(s[i].at * 1000).toISOString()}` };
  }
  return { ok: true, advanced: s[s.length - 1].currentTime - s[0].currentTime };
}

async function waitPlaying(page, name, timeoutS) {
  const end = Date.now() + timeoutS * 1000;
  let st;
  while (Date.now() < end) {
    st = await state(page);
    if (st.ready && st.currentTime > 0.5) return st;
    await sleep(500);
  }
  ok(false, `${name}: starts playing within ${timeoutS} s (${JSON.stringify({ ready: st && st.ready, t: st && st.currentTime, errors: st && st.errors.slice(0, 3), http: st && st.httpErrors.slice(0, 3) })})`);
  return null;
}

async function fetchAs(ip, path) {
  const res = await fetch(BASE + path, { headers: { 'X-Forwarded-For': ip }, redirect: 'manual' });
  const body = Buffer.from(await res.arrayBuffer());
  return { status: res.status, body };
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--autoplay-policy=no-user-gesture-required', '--mute-audio', '--no-sandbox',
         '--disable-gpu', '--disable-dev-shm-usage'],
});
try {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 480 } });
  const codecs = await (await ctx.newPage()).evaluate(() => ({
    mse: typeof MediaSource !== 'undefined',
    h264: typeof MediaSource !== 'undefined' && MediaSource.isTypeSupported('video/mp4; codecs="avc1.4d401e"'),
  }));
  if (!ok(codecs.mse && codecs.h264, `Chromium plays H.264 through MSE (${JSON.stringify(codecs)})`))
    throw new Error('no H.264');

  // ---------------------------------------------------------------- 1. viewers
  const viewers = [
    { name: 'HLS, plain token, token API refresh', q: 'stream=hls&bind=plain&renew=api', shot: 'player-hls.png' },
    { name: 'DASH, IP-bound token, token API refresh', q: 'stream=dash&bind=ip&renew=api', shot: 'player-dash.png' },
    { name: 'HLS, IP-bound token, CAT renewal', q: 'stream=hls&bind=ip&renew=catr' },
    { name: 'DASH, plain token, CAT renewal', q: 'stream=dash&bind=plain&renew=catr' },
  ];
  for (const v of viewers) {
    v.page = await ctx.newPage();
    v.page.on('pageerror', (e) => console.log(`# ${v.name}: page error: ${e.message}`));
    await v.page.goto(`${BASE}/player/?${v.q}`);
  }
  for (const v of viewers) v.started = await waitPlaying(v.page, v.name, 40);
  const t0 = Date.now() / 1000;
  console.log(`# all four play; watching for ${PLAY_S} s (token lifetime ${TTL} s)`);
  await sleep(PLAY_S * 1000);
  const t1 = Date.now() / 1000;
  for (const v of viewers) {
    if (!v.started) continue;
    const st = await state(v.page);
    ok(st.httpErrors.length === 0, `${v.name}: no HTTP error (${JSON.stringify(st.httpErrors.slice(0, 3))})`);
    const fatal = st.errors.filter((e) => e.fatal);
    ok(fatal.length === 0, `${v.name}: no fatal player error (${JSON.stringify(fatal.slice(0, 3))})`);
    const s = steady(st.samples, t0, t1);
    ok(s.ok, `${v.name}: playback advances over every ${SPAN_S} s for ${PLAY_S} s (${s.ok ? `+${s.advanced.toFixed(1)} s` : s.why})`);
    const fresh = v.q.includes('renew=catr') ? st.renewals : st.refreshes;
    ok(fresh >= 3, `${v.name}: at least three new tokens over ${PLAY_S} s (${fresh} ${v.q.includes('catr') ? 'renewals' : 'refreshes'}, ${new Set(st.history.map((h) => h.cti)).size} distinct)`);
    if (v.q.includes('renew=api')) {
      // the refresh came before expiry by at least 25% of the lifetime
      const early = st.history.slice(1).every((h, i) => st.history[i].expires - h.at >= 0.25 * TTL - 0.5);
      ok(early, `${v.name}: every refresh came at least 25% of the lifetime before expiry`);
    }
    if (v.shot) await shot(v.page, v.shot);
  }
  for (const v of viewers.slice(1)) await v.page.close();

  // ---------------------------------------------------------------- 2. sharing
  const viewer = viewers[0];
  if (viewer.started) {
    // wait for the viewer's next refresh: the token it replaces is still valid for the lead time
    const before = (await state(viewer.page)).refreshes;
    let st;
    for (let i = 0; i < 4 * TTL; i++) {
      st = await state(viewer.page);
      if (st.refreshes > before) break;
      await sleep(250);
    }
    const h = st.history;
    const prev = h.length >= 2 ? h[h.length - 2] : null;
    const cur = h[h.length - 1];
    ok(prev && prev.source === 'api' && prev.expires > Date.now() / 1000 + 1, `the viewer moved to a fresh token; the one it left (${prev && prev.cti}) is still valid`);
    await sleep(500); // requests in flight with the old token finish
    const tS = Date.now() / 1000;
    const T = encodeURIComponent(prev.token);
    const results = [];
    for (const ip of SHARERS) {
      const pl = await fetchAs(ip, `/live/ch1/hls/index.m3u8?cat=${T}`);
      const text = pl.body.toString();
      const seg = (text.match(/^seg\d+\.ts$/m) || ['seg0.ts'])[0];
      const sg = await fetchAs(ip, `/live/ch1/hls/${seg}?cat=${T}`);
      const key = await fetchAs(ip, `/keys/ch1?cat=${T}`);
      results.push({ ip, playlist: pl.status, slate: text.includes('/slates/shared'), segSlate: sg.body.toString().includes('/slates/shared'), segment: sg.status, key: key.status, keyLen: key.body.length });
    }
    console.log(`# replays: ${JSON.stringify(results)}`);
    ok(results[0].playlist === 200 && !results[0].slate && results[0].key === 200, 'the first replay of the valid token is served (the token is valid)');
    const last = results[results.length - 1];
    ok(last.playlist === 200 && last.slate, 'once caught, a replay of the playlist gets the callout slate');
    ok(last.segSlate, 'once caught, a replay of a segment gets the slate, not the segment');
    ok(last.key === 403 && last.keyLen !== 16, 'once caught, the key is refused (403)');
    const bans = await fetch(`${WARDEN}/v1/bans?type=token&value=${prev.cti}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    const ban = bans.ok ? (await bans.json()).ban : null;
    ok(ban && ban.actor === 'detector' && /^shared: /.test(ban.reason), `the detector banned the shared token: ${ban ? ban.reason : bans.status}`);
    const curBan = await fetch(`${WARDEN}/v1/bans?type=token&value=${cur.cti}`, { headers: { Authorization: `Bearer ${ADMIN}` } });
    ok(curBan.status === 404, `the viewer's current token is not banned (${curBan.status})`);

    // a second viewer's player with the copied token, on the sharers' networks
    const sharer = await ctx.newPage();
    await sharer.goto(`${BASE}/player/?stream=hls&token=${T}&xff=${SHARERS.join(',')}`);
    await sleep(8000);
    const ss = await state(sharer);
    ok(ss.keyLoads === 0, `the sharer's player never gets the stream's key (${ss.keyLoads} keys, ${ss.requests} requests)`);
    await shot(sharer, 'player-sharer.png');

    // the paying viewer plays on
    const tE = Date.now() / 1000;
    const vs = await state(viewer.page);
    const s = steady(vs.samples, tS, tE);
    ok(s.ok, `the paying viewer plays on while the token is caught (${s.ok ? `+${s.advanced.toFixed(1)} s` : s.why})`);
    ok(vs.httpErrors.length === 0, `the paying viewer sees no HTTP error (${JSON.stringify(vs.httpErrors.slice(0, 3))})`);
    ok(vs.errors.filter((e) => e.fatal).length === 0, 'the paying viewer sees no fatal player error');

    // the console after the catch (a picture for the README, not a test of the console)
    if (SHOTS && CONSOLE_PASSWORD) {
      try {
        const cpage = await ctx.newPage();
        await cpage.setViewportSize({ width: 1280, height: 720 });
        await cpage.request.post(`${WARDEN}/ui/login`, { data: { user: 'demo', password: CONSOLE_PASSWORD } });
        await cpage.goto(`${WARDEN}/ui/`);
        await sleep(3000);
        await shot(cpage, 'console.png');
      } catch (e) {
        console.log(`# no console screenshot: ${e.message}`);
      }
    }
  }
} catch (e) {
  ok(false, `the browser test runs: ${e.stack || e}`);
} finally {
  await browser.close();
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
