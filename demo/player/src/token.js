// The viewer's CDN token: fetched from Warden's token API (GET /v1/token with the viewer's login
// JWT as bearer), refreshed before it expires, replaced by a CAT renewal when a response carries
// one, and written into the query of every request the players make.
//
// Refresh: a timer fires `lead` (a fraction of the lifetime, at least 25%) before expiry and
// asks the token API again; on failure it retries with backoff until the token has expired.
// Renewal (catr): a response may carry a renewed CAT in the CTA-Common-Access-Token header, in a
// Set-Cookie of the same name (readable when not HttpOnly), or in the URL of a redirect; a token
// with a later expiry replaces the current one and moves the timer.

import { catInfo } from './cat.js';

export const MIN_LEAD = 0.25;

export class TokenManager {
  // opts: {api, path, expire, bearer, bind ('plain'|'ip'), lead (fraction), param ('cat'),
  //        refresh (true: token API before expiry; false: rely on CAT renewal), fixed (a token
  //        to use as it is: no API, no refresh)}; onChange(state) after every change
  constructor(opts, onChange) {
    this.opts = opts;
    this.lead = Math.max(MIN_LEAD, Number(opts.lead) || 0.4);
    this.onChange = onChange || (() => {});
    this.token = null;
    this.expires = 0;        // unix seconds
    this.lifetime = 0;       // seconds, of the token as issued
    this.history = [];       // {token, cti, source: 'api'|'renewal'|'fixed', at, expires}
    this.refreshes = 0;      // tokens from the token API after the first
    this.renewals = 0;       // tokens from CAT renewals
    this.failures = 0;       // failed token API calls
    this.clientIp = null;
    this.timer = null;
  }

  async start() {
    if (this.opts.fixed) {
      this.adopt(this.opts.fixed, 'fixed');
      return;
    }
    await this.fetchToken(true);
  }

  stop() {
    clearTimeout(this.timer);
    this.timer = null;
  }

  async fetchToken(first) {
    const o = this.opts;
    const url = `${o.api}?path=${encodeURIComponent(o.path)}&expire=${o.expire}`;
    const res = await fetch(url, { headers: { Authorization: `Bearer ${o.bearer}` }, cache: 'no-store' });
    if (!res.ok) throw new Error(`token API: HTTP ${res.status}`);
    const j = await res.json();
    this.clientIp = j.client_ip;
    const tok = o.bind === 'ip' ? j.token_ip : j.token;
    if (!first) this.refreshes++;
    this.adopt(tok, 'api', j.expires);
  }

  // Take a token (from the API, a renewal, or given); returns true when it replaced the current.
  adopt(token, source, expires) {
    if (!token || token === this.token) return false;
    const info = catInfo(token);
    const exp = expires || (info && info.exp) || 0;
    if (source === 'renewal' && exp && exp <= this.expires) return false; // not newer
    const now = Date.now() / 1000;
    this.token = token;
    this.expires = exp;
    if (source !== 'renewal' || !this.lifetime) this.lifetime = exp ? Math.max(1, exp - now) : 0;
    if (source === 'renewal') this.renewals++;
    this.history.push({ token, cti: info && info.cti, source, at: now, expires: exp });
    if (this.history.length > 50) this.history.shift();
    this.schedule();
    this.onChange(this);
    return true;
  }

  schedule() {
    clearTimeout(this.timer);
    if (this.opts.fixed || this.opts.refresh === false || !this.expires) return;
    const now = Date.now() / 1000;
    const at = this.expires - this.lead * this.lifetime;
    this.timer = setTimeout(() => this.refresh(0), Math.max(0, (at - now) * 1000));
  }

  async refresh(attempt) {
    try {
      await this.fetchToken(false);
    } catch (e) {
      this.failures++;
      this.onChange(this);
      const left = this.expires - Date.now() / 1000;
      if (left > 0) this.timer = setTimeout(() => this.refresh(attempt + 1), Math.min(2000, 250 * 2 ** attempt));
    }
  }

  // The URL with this token in its query parameter (any earlier value replaced).
  rewrite(url) {
    if (!this.token) return url;
    const u = new URL(url, location.href);
    u.searchParams.set(this.opts.param || 'cat', this.token);
    return u.href;
  }

  // Look at a response for a CAT renewal: headers (a function name -> value), the final URL
  // after redirects.
  noteResponse(getHeader, finalUrl) {
    let renewed = null;
    const h = getHeader && getHeader('CTA-Common-Access-Token');
    if (h) renewed = h.split(';')[0].trim();
    if (!renewed && finalUrl) {
      try {
        const v = new URL(finalUrl, location.href).searchParams.get(this.opts.param || 'cat');
        if (v && v !== this.token) renewed = v;
      } catch { /* not a URL */ }
    }
    if (!renewed) {
      const m = document.cookie.match(/(?:^|;\s*)CTA-Common-Access-Token=([^;]+)/i);
      if (m && m[1] !== this.token) renewed = decodeURIComponent(m[1]);
    }
    if (renewed) this.adopt(renewed, 'renewal');
  }
}
