// The Warden console: sign-in, the shell (navigation, user, live indicator) and a hash router
// over the screens in views/. Served by `warden serve` at /ui/ from files embedded in the
// binary; everything it loads comes from the same origin.
import 'uplot/dist/uPlot.min.css';
import './app.css';
import { h, clear, toast } from './dom.js';
import * as api from './api.js';
import { icon, logo } from './icons.js';
import overview from './views/overview.js';
import cases from './views/cases.js';
import bans from './views/bans.js';
import policies from './views/policies.js';
import audit from './views/audit.js';
import login from './views/login.js';

const ROLES = { viewer: 1, moderator: 2, admin: 3 };
const screens = [
  { path: 'overview', title: 'Overview', icon: 'pulse', view: overview },
  { path: 'cases', title: 'Cases', icon: 'inbox', view: cases },
  { path: 'bans', title: 'Ban list', icon: 'ban', view: bans },
  { path: 'policies', title: 'Policies', icon: 'sliders', view: policies },
  { path: 'audit', title: 'Audit log', icon: 'list', view: audit },
];

const app = {
  session: null,
  can(role) { return !!this.session && ROLES[this.session.role] >= ROLES[role]; },
  go(hash) { if (location.hash !== hash) location.hash = hash; else route(); },
  refreshBadges: () => {},
};

const root = document.getElementById('app');
let current = null;   // { dispose }

function signedOut() {
  if (!app.session) return;
  app.session = null;
  api.setCsrf(null);
  toast('Your session has ended: sign in again', 'warn');
  showLogin();
}
api.setSignedOutHandler(signedOut);

function showLogin() {
  if (current && current.dispose) current.dispose();
  current = null;
  clear(root);
  root.append(login(async (session) => {
    app.session = session;
    api.setCsrf(session.csrf);
    shell();
    route();
  }));
}

let navLinks = {};
let main, titleEl, actionsEl;

function shell() {
  clear(root);
  navLinks = {};
  const nav = h('nav.nav', screens.map((s) => (navLinks[s.path] = h('a.nav-link', {
    href: '#/' + s.path, dataset: { testid: 'nav-' + s.path },
  }, icon(s.icon), h('span', s.title), h('span.nav-count', { dataset: { count: s.path } })))));
  const user = app.session;
  const side = h('aside.side',
    h('div.brand', logo(), h('div', h('div.brand-name', 'Warden'), h('div.brand-sub', 'Token-sharing control'))),
    nav,
    h('div.side-foot',
      h('div.user', h('div.avatar', user.user.slice(0, 1).toUpperCase()),
        h('div', h('div.user-name', { dataset: { testid: 'user-name' } }, user.user),
          h('div.user-role', { dataset: { testid: 'user-role' } }, user.role))),
      h('button.btn.btn-ghost.btn-block', {
        type: 'button', dataset: { testid: 'sign-out' },
        on: { click: async () => {
          try { await api.post('/ui/logout'); } catch { /* already gone */ }
          app.session = null;
          api.setCsrf(null);
          showLogin();
        } },
      }, icon('logout'), 'Sign out')));
  titleEl = h('h1.page-title');
  actionsEl = h('div.page-actions');
  main = h('main.main');
  root.append(h('div.layout', side, h('div.content',
    h('header.topbar', titleEl, actionsEl,
      h('div.live', { title: 'The overview refreshes every 2 seconds' }, h('span.live-dot'), 'Live'),
      !app.can('moderator') ? h('span.badge.badge-muted', { title: 'Your role can read but not change anything' }, 'Read only') : null),
    main)));
}

function route() {
  if (!app.session) return;
  const parts = location.hash.replace(/^#\/?/, '').split('/');
  const screen = screens.find((s) => s.path === parts[0]) || screens[0];
  if (!screens.find((s) => s.path === parts[0]) && location.hash !== '#/overview') {
    history.replaceState(null, '', '#/overview');
  }
  for (const [p, a] of Object.entries(navLinks)) a.classList.toggle('active', p === screen.path);
  if (current && current.screen === screen && current.update) {
    current.update(parts.slice(1));
    return;
  }
  if (current && current.dispose) current.dispose();
  clear(main);
  clear(actionsEl);
  titleEl.textContent = screen.title;
  document.title = screen.title + ' · Warden';
  current = screen.view({ app, main, actions: actionsEl, args: parts.slice(1) }) || {};
  current.screen = screen;
}

window.addEventListener('hashchange', route);

// Badge counts in the navigation (open cases, bans), kept fresh by the overview's poll and
// by a slow poll of their own.
app.refreshBadges = (stats) => {
  const set = (k, v) => {
    const el = document.querySelector(`[data-count="${k}"]`);
    if (el) el.textContent = v ? String(v) : '';
  };
  if (!stats) return;
  set('cases', (stats.cases?.open || 0) + (stats.cases?.escalated || 0));
};
setInterval(async () => {
  if (!app.session || location.hash.startsWith('#/overview')) return;
  try { app.refreshBadges(await api.get('/v1/stats?window=10')); } catch { /* shown elsewhere */ }
}, 10000);

(async function start() {
  try {
    const s = await api.get('/ui/session');
    app.session = s;
    api.setCsrf(s.csrf);
    shell();
    route();
  } catch {
    showLogin();
  }
})();
