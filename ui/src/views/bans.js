// The ban list and the allow list: browse and search by type and value prefix, add and lift
// entries by token, subject, IP or CIDR, and see why each exists (its change log: who, when,
// the reason and the evidence, such as the case it came from).
import { h, clear, fmtInt, fmtAgo, fmtIn, fmtTime, shortId, badge, toast, modal } from '../dom.js';
import { icon } from '../icons.js';
import * as api from '../api.js';

const TYPES = ['token', 'subject', 'ip', 'cidr'];
const TTLS = [['3600', '1 hour'], ['86400', '24 hours'], ['604800', '7 days'], ['2592000', '30 days'], ['', 'permanent']];

export default function bans({ app, main, actions }) {
  let list = 'bans';
  let rows = [];
  let next = null;
  let disposed = false;
  const open = new Set();

  const tabs = h('div.tabs', [['bans', 'Bans'], ['allow', 'Allow list']].map(([v, t]) => h('button.tab', {
    type: 'button', 'aria-selected': String(v === list), dataset: { testid: 'tab-' + v },
    on: { click: () => { list = v; for (const b of tabs.children) b.setAttribute('aria-selected', String(b.dataset.testid === 'tab-' + v)); load(); } },
  }, t)));
  const typeSel = h('select', { dataset: { testid: 'ban-filter-type' }, on: { change: () => load() } },
    h('option', { value: '' }, 'All types'), TYPES.map((t) => h('option', { value: t }, t)));
  const prefix = h('input.search', { type: 'search', placeholder: 'Value starts with…', dataset: { testid: 'ban-search' },
    on: { input: debounce(() => load(), 250) } });
  const count = h('span.muted');
  const tbody = h('tbody');
  const more = h('button.btn.btn-ghost', { type: 'button', hidden: true, on: { click: () => load(true) } }, 'Load more');

  if (app.can('moderator'))
    actions.append(h('button.btn.btn-primary', { type: 'button', dataset: { testid: 'add-ban' }, on: { click: addDialog } }, icon('plus'), 'Add'));

  main.append(h('section.card',
    h('div.filters', tabs, h('div.filter-row', typeSel, prefix, count)),
    h('div.table-wrap', h('table.table', { dataset: { testid: 'bans-table' } },
      h('thead', h('tr', ['Type', 'Value', 'Reason', 'By', 'Added', 'Ends', ''].map((t) => h('th', t)))),
      tbody)),
    more));

  async function load(append = false) {
    const noun = list === 'bans' ? 'bans' : 'entries';
    try {
      const r = await api.get(`/v1/${list}` + api.qs({ type: typeSel.value, prefix: prefix.value.trim(), limit: 200, after: append ? next : '' }));
      if (disposed) return;
      rows = append ? rows.concat(r[noun]) : r[noun];
      next = r.next;
    } catch (e) {
      toast(e.status === 400 ? 'Search: ' + e.message : 'Cannot load: ' + e.message, 'bad');
      return;
    }
    render();
  }

  function render() {
    count.textContent = `${fmtInt(rows.length)}${next ? '+' : ''} ${list === 'bans' ? 'bans' : 'entries'}`;
    more.hidden = !next;
    clear(tbody);
    if (!rows.length)
      tbody.append(h('tr', h('td.empty', { colSpan: 7 }, list === 'bans' ? 'No bans match.' : 'No allow-list entries match.')));
    for (const b of rows) {
      const key = b.type + '/' + b.value;
      const why = h('tr.why-row', { hidden: !open.has(key) }, h('td', { colSpan: 7 }, h('div.why', 'Loading…')));
      tbody.append(h('tr', { dataset: { testid: 'ban-row', value: b.value, type: b.type } },
        h('td', badge(b.type, 'info')),
        h('td.mono', { title: b.value }, shortId(b.value, 40)),
        h('td', b.reason || h('span.muted', 'no reason given')),
        h('td', b.actor === 'detector' ? badge('detector', 'accent') : b.actor),
        h('td.muted', { title: fmtTime(b.created) }, fmtAgo(b.created)),
        h('td', b.expired ? badge('expired', 'muted') : b.until ? h('span', { title: fmtTime(b.until) }, fmtIn(b.until)) : badge('permanent', 'warn')),
        h('td.row-actions',
          h('button.btn.btn-ghost.btn-sm', { type: 'button', dataset: { testid: 'ban-why' }, on: { click: () => toggleWhy(b, key, why) } }, 'Why'),
          app.can('moderator') ? h('button.btn.btn-ghost.btn-sm.text-danger', { type: 'button', dataset: { testid: 'ban-lift' },
            on: { click: () => lift(b) } }, list === 'bans' ? 'Lift' : 'Remove') : null)),
      why);
      if (open.has(key)) fillWhy(b, why);
    }
  }

  function toggleWhy(b, key, row) {
    if (open.has(key)) { open.delete(key); row.hidden = true; return; }
    open.add(key);
    row.hidden = false;
    fillWhy(b, row);
  }

  async function fillWhy(b, row) {
    const box = row.querySelector('.why');
    try {
      const r = await api.get('/v1/audit' + api.qs({ list, type: b.type, value: b.value, limit: 5 }));
      clear(box);
      const add = r.audit.find((a) => a.op === 'add') || r.audit[0];
      if (!add) { box.append('No change record found (older than the change log keeps).'); return; }
      const ev = add.evidence || {};
      box.append(h('dl.facts',
        h('dt', 'Added'), h('dd', `${fmtTime(add.time)} by ${add.actor}${ev.request && ev.request.via ? ' via ' + ev.request.via : ''}${ev.request && ev.request.ip ? ' from ' + ev.request.ip : ''}`),
        h('dt', 'Reason'), h('dd', add.reason || '–'),
        ev.case ? [h('dt', 'From case'), h('dd', h('a.link', { href: '#/cases/' + ev.case.id }, '#' + ev.case.id),
          ` · score ${ev.case.score} · ${ev.case.hits} flagged requests · ${(ev.case.countries || []).join(', ') || 'no country'} · ${ev.case.detail || ''}`)] : null,
        ev.verdict ? [h('dt', 'Detection'), h('dd', `${ev.verdict.level}, score ${ev.verdict.score}: ${ev.verdict.explanation}`)] : null,
        ev.evidence ? [h('dt', 'Evidence'), h('dd', h('pre.json', JSON.stringify(ev.evidence, null, 2)))] : null,
        r.audit.length > 1 ? [h('dt', 'History'), h('dd', r.audit.map((a) => h('div', `${fmtTime(a.time)} ${a.op} by ${a.actor}${a.reason ? ': ' + a.reason : ''}`)))] : null));
    } catch (e) {
      clear(box).append('Cannot load the change log: ' + e.message);
    }
  }

  async function lift(b) {
    const ok = await modal({ title: `${list === 'bans' ? 'Lift the ban on' : 'Remove the allow-list entry for'} ${b.type} ${shortId(b.value, 28)}?`,
      body: h('p', list === 'bans' ? 'Requests with it are decided as if it had never been banned, from the next request.'
        : 'It is judged by sharing detection again and can open cases.'),
      buttons: [{ label: 'Cancel', value: false }, { label: list === 'bans' ? 'Lift' : 'Remove', value: true, kind: 'danger', testid: 'confirm' }] });
    if (!ok) return;
    try {
      await api.del(`/v1/${list}/${encodeURIComponent(b.type)}/${encodeURIComponent(b.value)}`);
      toast(list === 'bans' ? 'Ban lifted' : 'Entry removed');
      load();
    } catch (e) { toast(e.message, 'bad'); }
  }

  async function addDialog() {
    const type = h('select', { dataset: { testid: 'new-type' } }, TYPES.map((t) => h('option', { value: t }, t)));
    const value = h('input', { placeholder: 'token id, subject, 203.0.113.7 or 203.0.113.0/24', dataset: { testid: 'new-value' } });
    const ttl = h('select', { dataset: { testid: 'new-ttl' } }, TTLS.map(([v, t]) => h('option', { value: v }, t)));
    ttl.value = '86400';
    const reason = h('input', { placeholder: 'Why (kept with the entry)', maxLength: 255, dataset: { testid: 'new-reason' } });
    const ok = await modal({ title: list === 'bans' ? 'Add a ban' : 'Add an allow-list entry',
      body: h('div.form-grid', h('label', 'Type'), type, h('label', 'Value'), value, h('label', 'For'), ttl, h('label', 'Reason'), reason),
      buttons: [{ label: 'Cancel', value: false }, { label: 'Add', value: true, kind: 'primary', testid: 'confirm' }] });
    if (!ok) return;
    try {
      await api.post(`/v1/${list}`, { type: type.value, value: value.value.trim(), ttl: ttl.value ? Number(ttl.value) : undefined,
        reason: reason.value || undefined });
      toast(list === 'bans' ? 'Ban added' : 'Entry added');
      load();
    } catch (e) { toast(e.message, 'bad'); }
  }

  load();
  const timer = setInterval(() => { if (!document.hidden && !open.size) load(); }, 10000);
  return { dispose() { disposed = true; clearInterval(timer); } };
}

function debounce(fn, ms) {
  let t = null;
  return () => { clearTimeout(t); t = setTimeout(fn, ms); };
}
