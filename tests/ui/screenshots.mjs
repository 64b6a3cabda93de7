// Screenshots of the console's main screens for docs/console/ (tests/ui/screenshots.sh sets up
// the server and the traffic, then runs this).
//   node screenshots.mjs BASE_URL OUTDIR USER:PASSWORD CASE_ID
import { chromium } from 'playwright-core';

const [base, out, cred, caseId] = process.argv.slice(2);
const [user, pass] = cred.split(':');
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--font-render-hinting=none'],
});
const page = await browser.newPage({ viewport: { width: 1440, height: 900 }, deviceScaleFactor: 2 });
page.setDefaultTimeout(20000);
page.on('pageerror', (e) => { console.error('page error: ' + e.message); process.exitCode = 1; });
const settle = (ms = 800) => page.waitForTimeout(ms);

await page.goto(base + '/ui/');
await settle(300);
await page.screenshot({ path: `${out}/sign-in.png` });
await page.fill('[data-testid=login-user]', user);
await page.fill('[data-testid=login-password]', pass);
await page.click('[data-testid=login-submit]');
await page.waitForSelector('[data-testid=kpi-rate]');
await settle(4500); // two polls: the charts and tables are full
await page.screenshot({ path: `${out}/overview.png` });

await page.goto(`${base}/ui/#/cases/${caseId}`);
await page.waitForSelector('[data-testid=evidence-networks] tbody tr');
await settle();
await page.screenshot({ path: `${out}/cases.png` });

await page.goto(`${base}/ui/#/bans`);
await page.waitForSelector('[data-testid=ban-row]');
const withCase = page.locator('[data-testid=ban-row]', { hasText: 'case ' }).first();
await (await withCase.count() ? withCase : page.locator('[data-testid=ban-row]').first()).locator('[data-testid=ban-why]').click();
await page.waitForFunction(() => /Added/.test(document.querySelector('.why')?.textContent || ''));
await settle();
await page.screenshot({ path: `${out}/bans.png` });

await page.goto(`${base}/ui/#/policies`);
await page.waitForSelector('[data-testid=mode-live-automate]');
await page.click('[data-testid=mode-live-automate]');
await page.waitForSelector('[data-testid=whatif-summary]');
await settle(400);
await page.screenshot({ path: `${out}/policies.png` });
await page.keyboard.press('Escape');

await page.goto(`${base}/ui/#/audit`);
await page.waitForSelector('[data-testid=audit-row]');
await settle();
await page.screenshot({ path: `${out}/audit.png` });
await browser.close();
