// The console in a real browser: playwright-core driving Debian's Chromium, headless, against a
// running `warden serve` (tests/ui/console_test.sh starts it and feeds it with `warden sim --live`).
//
//   node console.mjs BASE_URL
// env: TOKEN and TOKEN_ID (a token this script shares over six networks), VIEWER, MODERATOR,
//      ADMIN as name:password,
//      CHROMIUM (default /usr/bin/chromium), SHOTS (a directory for failure screenshots)
// Prints "ok - ..." / "not ok - ..." lines; exits 1 when any check failed.
import { chromium } from 'playwright-core';

const base = process.argv[2];
const tokenId = process.env.TOKEN_ID;
const creds = (k) => process.env[k].split(':');
let failures = 0;
const ok = (d) => console.log('ok - ' + d);
const bad = (d) => { console.log('not ok - ' + d); failures++; };
const check = async (d, fn) => {
  try {
    const r = await fn();
    if (r === false) bad(d); else ok(d);
  } catch (e) {
    bad(`${d} (${e.message.split('\n')[0]})`);
  }
};

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'],
});
const external = [];

async function session(role) {
  const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
  const page = await context.newPage();
  page.setDefaultTimeout(20000);
  page.on('pageerror', (e) => bad(`${role}: no script error in the page (${e.message})`));
  page.on('request', (r) => { if (!r.url().startsWith(base)) external.push(r.url()); });
  const [user, pass] = creds(role);
  await page.goto(base + '/ui/');
  await page.fill('[data-testid=login-user]', user);
  await page.fill('[data-testid=login-password]', pass);
  await page.click('[data-testid=login-submit]');
  await page.waitForSelector('[data-testid=user-name]');
  return { context, page, user };
}

async function shot(page, name) {
  if (process.env.SHOTS) await page.screenshot({ path: `${process.env.SHOTS}/${name}.png` }).catch(() => {});
}

// A POST from inside the page with the session cookie; csrf: send the session's token or not.
function postFromPage(page, path, body, csrf) {
  return page.evaluate(async ({ path, body, csrf }) => {
    const headers = { 'Content-Type': 'application/json' };
    if (csrf) headers['X-CSRF-Token'] = (await (await fetch('/ui/session')).json()).csrf;
    const r = await fetch(path, { method: 'POST', headers, body: JSON.stringify(body), credentials: 'same-origin' });
    return { status: r.status, body: await r.json().catch(() => null) };
  }, { path, body, csrf });
}

