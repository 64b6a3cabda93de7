// The sign-in screen. POST /ui/login answers with the session (user, role, CSRF token) and sets
// the HttpOnly session cookie.
import { h } from '../dom.js';
import { logo } from '../icons.js';
import * as api from '../api.js';

export default function login(onSignedIn) {
  const user = h('input#login-user', { name: 'user', autocomplete: 'username', required: true, autofocus: true,
    dataset: { testid: 'login-user' } });
  const pass = h('input#login-password', { name: 'password', type: 'password', autocomplete: 'current-password',
    required: true, dataset: { testid: 'login-password' } });
  const err = h('div.form-error', { role: 'alert', dataset: { testid: 'login-error' } });
  const btn = h('button.btn.btn-primary.btn-block', { type: 'submit', dataset: { testid: 'login-submit' } }, 'Sign in');
  const form = h('form.login-card', {
    on: { submit: async (e) => {
      e.preventDefault();
      err.textContent = '';
      btn.disabled = true;
      btn.textContent = 'Signing in…';
      try {
        const s = await api.post('/ui/login', { user: user.value.trim(), password: pass.value });
        pass.value = '';
        onSignedIn(s);
      } catch (x) {
        err.textContent = x.status === 401 ? 'Wrong user name or password.'
          : x.status === 429 ? x.message : 'Cannot sign in: ' + x.message;
        btn.disabled = false;
        btn.textContent = 'Sign in';
        pass.select();
      }
    } },
  },
  h('div.login-brand', logo(), h('div', h('div.login-title', 'Warden'), h('div.login-sub', 'Moderation and monitoring console'))),
  h('label', { for: 'login-user' }, 'User name'), user,
  h('label', { for: 'login-password' }, 'Password'), pass,
  err, btn,
  h('p.login-note', 'Sessions end after a period of inactivity. Every action is recorded in the audit log.'));
  return h('div.login-page', form);
}
