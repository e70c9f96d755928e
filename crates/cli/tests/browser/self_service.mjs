// Drives headless Chromium (Debian's, through playwright-core) through the help centre
// and the assistant as a visitor would, with no script of Palisade's own: the help page
// and a search, the assistant's notice and choice, a question, a card number typed by
// mistake, and a handover with a reply address. Every Content-Security-Policy
// violation the browser reports is counted: there must be none.
//
// Input (JSON in PALISADE_BROWSER_INPUT): origin, cert (PEM path).
// Output: one JSON line with what each step saw.
import { readFileSync } from 'node:fs';
import { X509Certificate, createHash } from 'node:crypto';
import { chromium } from 'playwright-core';

const input = JSON.parse(process.env.PALISADE_BROWSER_INPUT);
const { origin } = input;
const cert = new X509Certificate(readFileSync(input.cert));
const spki = createHash('sha256').update(cert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    `--ignore-certificate-errors-spki-list=${spki}`],
});
const seen = { csp_violations: 0, page_errors: 0 };
try {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) seen.csp_violations += 1; });
  page.on('pageerror', () => { seen.page_errors += 1; });
  const path = () => new URL(page.url()).pathname;

  await page.goto(`${origin}/help`);
  seen.help_title = (await page.locator('h1').textContent()).trim();
  await page.fill('input[name=q]', 'refund');
  await Promise.all([page.waitForLoadState(), page.click('form[role=search] button[type=submit]')]);
  seen.search_says = (await page.locator('main p.muted').first().textContent()).trim();

  await page.goto(`${origin}/assistant`);
  seen.notice_shown = (await page.locator('p.notice').textContent()).includes('never ask you for a password');
  // Nothing is chosen for the visitor: consent is the explicit choice of the assistant.
  seen.consent_preselected = await page.isChecked('input[name="choice"][value="assistant"]');
  await page.check('input[name="choice"][value="assistant"]');
  await Promise.all([page.waitForURL('**/assistant'), page.click('form[action="/assistant/start"] button')]);
  seen.after_start = path();
  await page.fill('textarea[name=text]', `Do you sell submarines? My card is 4111 1111 1111 1111`);
  await Promise.all([page.waitForLoadState(), page.click('form[action="/assistant/messages"] button')]);
  const thread = await page.locator('ol.thread').textContent();
  seen.card_kept = thread.includes('4111 1111');
  seen.redaction_notice = (await page.locator('p.warning').count()) > 0;
  // A pasted card makes it a payment matter: never handled in chat.
  seen.payment_goes_to_a_person = thread.includes("don't handle payment details");
  await page.fill('input[name=email]', 'visitor@example.com');
  await page.check('input[name=confirm]');
  await Promise.all([page.waitForLoadState(), page.click('form[action="/assistant/handover"] button')]);
  seen.handover = (await page.locator('p.notice[role=status]').textContent()).includes('reply to the address you gave');
} finally {
  await browser.close();
}
console.log(JSON.stringify(seen));
