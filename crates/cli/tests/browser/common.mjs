// What the Chromium scenarios share (placed before each by the Rust test): the browser,
// launched as the project's rules say and trusting only the test server's key; the
// counters of Content-Security-Policy violations and page errors, which must stay at
// zero; axe-core's serious findings; the phone-width check; and a staff member signed
// in with a passkey on a virtual authenticator.
//
// Input (JSON in PALISADE_BROWSER_INPUT): origin, cert (PEM path), password, and what
// the scenario itself needs.
import { readFileSync } from 'node:fs';
import { X509Certificate, createHash } from 'node:crypto';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

const input = JSON.parse(process.env.PALISADE_BROWSER_INPUT);
const { origin } = input;
const serverCert = new X509Certificate(readFileSync(input.cert));
const spki = createHash('sha256').update(serverCert.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
    `--ignore-certificate-errors-spki-list=${spki}`],
});
const seen = { csp_violations: 0, page_errors: 0 };

// axe-core's serious and critical findings on the page as it is now, by rule id.
async function seriousViolations(page) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
}

// At 375 px: true, or what sticks out. The viewport is put back afterwards.
async function fitsAPhone(page) {
  const before = page.viewportSize();
  await page.setViewportSize({ width: 375, height: 800 });
  const fits = await page.evaluate(() => {
    if (document.documentElement.scrollWidth <= window.innerWidth) return true;
    return [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
      .map((e) => `${e.tagName}.${e.className}`).slice(0, 8).join(' ');
  });
  await page.setViewportSize(before);
  return fits;
}

// Counts the page's CSP violations and errors; steps wait at most 15 s.
function watch(page) {
  page.setDefaultTimeout(15000);
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) seen.csp_violations += 1; });
  page.on('pageerror', () => { seen.page_errors += 1; });
  return page;
}

// A watched page in a context of its own.
async function freshPage() {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = watch(await context.newPage());
  return { context, page };
}

// The API with the page's own session, called from the page as its scripts would.
function apiOf(page) {
  return (method, path, body) => page.evaluate(async ({ method, path, body }) => {
    const r = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? null : r.json();
  }, { method, path, body });
}

// The answer to the setup page's form (a load event may still be the form's own).
function passwordSaved(page) {
  return page.waitForResponse((r) => r.url().includes('/setup/') && r.request().method() === 'POST');
}

// A signed-in staff member: the setup link, the password, the forced passkey enrolment.
async function staffMember(setupPath, email) {
  const { context, page } = await freshPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  await page.goto(`${origin}${setupPath}`);
  await page.fill('input[name=password]', input.password);
  await Promise.all([passwordSaved(page), page.click('button[type=submit]')]);
  await page.goto(`${origin}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', input.password);
  await Promise.all([page.waitForURL('**/account/security'), page.click('button[type=submit]')]);
  await page.fill('#passkey-name', 'Test laptop');
  await page.click('#passkey-button');
  await page.waitForSelector('#passkey-codes:not([hidden])');
  await Promise.all([page.waitForURL('**/account/security'), page.click('#passkey-codes a')]);
  return { page, api: apiOf(page) };
}
