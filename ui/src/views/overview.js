// Overview: live decisions per second by action, the share of traffic on suspect and shared
// tokens, the tokens with the widest spread, each policy's mode, bans, cases, node health and
// alerts. Polls GET /v1/stats every 2 seconds.
import { h, clear, fmtInt, fmtRate, fmtPct, fmtAgo, fmtDuration, fmtBytes, shortId, badge, scoreBar } from '../dom.js';
import { icon } from '../icons.js';
import { lineChart, ACTION_COLORS } from '../charts.js';
import * as api from '../api.js';

const ACTIONS = ['allow', 'block', 'throttle', 'substitute', 'redirect', 'callout', 'renew'];
const MODE_KIND = { monitor: 'info', moderate: 'warn', automate: 'bad' };

function kpi(label, testid, tone) {
  const value = h('div.kpi-value', { dataset: { testid } }, '–');
  const sub = h('div.kpi-sub', '\u00a0');
  return { el: h('div.card.kpi' + (tone ? '.kpi-' + tone : ''), h('div.kpi-label', label), value, sub), value, sub };
}

export default function overview({ app }) {
  const main = arguments[0].main;
  const k = {
    rate: kpi('Decisions / s', 'kpi-rate'),
    suspect: kpi('Suspect traffic', 'kpi-suspect', 'warn'),
    shared: kpi('Shared traffic', 'kpi-shared', 'bad'),
    bans: kpi('Active bans', 'kpi-bans'),
    cases: kpi('Cases to review', 'kpi-cases'),
    nodes: kpi('Nodes', 'kpi-nodes'),
  };
  const alertsBox = h('div.alerts');
  const decisions = lineChart([
    ...ACTIONS.map((a) => ({ label: a, color: ACTION_COLORS[a], fill: a === 'allow' })),
    { label: 'would enforce', color: '#0f172a', dash: [5, 4], width: 1.5 },
  ], { height: 250, yFmt: fmtRate, always: ['allow', 'would enforce'] });
  const share = lineChart([
    { label: 'suspect', color: '#d97706', fill: true },
    { label: 'shared', color: '#dc2626', fill: true },
  ], { height: 250, yFmt: (v) => (v * 100).toFixed(v < 0.1 ? 1 : 0) + '%', yMax: 0.05, always: ['suspect', 'shared'] });
  const topBody = h('tbody');
  const polBody = h('tbody');
  const nodesBox = h('div.nodes');
  const updated = h('span.muted');
  main.append(
    alertsBox,
    h('div.kpis', Object.values(k).map((x) => x.el)),
    h('div.grid-2-1',
      h('section.card', h('div.card-head', h('h2', 'Decisions per second by action'), updated), decisions.el),
      h('section.card', h('div.card-head', h('h2', 'Traffic on suspect and shared tokens')), share.el)),
    h('div.grid-2-1',
      h('section.card', h('div.card-head', h('h2', 'Top tokens by spread'), h('span.muted', 'networks in the detection window')),
        h('div.table-wrap', h('table.table.table-compact', { dataset: { testid: 'top-tokens' } },
          h('thead', h('tr', ['Token', 'Subject'].map((t) => h('th', t)), ['Networks', 'ASNs', 'Countries'].map((t) => h('th.num', t)),
            ['Score', 'Verdict'].map((t) => h('th', t)))),
          topBody))),
      h('div.stack',
        h('section.card', h('div.card-head', h('h2', 'Policies'), h('a.link', { href: '#/policies' }, 'Manage')),
          h('table.table.table-compact', { dataset: { testid: 'policy-modes' } },
            h('thead', h('tr', h('th', 'Policy'), h('th', 'Mode'), h('th.num', 'Flagged, 5 min'))), polBody)),
        h('section.card', h('div.card-head', h('h2', 'Node health')), nodesBox))));

  async function refresh() {
    let s;
    try {
      s = await api.get('/v1/stats?window=300');
    } catch (e) {
      updated.textContent = 'cannot reach the server: ' + e.message;
      return;
    }
    app.refreshBadges(s);
    const lm = s.last_minute;
    k.rate.value.textContent = fmtRate(lm.decisions_per_s);
    k.rate.sub.textContent = fmtInt(s.totals.decisions) + ' since start';
    k.suspect.value.textContent = fmtPct(lm.suspect_share);
    k.suspect.sub.textContent = fmtInt(s.totals.suspect) + ' suspect decisions';
    k.shared.value.textContent = fmtPct(lm.shared_share);
    k.shared.sub.textContent = fmtInt(s.totals.shared) + ' shared decisions';
    k.bans.value.textContent = fmtInt(s.bans.total);
    k.bans.sub.textContent = `${fmtInt(s.totals.auto_bans)} by the detector`;
    k.cases.value.textContent = fmtInt(s.cases.open + s.cases.escalated);
    k.cases.sub.textContent = fmtInt(s.cases.escalated) + ' escalated';
    const healthy = s.nodes.filter((n) => n.status === 'ok').length;
    k.nodes.value.textContent = `${healthy} / ${s.nodes.length}`;
    k.nodes.sub.textContent = healthy === s.nodes.length ? 'all healthy' : 'needs attention';
    k.nodes.el.classList.toggle('kpi-bad', healthy !== s.nodes.length);

    const se = s.series;
    decisions.set([se.t, ...ACTIONS.map((a) => se.decisions[a]), se.would_enforce]);
    share.set([se.t, se.suspect_share, se.shared_share]);
    updated.textContent = 'last 5 minutes';

    clear(topBody);
    if (!s.top_tokens.length)
      topBody.append(h('tr', h('td.empty', { colSpan: 7 }, 'No token seen on more than one network in the last 10 minutes.')));
    for (const t of s.top_tokens)
      topBody.append(h('tr',
        h('td.mono', { title: t.token_id + ' (policy ' + t.policy + ')' }, shortId(t.token_id, 12)),
        h('td', t.subject || '–'),
        h('td.num', fmtInt(t.networks)), h('td.num', fmtInt(t.asns)), h('td.num', fmtInt(t.countries)),
        h('td', scoreBar(t.score)),
        h('td', badge(t.verdict, t.verdict === 'shared' ? 'bad' : t.verdict === 'suspect' ? 'warn' : 'ok',
          { title: 'last seen ' + fmtAgo(t.last_seen, s.now) }))));

    clear(polBody);
    for (const p of s.policies)
      polBody.append(h('tr', h('td', p.name), h('td', badge(p.mode, MODE_KIND[p.mode], { dataset: { testid: 'mode-' + p.name } })),
        h('td.num', p.recent_decisions ? `${fmtInt(p.recent_would_enforce)} of ${fmtInt(p.recent_decisions)}` : '–')));

    clear(nodesBox);
    for (const n of s.nodes) {
      const errs = Object.entries(n.errors).filter(([, v]) => v > 0);
      nodesBox.append(h('div.node',
        h('div.node-head', icon('server'), h('strong', n.name),
          badge(n.status, n.status === 'ok' ? 'ok' : n.status === 'starting' ? 'info' : 'bad')),
        h('dl.facts',
          h('dt', 'Version'), h('dd', n.version),
          h('dt', 'Up for'), h('dd', fmtDuration(n.uptime_s)),
          h('dt', 'Threads'), h('dd', String(n.threads)),
          h('dt', 'Connections'), h('dd', fmtInt(n.connections)),
          h('dt', 'Memory'), h('dd', fmtBytes(n.rss_bytes)),
          h('dt', 'Tracked tokens'), h('dd', fmtInt(n.tracked_tokens)),
          h('dt', 'Writer queue'), h('dd', fmtInt(n.writer_queue)),
          h('dt', 'Geo data'), h('dd', n.geo ? 'loaded' : 'none'),
          h('dt', 'Errors since start'), h('dd', errs.length ? errs.map(([k2, v]) => `${k2.replace(/_/g, ' ')} ${v}`).join(', ') : 'none'))));
    }

    clear(alertsBox);
    for (const a of (s.alerts?.active || []))
      alertsBox.append(h('div.alert-banner', { dataset: { testid: 'alert-' + a.kind } }, icon('alert'),
        h('strong', a.title), h('span', a.message), h('span.muted', 'since ' + fmtAgo(a.since, s.now))));
  }

  refresh();
  const timer = setInterval(refresh, 2000);
  return { dispose() { clearInterval(timer); decisions.dispose(); share.dispose(); } };
}
