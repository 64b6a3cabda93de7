// The Warden demo player: an HLS stream (AES-128, key from Warden's key endpoint) through hls.js
// or a DASH stream through dash.js, with a short-lived CDN token from Warden's token API that is
// refreshed before it expires and written into every manifest, segment and key request.
//
// Page parameters (query string):
//   stream=hls|dash      which stream (default hls)
//   bind=plain|ip        the plain token or the one bound to the viewer's address (default plain)
//   renew=api|catr       refresh from the token API before expiry (default), or only take the
//                        CAT renewals responses carry
//   lead=0.4             refresh this fraction of the lifetime before expiry (at least 0.25)
//   token=...            play with this token as it is (no login, no refresh): a copied URL
//   xff=a,b,c            send X-Forwarded-For with these addresses in turn (the demo's nginx
//                        believes it: one machine plays viewers on many networks)
// The viewer's login (a JWT the demo issued) and the stream paths come from config.json.
//
// window.demo holds the state the browser test reads: tokens, refreshes, renewals, HTTP errors,
// player errors, playback time.

import Hls from 'hls.js';
import * as dashjs from 'dashjs';
import { TokenManager } from './token.js';

const params = new URLSearchParams(location.search);
const opt = {
  stream: params.get('stream') === 'dash' ? 'dash' : 'hls',
  bind: params.get('bind') === 'ip' ? 'ip' : 'plain',
  renew: params.get('renew') === 'catr' ? 'catr' : 'api',
  lead: params.get('lead'),
  token: params.get('token'),
  xff: (params.get('xff') || '').split(',').map((s) => s.trim()).filter(Boolean),
};

const demo = {
  opt,
  ready: false,
  requests: 0,
  keyLoads: 0,          // AES-128 keys the player got
  httpErrors: [],       // {status, url (no query), kind, at}
  errors: [],           // player errors: {type, details, fatal, at}
  samples: [],          // {at, currentTime}
  currentTime: 0,
  tokens: null,
};
window.demo = demo;

const $ = (id) => document.getElementById(id);
const pathOf = (url) => {
  try { return new URL(url, location.href).pathname; } catch { return String(url); }
};
let xffNext = 0;
const nextXff = () => (opt.xff.length ? opt.xff[xffNext++ % opt.xff.length] : null);

function log(text, cls) {
  const li = document.createElement('li');
  li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  if (cls) li.className = cls;
  const ul = $('log');
  ul.prepend(li);
  while (ul.children.length > 12) ul.lastChild.remove();
}

function httpError(status, url, kind) {
  demo.httpErrors.push({ status, url: pathOf(url), kind, at: Date.now() / 1000 });
  log(`HTTP ${status} for ${kind} ${pathOf(url)}`, 'bad');
  render();
}

let tm;
function render() {
  const now = Date.now() / 1000;
  const t = tm && tm.token;
  const cur = tm && tm.history[tm.history.length - 1];
  $('mode').textContent = `${opt.stream.toUpperCase()} · ${opt.token ? 'copied token' : `${opt.bind === 'ip' ? 'IP-bound' : 'plain'} token`} · ${opt.token ? 'no refresh' : opt.renew === 'catr' ? 'CAT renewal' : `token API, lead ${Math.round((tm ? tm.lead : 0.4) * 100)}%`}`;
  $('token').textContent = t ? `${(cur && cur.cti) ? cur.cti.slice(0, 12) : t.slice(0, 12)}…` : '–';
  $('expires').textContent = tm && tm.expires ? `${Math.max(0, tm.expires - now).toFixed(1)} s` : '–';
  $('refreshes').textContent = tm ? String(tm.refreshes) : '0';
  $('renewals').textContent = tm ? String(tm.renewals) : '0';
  $('time').textContent = `${demo.currentTime.toFixed(1)} s`;
  $('errors').textContent = String(demo.httpErrors.length + demo.errors.filter((e) => e.fatal).length);
  $('errors').className = demo.httpErrors.length ? 'bad' : '';
  if (opt.xff.length) $('xff').textContent = opt.xff.join(', ');
  else if (tm && tm.clientIp) $('xff').textContent = `this machine (${tm.clientIp})${opt.bind === 'ip' && !opt.token ? ': the token is bound to it' : ''}`;
}

