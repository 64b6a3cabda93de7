// Cases: the suspect and shared tokens people review. A list with filters and search, bulk
// verdicts, and a case's evidence (score, reasons, networks with their ASNs and countries, the
// countries, a timeline of the networks' use) with the verdicts: ban with a TTL, allow-list
// with a scope, dismiss, escalate.
import { h, clear, fmtInt, fmtAgo, fmtTime, fmtIn, shortId, badge, scoreBar, toast, modal, svg } from '../dom.js';
import { icon } from '../icons.js';
import * as api from '../api.js';

const STATUSES = ['open', 'escalated', 'banned', 'allowed', 'dismissed'];
const STATUS_KIND = { open: 'warn', escalated: 'accent', banned: 'bad', allowed: 'ok', dismissed: 'muted' };
const REASON_TEXT = {
  shared: 'shared', replay: 'replayed', geo: 'country', referer: 'referer', user_agent: 'user agent',
  origin_ip: 'address', banned: 'banned', invalid: 'invalid', expired: 'expired', no_token: 'no token',
};
const TTLS = [
  ['', 'token lifetime'], ['3600', '1 hour'], ['86400', '24 hours'], ['604800', '7 days'], ['2592000', '30 days'],
];

const state = { statuses: new Set(['open', 'escalated']), q: '', policy: '', minScore: 0, reason: '' };