try {
  // --- a wrong password is refused on the sign-in screen
  {
    const context = await browser.newContext();
    const page = await context.newPage();
    await page.goto(base + '/ui/');
    await page.fill('[data-testid=login-user]', creds('VIEWER')[0]);
    await page.fill('[data-testid=login-password]', 'not-the-password');
    await page.click('[data-testid=login-submit]');
    await check('a wrong password shows an error and no console', async () => {
      await page.waitForFunction(() => document.querySelector('[data-testid=login-error]')?.textContent.includes('Wrong'));
      return (await page.locator('[data-testid=user-name]').count()) === 0;
    });
    await context.close();
  }

  // --- a moderator sees the case appear, inspects its evidence and bans it
  {
    const { context, page } = await session('MODERATOR');
    await page.click('[data-testid=nav-cases]');
    await page.waitForSelector('[data-testid=cases-table] tbody tr');
    const row = page.locator(`[data-testid=case-row][data-key="${tokenId}"]`);
    await check('no case for the token yet', async () => (await row.count()) === 0);
    // the token is now used from six networks in six countries, as a shared token is
    for (const ip of ['8.8.8.8', '193.0.6.139', '212.58.244.20', '200.160.2.3', '202.12.27.33', '196.49.12.1'])
      for (const seg of [1, 2])
        await fetch(base + '/auth', { headers: { 'X-Original-URI': `/live/ch1/720p/seg${seg}.ts?CAT=${process.env.TOKEN}`, 'X-Real-IP': ip } });
    await check('the case of the shared token appears in the list', async () => { await row.waitFor({ timeout: 30000 }); return true; });
    await row.click();
    await page.waitForSelector('[data-testid=case-key]');
    await check('the case page names the token', async () => (await page.textContent('[data-testid=case-key]')) === tokenId);
    await check('the evidence lists the networks (at least five)', async () => {
      await page.waitForSelector('[data-testid=evidence-networks] tbody tr');
      return (await page.locator('[data-testid=evidence-networks] tbody tr').count()) >= 5;
    });
    await check('the evidence explains the verdict', async () =>
      /networks/.test(await page.textContent('[data-testid=case-explanation]')));
    await check('the evidence lists countries', async () => (await page.locator('[data-testid=evidence-countries] li').count()) >= 1);
    await check('the reasons say shared', async () => /shared/.test(await page.textContent('[data-testid=case-detail] .reasons')));

    const nocsrf = await postFromPage(page, '/v1/bans', { type: 'token', value: 'no-csrf-token', ttl: 600 }, false);
    await check('a change without the CSRF token is refused (403 csrf)', async () => nocsrf.status === 403 && nocsrf.body.error === 'csrf');

    await page.selectOption('[data-testid=ban-ttl]', '3600');
    await page.fill('[data-testid=verdict-note]', 'shared on a forum (browser test)');
    await page.click('[data-testid=action-ban]');
    await page.click('[data-testid=confirm]');
    await check('the case is banned', async () => {
      await page.waitForFunction(() => document.querySelector('[data-testid=case-status]')?.textContent === 'banned');
      return true;
    });
    await shot(page, 'moderator-case');

    await page.click('[data-testid=nav-bans]');
    const ban = page.locator(`[data-testid=ban-row][data-value="${tokenId}"]`);
    await check('the ban is in the ban list', async () => { await ban.waitFor(); return true; });
    await ban.locator('[data-testid=ban-why]').click();
    await check('the ban says why it exists: the case', async () => {
      await page.waitForFunction(() => /From case/.test(document.querySelector('.why')?.textContent || ''));
      return true;
    });
    await context.close();
  }

  // --- an admin switches the policy to automate after the what-if
  {
    const { context, page } = await session('ADMIN');
    await page.click('[data-testid=nav-policies]');
    await page.click('[data-testid=mode-live-automate]');
    await check('the switch asks first, with what it would enforce', async () => {
      await page.waitForSelector('[data-testid=whatif-summary]');
      return /Switching live to automate .* current case/.test(await page.textContent('[data-testid=whatif-summary]'));
    });
    await page.click('[data-testid=confirm]');
    await check('the policy is in automate mode', async () => {
      await page.waitForFunction(() => document.querySelector('[data-testid=policy-live] [data-testid=policy-mode]')?.textContent === 'automate');
      return true;
    });
    await page.click('[data-testid=nav-audit]');
    await check('the audit log shows the ban and the mode switch with the people who made them', async () => {
      await page.waitForSelector('[data-testid=audit-row][data-action="policy.mode"]');
      await page.waitForSelector(`[data-testid=audit-row][data-action="ban.add"][data-actor="${creds('MODERATOR')[0]}"]`);
      return true;
    });
    await page.click('[data-testid=sign-out]');
    await check('signing out returns to the sign-in screen', async () => { await page.waitForSelector('[data-testid=login-user]'); return true; });
    await context.close();
  }
  // --- a viewer reads but cannot ban
  {
    const { context, page, user } = await session('VIEWER');
    await check('the viewer is signed in with the viewer role', async () =>
      (await page.textContent('[data-testid=user-role]')) === 'viewer' && (await page.textContent('[data-testid=user-name]')) === user);
    await check('the overview shows live figures', async () => {
      await page.waitForFunction(() => /\d/.test(document.querySelector('[data-testid=kpi-rate]')?.textContent || ''));
      return true;
    });
    await page.click('[data-testid=nav-cases]');
    await check('the viewer sees the cases', async () => { await page.waitForSelector('[data-testid=case-row]'); return true; });
    await page.click('[data-testid=status-banned]');
    await page.click(`[data-testid=case-row][data-key="${tokenId}"]`);
    await page.waitForSelector('[data-testid=case-key]');
    await check('the viewer gets no ban button', async () => (await page.locator('[data-testid=action-ban]').count()) === 0);
    const r = await postFromPage(page, '/v1/bans', { type: 'token', value: 'viewer-tries', ttl: 600 }, true);
    await check('a viewer cannot ban, even with the CSRF token (403 forbidden)', async () => r.status === 403 && r.body.error === 'forbidden');
    await shot(page, 'viewer');
    await context.close();
  }

  await check('nothing was loaded from outside the server', async () => external.length === 0 || (console.log('# ' + external.join(' ')), false));
} catch (e) {
  bad('the browser session ran to the end: ' + e.message.split('\n')[0]);
} finally {
  await browser.close();
}
process.exit(failures ? 1 : 0);
