// Policies: each policy's match rules and mode, and the switch between monitor, moderate and
// automate behind a confirmation that says what the switch would enforce (the what-if API).
import { h, clear, fmtInt, badge, toast, modal } from '../dom.js';
import * as api from '../api.js';

const MODES = [
  ['monitor', 'Monitor', 'Allow everything and log what would have happened.'],
  ['moderate', 'Moderate', 'Allow, and open a review case for misuse by a verified viewer.'],
  ['automate', 'Automate', 'Enforce: shared tokens get the policy’s action and are banned.'],
];
const MODE_KIND = { monitor: 'info', moderate: 'warn', automate: 'bad' };

export default function policies({ app, main }) {
  let disposed = false;
  const grid = h('div.policy-grid');
  main.append(h('p.lead', 'Crawl, walk, run: watch in monitor mode, review in moderate mode, enforce in automate mode. A switch applies from the next request on every thread and lasts until the server restarts (the configuration file keeps the mode it starts with).'), grid);

  async function load() {
    let p, s;
    try {
      [p, s] = await Promise.all([api.get('/v1/policies'), api.get('/v1/stats?window=10')]);
    } catch (e) { toast('Cannot load the policies: ' + e.message, 'bad'); return; }
    if (disposed) return;
    const recent = Object.fromEntries(s.policies.map((x) => [x.name, x]));
    clear(grid);
    for (const pol of p.policies) {
      const r = recent[pol.name] || {};
      grid.append(h('section.card.policy', { dataset: { testid: 'policy-' + pol.name } },
        h('div.card-head', h('h2', pol.name), badge(pol.mode, MODE_KIND[pol.mode], { dataset: { testid: 'policy-mode' } })),
        h('dl.facts',
          h('dt', 'Host'), h('dd', pol.host || 'any'),
          h('dt', 'Path'), h('dd.mono', pol.path_prefix || '/'),
          h('dt', 'Schemes'), h('dd', pol.schemes.length ? pol.schemes.join(', ') : 'every scheme with a key'),
          h('dt', 'Last 5 minutes'), h('dd', r.recent_decisions ? `${fmtInt(r.recent_decisions)} decisions, ${fmtInt(r.recent_would_enforce)} flagged` : 'no traffic')),
        h('div.segmented', { role: 'radiogroup', 'aria-label': 'Mode of ' + pol.name }, MODES.map(([m, label, help]) => h('button.seg', {
          type: 'button', role: 'radio', 'aria-checked': String(pol.mode === m), title: help,
          disabled: !app.can('admin'), dataset: { testid: `mode-${pol.name}-${m}` },
          on: { click: () => { if (pol.mode !== m) switchMode(pol, m); } },
        }, label))),
        !app.can('admin') ? h('p.muted.small', 'Only admins switch modes.') : null));
    }
  }

  async function switchMode(pol, mode) {
    let w;
    try {
      w = await api.get(`/v1/policies/${encodeURIComponent(pol.name)}/whatif?mode=${mode}`);
    } catch (e) { toast('Cannot compute the effect: ' + e.message, 'bad'); return; }
    const ok = await modal({
      title: `Switch ${pol.name} to ${mode}?`,
      body: h('div',
        h('p', { dataset: { testid: 'whatif-summary' } }, w.summary),
        h('div.whatif',
          h('div', h('div.whatif-num', { dataset: { testid: 'whatif-cases' } }, fmtInt(w.cases.would_enforce)), h('div.muted', 'current cases enforced')),
          h('div', h('div.whatif-num', fmtInt(w.cases.seen_last_hour)), h('div.muted', 'of them seen in the last hour')),
          h('div', h('div.whatif-num', fmtInt(w.recent.would_enforce)), h('div.muted', `flagged of ${fmtInt(w.recent.decisions)} recent decisions`)))),
      buttons: [{ label: 'Cancel', value: false },
        { label: `Switch to ${mode}`, value: true, kind: mode === 'automate' ? 'danger' : 'primary', testid: 'confirm' }],
    });
    if (!ok) return;
    try {
      await api.put(`/v1/policies/${encodeURIComponent(pol.name)}/mode`, { mode });
      toast(`${pol.name} is now in ${mode} mode`);
    } catch (e) { toast(e.message, 'bad'); }
    load();
  }

  load();
  const timer = setInterval(() => { if (!document.hidden && !document.querySelector('.modal')) load(); }, 5000);
  return { dispose() { disposed = true; clearInterval(timer); } };
}