export default function cases({ app, main, args }) {
  let list = [];
  let next = null;
  let selected = new Set();
  let openId = args[0] ? Number(args[0]) : null;
  let disposed = false;

  const search = h('input.search', { type: 'search', placeholder: 'Search token, subject, address, country, explanation', value: state.q,
    dataset: { testid: 'case-search' }, on: { input: () => { state.q = search.value.trim().toLowerCase(); render(); } } });
  const policySel = h('select', { on: { change: () => { state.policy = policySel.value; render(); } } }, h('option', { value: '' }, 'All policies'));
  const reasonSel = h('select', { on: { change: () => { state.reason = reasonSel.value; render(); } } },
    h('option', { value: '' }, 'Any reason'), Object.entries(REASON_TEXT).slice(0, 6).map(([v, t]) => h('option', { value: v }, t)));
  const scoreSel = h('select', { on: { change: () => { state.minScore = Number(scoreSel.value); render(); } } },
    [[0, 'Any score'], [40, 'Score 40+'], [70, 'Score 70+'], [90, 'Score 90+']].map(([v, t]) => h('option', { value: v }, t)));
  scoreSel.value = String(state.minScore);
  reasonSel.value = state.reason;
  const chips = h('div.chips', STATUSES.map((st) => h('button.chip', {
    type: 'button', dataset: { testid: 'status-' + st }, 'aria-pressed': String(state.statuses.has(st)),
    on: { click: (e) => {
      if (state.statuses.has(st)) state.statuses.delete(st); else state.statuses.add(st);
      e.currentTarget.setAttribute('aria-pressed', String(state.statuses.has(st)));
      load();
    } },
  }, st)));
  const count = h('span.muted');
  const bulkBar = h('div.bulk', { hidden: true });
  const tbody = h('tbody');
  const more = h('button.btn.btn-ghost', { type: 'button', hidden: true, on: { click: () => load(true) } }, 'Load more');
  const listCard = h('section.card.cases-list',
    h('div.filters', search, chips, h('div.filter-row', policySel, reasonSel, scoreSel, count)),
    bulkBar,
    h('div.table-wrap', h('table.table.table-hover', { dataset: { testid: 'cases-table' } },
      h('thead', h('tr',
        h('th.check', app.can('moderator') ? h('input', { type: 'checkbox', 'aria-label': 'Select all', on: { change: (e) => {
          selected = new Set(e.target.checked ? visible().map((c) => c.id) : []);
          render();
        } } }) : null),
        ['Case', 'Token'].map((t) => h('th', t)), h('th.opt', 'Subject'), ['Reasons', 'Score'].map((t) => h('th', t)),
        h('th.num.opt', 'Hits'), h('th.opt', 'Countries'),
        h('th.opt', 'Last seen'), h('th', 'Status'))),
      tbody)),
    more);
  const detail = h('section.card.case-detail', { dataset: { testid: 'case-detail' } });
  const layout = h('div.split', listCard, detail);
  main.append(layout);

  function matches(c) {
    if (state.policy && c.policy !== state.policy) return false;
    if (state.reason && !c.reasons.includes(state.reason) && !(state.reason === 'shared' && c.score >= 40 && !c.reasons.length)) return false;
    if (c.score < state.minScore) return false;
    if (!state.q) return true;
    const hay = [c.key, c.subject, c.policy, c.detail, ...(c.addresses || []), ...(c.countries || []), String(c.id)]
      .filter(Boolean).join(' ').toLowerCase();
    return hay.includes(state.q);
  }
  const visible = () => list.filter(matches);

  async function load(append = false) {
    const statuses = [...state.statuses].join(',');
    try {
      const r = await api.get('/v1/cases' + api.qs({ status: statuses, limit: 500, before: append ? next : '' }));
      if (disposed) return;
      list = append ? list.concat(r.cases) : r.cases;
      next = r.next;
    } catch (e) {
      toast('Cannot load the cases: ' + e.message, 'bad');
      return;
    }
    const pols = [...new Set(list.map((c) => c.policy))].sort();
    const cur = policySel.value;
    clear(policySel).append(h('option', { value: '' }, 'All policies'), ...pols.map((p) => h('option', { value: p }, p)));
    policySel.value = pols.includes(cur) ? cur : '';
    selected = new Set([...selected].filter((id) => list.some((c) => c.id === id)));
    render();
  }

  function render() {
    const rows = visible();
    count.textContent = `${fmtInt(rows.length)} of ${fmtInt(list.length)} cases`;
    more.hidden = !next;
    clear(tbody);
    if (!rows.length)
      tbody.append(h('tr', h('td.empty', { colSpan: 10 }, list.length ? 'No case matches the filters.' : 'No cases with these statuses. Cases open in moderate and automate mode when a verified viewer is flagged.')));
    for (const c of rows) {
      const tr = h('tr', {
        class: c.id === openId ? 'selected' : '', dataset: { testid: 'case-row', key: c.key, id: String(c.id) },
        on: { click: (e) => { if (!e.target.closest('input')) app.go('#/cases/' + c.id); } },
      },
      h('td.check', app.can('moderator') ? h('input', { type: 'checkbox', checked: selected.has(c.id), 'aria-label': 'Select case ' + c.id,
        on: { change: (e) => { if (e.target.checked) selected.add(c.id); else selected.delete(c.id); renderBulk(); } } }) : null),
      h('td.mono', '#' + c.id),
      h('td.mono', { title: c.key }, shortId(c.key, 10)),
      h('td.opt', c.subject || '–'),
      h('td', reasonBadges(c)),
      h('td', scoreBar(c.score)),
      h('td.num.opt', fmtInt(c.hits)),
      h('td.opt', (c.countries || []).join(' ') || '–'),
      h('td.muted.opt', { title: fmtTime(c.last_seen) }, fmtAgo(c.last_seen)),
      h('td', badge(c.status, STATUS_KIND[c.status])));
      tbody.append(tr);
    }
    renderBulk();
  }

  function renderBulk() {
    clear(bulkBar);
    bulkBar.hidden = !selected.size;
    if (!selected.size) return;
    const ttl = h('select', { 'aria-label': 'Ban for' }, TTLS.map(([v, t]) => h('option', { value: v }, t)));
    bulkBar.append(h('strong', `${selected.size} selected`),
      h('span.bulk-actions',
        h('button.btn.btn-danger.btn-sm', { type: 'button', dataset: { testid: 'bulk-ban' }, on: { click: () => bulk('ban', ttl.value) } }, 'Ban'), ttl,
        h('button.btn.btn-sm', { type: 'button', on: { click: () => bulk('escalate') } }, 'Escalate'),
        h('button.btn.btn-sm', { type: 'button', on: { click: () => bulk('dismiss') } }, 'Dismiss'),
        h('button.btn.btn-ghost.btn-sm', { type: 'button', on: { click: () => { selected.clear(); render(); } } }, 'Clear')));
  }

  async function bulk(verdict, ttl) {
    const ids = [...selected];
    const ok = await modal({ title: `${verdict[0].toUpperCase() + verdict.slice(1)} ${ids.length} cases?`,
      body: h('p', verdict === 'ban'
        ? `Each case's token is banned ${ttl ? 'for ' + TTLS.find((t) => t[0] === ttl)[1] : 'until it expires'}, with the case as evidence.`
        : `The ${ids.length} cases are marked ${verdict === 'dismiss' ? 'dismissed (they open again if flagged again)' : 'escalated'}.`),
      buttons: [{ label: 'Cancel', value: false }, { label: verdict === 'ban' ? 'Ban all' : 'Apply', value: true, kind: verdict === 'ban' ? 'danger' : 'primary' }] });
    if (!ok) return;
    let done = 0, failed = 0;
    for (const id of ids) {
      try {
        await api.post(`/v1/cases/${id}/verdict`, { verdict, ttl: ttl ? Number(ttl) : undefined, note: 'bulk action' });
        done++;
      } catch { failed++; }
    }
    toast(`${done} case${done === 1 ? '' : 's'} updated${failed ? `, ${failed} failed` : ''}`, failed ? 'warn' : 'ok');
    selected.clear();
    load();
    if (openId) showCase(openId);
  }

  async function showCase(id) {
    openId = id;
    layout.classList.toggle('with-detail', !!id);
    clear(detail);
    if (!id) return;
    detail.append(h('div.muted.pad', 'Loading case #' + id + '…'));
    let r;
    try { r = await api.get('/v1/cases/' + id); } catch (e) {
      clear(detail).append(h('div.pad', 'Cannot load case #' + id + ': ' + e.message));
      return;
    }
    if (disposed || openId !== id) return;
    renderCase(r.case, r.evidence);
    for (const tr of tbody.querySelectorAll('tr')) tr.classList.toggle('selected', tr.dataset.id === String(id));
  }

  function renderCase(c, ev) {
    clear(detail);
    const closeBtn = h('button.btn.btn-ghost.btn-icon', { type: 'button', 'aria-label': 'Close', on: { click: () => app.go('#/cases') } }, icon('x'));
    detail.append(
      h('div.detail-head',
        h('div', h('div.detail-kicker', `Case #${c.id} · ${c.policy} · ${c.scheme}`),
          h('h2.detail-title.mono', { title: c.key, dataset: { testid: 'case-key' } }, c.key),
          h('div.detail-meta', badge(c.status, STATUS_KIND[c.status], { dataset: { testid: 'case-status' } }),
            c.subject ? h('span', 'subject ', h('strong', c.subject)) : null,
            h('span', `${fmtInt(c.hits)} flagged requests`),
            h('span', 'opened ' + fmtAgo(c.opened)),
            c.token_exp ? h('span', 'token expires ' + fmtIn(c.token_exp)) : null)),
        closeBtn),
      h('div.score-big', scoreBar(ev ? Math.max(ev.score, c.score) : c.score),
        h('span', ev ? `${ev.verdict} now` : `highest score seen`)),
      h('p.explain', { dataset: { testid: 'case-explanation' } }, (ev && ev.explanation) || c.detail || 'No explanation recorded.'),
      h('div.reasons', reasonBadges(c)));

    if (c.verdict)
      detail.append(h('div.verdict-note', icon('check'),
        h('span', `${c.status} by `, h('strong', c.verdict.actor), ' ' + fmtAgo(c.verdict.time), c.verdict.note ? ': “' + c.verdict.note + '”' : '')));

    if (app.can('moderator')) detail.append(actionsPanel(c));

    // evidence: networks, countries, timeline
    const nets = ev ? ev.networks : [];
    detail.append(h('h3.section', 'Networks ', h('span.muted', ev ? `· ${nets.length + (ev.more_networks || 0)} in the detection window` : '· not tracked now')));
    if (nets.length) {
      detail.append(h('table.table.table-compact', { dataset: { testid: 'evidence-networks' } },
        h('thead', h('tr', ['Network', 'Operator', 'Where'].map((t) => h('th', t)), h('th.num', 'Requests'))),
        h('tbody', nets.map((n) => h('tr', { title: `active ${fmtTime(n.first)} – ${fmtTime(n.last)}` },
          h('td.mono', n.prefix || '–'),
          h('td', n.asn ? h('span', { title: n.as_org || '' }, 'AS' + n.asn, n.as_org ? h('span.asn-org', n.as_org) : null) : '–'),
          h('td', [n.country, n.city].filter(Boolean).join(' · ') || '–'),
          h('td.num', n.requests ? fmtInt(n.requests) : '–'))))));
      if (ev.more_networks) detail.append(h('p.muted.small', `and about ${ev.more_networks} more networks not kept in detail`));
      detail.append(h('h3.section', 'Timeline'), timeline(c, nets));
    } else {
      detail.append(h('p.muted.small', 'Sharing detection holds nothing on this token now (it expired or went idle). The addresses the case kept:'));
    }
    const countries = [...new Set([...(c.countries || []), ...nets.map((n) => n.country).filter(Boolean)])];
    detail.append(
      h('div.two-col',
        h('div', h('h3.section', 'Countries'), h('ul.taglist', { dataset: { testid: 'evidence-countries' } },
          countries.length ? countries.map((cc) => h('li.tag', cc)) : h('li.muted', 'none known'))),
        h('div', h('h3.section', 'Addresses'), h('ul.taglist.mono', (c.addresses || []).map((a) => h('li.tag', a)),
          c.more_addresses ? h('li.muted', `+${c.more_addresses} more`) : null))));
  }

  function actionsPanel(c) {
    const closed = ['banned', 'allowed'].includes(c.status);
    const note = h('input', { placeholder: 'Note for the audit log (optional)', maxLength: 200, dataset: { testid: 'verdict-note' } });
    const ttl = h('select', { dataset: { testid: 'ban-ttl' } }, TTLS.map(([v, t]) => h('option', { value: v }, t)));
    const scopes = [['token', 'this token']];
    if (c.subject) scopes.push(['subject', 'the subject ' + c.subject]);
    if (c.addresses && c.addresses.length) scopes.push(['ip', 'the address ' + c.addresses[0]]);
    const banScope = h('select', { dataset: { testid: 'ban-scope' } }, scopes.map(([v, t]) => h('option', { value: v }, t)));
    const allowScope = h('select', { dataset: { testid: 'allow-scope' } }, scopes.map(([v, t]) => h('option', { value: v }, t)));
    const send = async (verdict, extra, confirmText) => {
      if (confirmText) {
        const ok = await modal({ title: confirmText.title, body: h('p', confirmText.body),
          buttons: [{ label: 'Cancel', value: false }, { label: confirmText.button, value: true, kind: confirmText.kind, testid: 'confirm' }] });
        if (!ok) return;
      }
      try {
        const r = await api.post(`/v1/cases/${c.id}/verdict`, { verdict, note: note.value || undefined, ...extra });
        toast(verdict === 'ban' ? `Banned ${r.ban.type} ${shortId(r.ban.value, 20)}` : `Case #${c.id} ${r.case.status}`);
        renderCase(r.case, null);
        showCase(c.id);
        load();
      } catch (e) {
        toast(e.message, 'bad');
      }
    };
    const banBtn = h('button.btn.btn-danger', { type: 'button', disabled: closed, dataset: { testid: 'action-ban' }, on: { click: () => send('ban',
      { scope: banScope.value, ttl: ttl.value ? Number(ttl.value) : undefined },
      { title: 'Ban ' + (banScope.value === 'token' ? 'this token' : banScope.selectedOptions[0].textContent) + '?',
        body: `Requests with it get the policy's action for banned viewers, ${ttl.value ? 'for ' + ttl.selectedOptions[0].textContent : 'until the token expires'}. The case is kept as the ban's evidence.`,
        button: 'Ban', kind: 'danger' }) } }, icon('ban'), 'Ban');
    const allowBtn = h('button.btn', { type: 'button', disabled: closed, dataset: { testid: 'action-allow' }, on: { click: () => send('allow',
      { scope: allowScope.value }, { title: 'Allow-list as a false positive?',
        body: 'No new cases open for it and sharing detection leaves it alone for 30 days (or until the token expires).',
        button: 'Allow-list', kind: 'primary' }) } }, icon('shield'), 'Allow-list');
    return h('div.actions-panel',
      banBtn, banScope, ttl,
      allowBtn, h('div.span-2', allowScope),
      h('button.btn', { type: 'button', disabled: closed || c.status === 'escalated', dataset: { testid: 'action-escalate' }, on: { click: () => send('escalate', {}) } }, icon('up'), 'Escalate'),
      h('div.span-2', h('button.btn', { type: 'button', disabled: closed || c.status === 'dismissed', dataset: { testid: 'action-dismiss' }, on: { click: () => send('dismiss', {}) } }, icon('x'), 'Dismiss'),
        h('span.muted.small', { style: { alignSelf: 'center' } }, 'Dismissed cases open again when the token is flagged again.')),
      h('div.span-3', note));
  }

  load();
  showCase(openId);
  const timer = setInterval(() => { if (!document.hidden) load(); }, 5000);
  return {
    dispose() { disposed = true; clearInterval(timer); },
    update(a) { showCase(a[0] ? Number(a[0]) : null); },
  };
}