// ---------------------------------------------------------------- hls.js

function startHls(video, url) {
  const Base = Hls.DefaultConfig.loader;
  // Every request hls.js makes (playlists, segments, the key) goes through this loader: its
  // response is checked for a CAT renewal, its errors are counted. The token goes into the URL
  // in xhrSetup, when the request is opened (hls.js keys its own state by the URL it asked for,
  // so the context keeps that one).
  class TokenLoader extends Base {
    load(context, config, callbacks) {
      demo.requests++;
      const kind = context.type ? 'playlist' : context.keyInfo || /\/keys\//.test(context.url) ? 'key' : 'segment';
      const wrapped = {
        ...callbacks,
        onSuccess: (response, stats, ctx, details) => {
          const xhr = details instanceof XMLHttpRequest ? details : null;
          tm.noteResponse(xhr ? (n) => xhr.getResponseHeader(n) : null, response && response.url);
          callbacks.onSuccess(response, stats, ctx, details);
        },
        onError: (error, ctx, details, stats) => {
          if (error && error.code) httpError(error.code, ctx.url, kind);
          callbacks.onError(error, ctx, details, stats);
        },
      };
      super.load(context, config, wrapped);
    }
  }
  const hls = new Hls({
    loader: TokenLoader,
    lowLatencyMode: false,
    liveSyncDurationCount: 3,
    manifestLoadPolicy: { default: { maxTimeToFirstByteMs: 8000, maxLoadTimeMs: 10000, timeoutRetry: { maxNumRetry: 4, retryDelayMs: 500, maxRetryDelayMs: 2000 }, errorRetry: { maxNumRetry: 4, retryDelayMs: 500, maxRetryDelayMs: 2000 } } },
    xhrSetup: (xhr, u) => {
      xhr.open('GET', tm.rewrite(u), true);
      const a = nextXff();
      if (a) xhr.setRequestHeader('X-Forwarded-For', a);
    },
  });
  hls.on(Hls.Events.ERROR, (_, d) => {
    const why = (d.error && d.error.message) || (d.response && d.response.code) || '';
    demo.errors.push({ type: d.type, details: d.details, fatal: !!d.fatal, why: String(why), at: Date.now() / 1000 });
    log(`hls.js ${d.fatal ? 'fatal ' : ''}${d.details} ${why}`, d.fatal ? 'bad' : 'warn');
    if (d.fatal && d.type === Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
  });
  let keyUri = null;
  hls.on(Hls.Events.KEY_LOADED, (_, d) => {
    demo.keyLoads++;
    const uri = d && d.keyInfo && d.keyInfo.decryptdata ? d.keyInfo.decryptdata.uri : 'key';
    if (uri !== keyUri) log(`AES-128 key ${pathOf(uri)} from Warden`);
    keyUri = uri;
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  return hls;
}

// ---------------------------------------------------------------- dash.js

function startDash(video, url) {
  const player = dashjs.MediaPlayer().create();
  // dash.js asks the interceptors before every request (MPD, init and media segments) and shows
  // them every response.
  player.addRequestInterceptor((request) => {
    request.url = tm.rewrite(request.url);
    demo.requests++;
    const a = nextXff();
    if (a) request.headers = { ...(request.headers || {}), 'X-Forwarded-For': a };
    return Promise.resolve(request);
  });
  player.addResponseInterceptor((response) => {
    const h = response.headers || {};
    const get = (name) => {
      const k = Object.keys(h).find((x) => x.toLowerCase() === name.toLowerCase());
      return k ? h[k] : null;
    };
    if (response.status >= 400) httpError(response.status, response.request ? response.request.url : response.url, 'dash');
    else tm.noteResponse(get, response.url);
    return Promise.resolve(response);
  });
  player.on(dashjs.MediaPlayer.events.ERROR, (e) => {
    const d = e.error || {};
    demo.errors.push({ type: 'dash', details: d.message || String(d.code || ''), fatal: true, at: Date.now() / 1000 });
    log(`dash.js error ${d.code || ''} ${d.message || ''}`, 'bad');
  });
  player.updateSettings({
    debug: { logLevel: 3 }, // warnings
    streaming: {
      delay: { liveDelay: 6 },
      retryAttempts: { MPD: 4, MediaSegment: 4 },
      // the clock: the Date header of this origin (no time server outside)
      utcSynchronization: {
        defaultTimingSource: { scheme: 'urn:mpeg:dash:utc:http-head:2014', value: new URL('config.json', location.href).href },
      },
    },
  });
  player.initialize(video, url, true);
  return player;
}

// ---------------------------------------------------------------- sharing

// The addresses a copied token is replayed from: six networks on four continents.
const SHARER_NETWORKS = ['8.8.8.8', '1.1.1.1', '9.9.9.9', '208.67.222.222', '77.88.8.8', '94.140.14.14'];

// Open a second player with the token this one replaced last (still valid for the refresh lead),
// as a pirate who copied it from the network inspector would, from other networks. Waits for
// the next refresh when no replaced token is still valid.
let sharePending = false;
function shareLastToken() {
  const now = Date.now() / 1000;
  const h = tm.history.slice(0, -1).reverse().find((x) => x.expires > now + 1);
  if (!h) {
    sharePending = true;
    $('sharenote').textContent = 'waiting for the next refresh…';
    return;
  }
  sharePending = false;
  $('sharenote').textContent = `shared ${h.cti ? h.cti.slice(0, 12) : 'a token'}…`;
  const q = new URLSearchParams({ stream: 'hls', token: h.token, xff: SHARER_NETWORKS.join(',') });
  window.open(`?${q}`, '_blank');
}

// ---------------------------------------------------------------- start

async function main() {
  const video = $('video');
  const cfg = await (await fetch('config.json', { cache: 'no-store' })).json();
  tm = new TokenManager({
    api: cfg.token_api,
    path: cfg.token_path,
    expire: cfg.expire,
    bearer: cfg.viewer_jwt,
    bind: opt.bind,
    lead: opt.lead || cfg.lead,
    param: cfg.param || 'cat',
    refresh: opt.renew !== 'catr',
    fixed: opt.token,
  }, (s) => {
    const last = s.history[s.history.length - 1];
    if (last) log(`token ${last.cti ? last.cti.slice(0, 12) : ''} from ${last.source}, expires in ${(s.expires - Date.now() / 1000).toFixed(1)} s`);
    if (sharePending && s.history.length > 1) setTimeout(shareLastToken, 500);
    render();
  });
  demo.tokens = tm;
  if (opt.token || opt.renew === 'catr') $('share').hidden = true;
  else $('share').addEventListener('click', shareLastToken);
  try {
    await tm.start();
  } catch (e) {
    log(String(e.message || e), 'bad');
    demo.errors.push({ type: 'token', details: String(e.message || e), fatal: true, at: Date.now() / 1000 });
    render();
    return;
  }
  video.muted = true;
  if (opt.stream === 'dash') {
    startDash(video, cfg.dash); // dash.js starts playback itself (and must see it start)
  } else {
    startHls(video, cfg.hls);
    video.play().catch(() => {});
  }
  setInterval(() => {
    demo.currentTime = video.currentTime;
    demo.samples.push({ at: Date.now() / 1000, currentTime: video.currentTime });
    if (demo.samples.length > 600) demo.samples.shift();
    render();
  }, 500);
  demo.ready = true;
  render();
}

main();
