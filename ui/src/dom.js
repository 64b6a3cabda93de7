// Building DOM nodes without innerHTML: every string from the server becomes a text node, so
// nothing a token, a user agent or a reason contains can inject markup.

// h('div.card#id', {attrs, on: {click: fn}, dataset}, ...children)
export function h(spec, attrs, ...children) {
  const m = /^([a-z0-9]+)?((?:[.#][\w-]+)*)$/i.exec(spec);
  const el = document.createElement((m && m[1]) || 'div');
  if (m && m[2])
    for (const part of m[2].match(/[.#][\w-]+/g)) {
      if (part[0] === '.') el.classList.add(part.slice(1));
      else el.id = part.slice(1);
    }
  if (attrs && (typeof attrs !== 'object' || attrs instanceof Node || Array.isArray(attrs))) {
    children.unshift(attrs);
    attrs = null;
  }
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
    else if (k === 'class') el.className = v;
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) el.setAttribute(k, v);
  for (const c of children.flat()) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

// ---------------------------------------------------------------- formatting

const nf = new Intl.NumberFormat('en-US');
export const fmtInt = (n) => (n === null || n === undefined ? '–' : nf.format(Math.round(n)));
export function fmtRate(n) {
  if (n === null || n === undefined) return '–';
  if (n >= 100) return nf.format(Math.round(n));
  if (n >= 10) return n.toFixed(1);
  return n.toFixed(2);
}
export const fmtPct = (x, d = 1) => (x === null || x === undefined ? '–' : (x * 100).toFixed(d) + '%');

export function fmtAgo(t, now = Date.now() / 1000) {
  if (!t) return '–';
  const d = Math.round(now - t);
  if (d < 5) return 'just now';
  if (d < 60) return d + ' s ago';
  if (d < 3600) return Math.round(d / 60) + ' min ago';
  if (d < 86400) return Math.round(d / 3600) + ' h ago';
  return Math.round(d / 86400) + ' d ago';
}

export function fmtIn(t, now = Date.now() / 1000) {
  if (!t) return 'never';
  const d = Math.round(t - now);
  if (d <= 0) return 'expired';
  if (d < 3600) return 'in ' + Math.max(1, Math.round(d / 60)) + ' min';
  if (d < 86400 * 2) return 'in ' + Math.round(d / 3600) + ' h';
  return 'in ' + Math.round(d / 86400) + ' d';
}

export function fmtTime(t) {
  if (!t) return '–';
  const d = new Date(t * 1000);
  const p = (x) => String(x).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fmtClock(t) {
  const d = new Date(t * 1000);
  const p = (x) => String(x).padStart(2, '0');
  return `${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

export function fmtDuration(s) {
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.round(s / 60) + ' min';
  if (s < 86400) return (s / 3600).toFixed(s < 36000 ? 1 : 0) + ' h';
  return (s / 86400).toFixed(1) + ' d';
}

export function fmtBytes(b) {
  if (b < 1024) return b + ' B';
  const u = ['KiB', 'MiB', 'GiB', 'TiB'];
  let i = -1;
  do { b /= 1024; i++; } while (b >= 1024 && i < u.length - 1);
  return b.toFixed(b < 10 ? 1 : 0) + ' ' + u[i];
}

export function shortId(s, n = 12) {
  if (!s) return '–';
  return s.length > n + 2 ? s.slice(0, n) + '…' : s;
}

// A badge: kind picks the colour (ok, warn, bad, info, muted, accent).
export const badge = (text, kind = 'muted', attrs = {}) => h('span.badge.badge-' + kind, attrs, text);

export function scoreBar(score) {
  const kind = score >= 70 ? 'bad' : score >= 40 ? 'warn' : 'ok';
  return h('div.score', { title: 'score ' + score + ' of 100' },
    h('div.score-track', h('div.score-fill.fill-' + kind, { style: { width: Math.min(100, score) + '%' } })),
    h('span.score-num', String(score)));
}

export function toast(message, kind = 'ok') {
  let box = document.getElementById('toasts');
  if (!box) document.body.append((box = h('div#toasts')));
  const t = h('div.toast.toast-' + kind, { role: 'status' }, message);
  box.append(t);
  setTimeout(() => t.classList.add('leave'), 3600);
  setTimeout(() => t.remove(), 4000);
}

// A modal dialog; resolves with the button's value (or null when dismissed).
export function modal({ title, body, buttons }) {
  return new Promise((resolve) => {
    const close = (v) => { back.remove(); document.removeEventListener('keydown', onKey); resolve(v); };
    const onKey = (e) => { if (e.key === 'Escape') close(null); };
    const back = h('div.modal-back', { on: { click: (e) => { if (e.target === back) close(null); } } },
      h('div.modal', { role: 'dialog', 'aria-modal': 'true', 'aria-label': title },
        h('h2.modal-title', title),
        h('div.modal-body', body),
        h('div.modal-actions', buttons.map((b) =>
          h('button.btn' + (b.kind ? '.btn-' + b.kind : ''), {
            type: 'button', dataset: { testid: b.testid || '' },
            on: { click: () => close(b.value) },
          }, b.label)))));
    document.body.append(back);
    document.addEventListener('keydown', onKey);
    const primary = back.querySelector('.btn-primary, .btn-danger');
    if (primary) primary.focus();
  });
}