function reasonBadges(c) {
  const out = c.reasons.map((r) => badge(REASON_TEXT[r] || r, r === 'shared' ? 'bad' : 'warn'));
  if (!out.length && c.score >= 40) out.push(badge('suspect', 'warn'));
  return out.length ? out : '–';
}

// The networks' use over time: one bar per network from its first to its last request, with
// the case's opening marked.
function timeline(c, nets) {
  const W = 520, rowH = 22, left = 150, top = 18;
  const t0 = Math.min(...nets.map((n) => n.first), c.opened);
  const t1 = Math.max(...nets.map((n) => n.last), c.last_seen, t0 + 10);
  const x = (t) => left + ((t - t0) / (t1 - t0)) * (W - left - 10);
  const H = top + nets.length * rowH + 22;
  const colors = ['#2563eb', '#dc2626', '#d97706', '#7c3aed', '#0891b2', '#db2777', '#16a34a', '#64748b'];
  const sorted = [...nets].sort((a, b) => a.first - b.first);
  const el = svg('svg', { class: 'timeline', viewBox: `0 0 ${W} ${H}`, role: 'img', 'aria-label': 'Networks over time' },
    svg('line', { x1: x(c.opened), x2: x(c.opened), y1: 10, y2: H - 18, stroke: '#94a3b8', 'stroke-dasharray': '3 3' }),
    svg('text', { x: x(c.opened) + (x(c.opened) > W - 90 ? -3 : 3), y: 12, class: 'tl-note',
      'text-anchor': x(c.opened) > W - 90 ? 'end' : 'start' }, 'case opened'),
    sorted.map((n, i) => {
      const y = top + i * rowH;
      const x0 = x(n.first), x1 = Math.max(x(n.last), x0 + 4);
      return svg('g', {},
        svg('text', { x: 0, y: y + 14, class: 'tl-label' }, `${n.country || '??'} · AS${n.asn || '?'}`),
        svg('rect', { x: left, y: y + 4, width: W - left - 10, height: 12, rx: 3, fill: '#f1f5f9' }),
        svg('rect', { x: x0, y: y + 4, width: x1 - x0, height: 12, rx: 3, fill: colors[i % colors.length] },
          svg('title', {}, `${n.prefix || ''} ${fmtTime(n.first)} – ${fmtTime(n.last)}, ${n.requests || '?'} requests`)));
    }),
    svg('text', { x: left, y: H - 4, class: 'tl-axis' }, fmtTime(t0).slice(11)),
    svg('text', { x: W - 10, y: H - 4, class: 'tl-axis', 'text-anchor': 'end' }, fmtTime(t1).slice(11)));
  return h('div.timeline-wrap', el);
}
