// The audit log: every sign-in, verdict, ban, allow-list entry and mode switch by a person, and
// every ban by the detector, newest first, with filters; each record's detail on demand.
import { h, clear, fmtTime, fmtAgo, badge, toast } from '../dom.js';
import * as api from '../api.js';

const ACTIONS = [
  ['', 'All actions'], ['login', 'Sign-ins'], ['login.failed', 'Failed sign-ins'], ['logout', 'Sign-outs'],
  ['case.', 'Case verdicts'], ['ban.', 'Bans'], ['allow.', 'Allow list'], ['policy.', 'Mode switches'],
];

export default function audit({ main }) {
  let rows = [];
  let next = null;
  let disposed = false;
  const actionSel = h('select', { dataset: { testid: 'audit-action' }, on: { change: () => load() } },
    ACTIONS.map(([v, t]) => h('option', { value: v }, t)));
  const actor = h('input', { type: 'search', placeholder: 'User', dataset: { testid: 'audit-actor' }, on: { input: debounce(() => load(), 300) } });
  const q = h('input.search', { type: 'search', placeholder: 'Search targets, reasons, addresses…', on: { input: debounce(() => load(), 300) } });
  const tbody = h('tbody');
  const more = h('button.btn.btn-ghost', { type: 'button', hidden: true, on: { click: () => load(true) } }, 'Load older');
  main.append(h('section.card',
    h('div.filters', h('div.filter-row', actionSel, actor, q)),
    h('div.table-wrap', h('table.table', { dataset: { testid: 'audit-table' } },
      h('thead', h('tr', ['Time', 'Who', 'Action', 'Target', 'Result', 'From', ''].map((t) => h('th', t)))), tbody)),
    more));

  async function load(append = false) {
    try {
      const r = await api.get('/v1/audit' + api.qs({ list: 'actions', action: actionSel.value, actor: actor.value.trim(),
        q: q.value.trim(), limit: 100, before: append ? next : '' }));
      if (disposed) return;
      rows = append ? rows.concat(r.audit) : r.audit;
      next = r.next;
    } catch (e) { toast('Cannot load the audit log: ' + e.message, 'bad'); return; }
    render();
  }

  function render() {
    clear(tbody);
    more.hidden = !next;
    if (!rows.length) tbody.append(h('tr', h('td.empty', { colSpan: 7 }, 'No records match.')));
    for (const a of rows) {
      const detail = h('tr.why-row', { hidden: true }, h('td', { colSpan: 7 }, h('pre.json', JSON.stringify(a.detail ?? {}, null, 2))));
      tbody.append(h('tr', { dataset: { testid: 'audit-row', action: a.action, actor: a.actor } },
        h('td.muted', { title: fmtAgo(a.time) }, fmtTime(a.time)),
        h('td', h('strong', a.actor), a.role ? h('span.muted', ' ' + a.role) : null, a.via === 'detector' ? null : h('span.muted', a.via ? ' · ' + a.via : '')),
        h('td', badge(a.action, a.action.startsWith('ban') || a.action === 'login.failed' ? 'bad' : a.action.startsWith('policy') ? 'accent' : 'info')),
        h('td.mono', a.target || '–'),
        h('td', a.ok ? badge('ok', 'ok') : badge('failed', 'bad')),
        h('td.mono.muted', a.ip || '–'),
        h('td', a.detail ? h('button.btn.btn-ghost.btn-sm', { type: 'button', on: { click: () => { detail.hidden = !detail.hidden; } } }, 'Detail') : null)),
      detail);
    }
  }

  load();
  const timer = setInterval(() => { if (!document.hidden && !next) load(); }, 10000);
  return { dispose() { disposed = true; clearInterval(timer); } };
}

function debounce(fn, ms) {
  let t = null;
  return () => { clearTimeout(t); t = setTimeout(fn, ms); };
}
