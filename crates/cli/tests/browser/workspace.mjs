// Drives headless Chromium through the agent workspace as two staff members would:
// an administrator and an agent they invite, each signing in with a passkey on a
// virtual authenticator. The administrator creates a team, joins it, turns on its
// secure delivery and invites the agent through the admin pages (checked with axe-core, and
// at phone width). While the administrator has the notifications
// page open, the agent opens a ticket; the navigation's counter must go up without a
// reload (server-sent events, Palisade's own script). Then the administrator follows
// the ticket and attaches the EICAR test file through the ticket page's form: the page
// names the file as blocked and offers no link to it. Every Content-Security-Policy
// violation and page error is counted: there must be none.
//
// Input (JSON in PALISADE_BROWSER_INPUT): origin, cert (PEM path), setup_token, email,
// name, password, eicar (the test file's text). Output: one JSON line with what each step saw.
import { readFileSync } from 'node:fs';
import { X509Certificate, createHash } from 'node:crypto';
import { chromium } from 'playwright-core';
import { AxeBuilder } from '@axe-core/playwright';

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

// axe-core's serious and critical findings on the page as it is now, by rule id.
async function seriousViolations(page) {
  const { violations } = await new AxeBuilder({ page }).analyze();
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => v.id);
}

// A signed-in staff member in a context of their own: the setup link, the password,
// the forced passkey enrolment.
async function staffMember(setupPath, email) {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15000);
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) seen.csp_violations += 1; });
  page.on('pageerror', () => { seen.page_errors += 1; });
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
  await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
  await page.goto(`${origin}/login`);
  await page.fill('input[name=email]', email);
  await page.fill('input[name=password]', input.password);
  await Promise.all([page.waitForURL('**/account/security'), page.click('button[type=submit]')]);
  await page.fill('#passkey-name', 'Test laptop');
  await page.click('#passkey-button');
  await page.waitForSelector('#passkey-codes:not([hidden])');
  await Promise.all([page.waitForURL('**/account/security'), page.click('#passkey-codes a')]);
  // The API with the page's own session, called from the page as its scripts would.
  const api = (method, path, body) => page.evaluate(async ({ method, path, body }) => {
    const r = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? null : r.json();
  }, { method, path, body });
  return { page, api };
}

try {
  const admin = await staffMember(`/setup/${input.setup_token}`, input.email);
  const submit = (form) => Promise.all([admin.page.waitForLoadState(), admin.page.click(`${form} button[type=submit]`)]);

  // The admin area: a new team, the administrator in it, its secure delivery on.
  await admin.page.goto(`${origin}/admin/teams`);
  await admin.page.fill('input[name=name]', 'Billing');
  await submit('form[action="/admin/teams"]');
  const billing = () => admin.page.locator('section.team', { has: admin.page.locator('h2', { hasText: 'Billing' }) });
  await billing().locator('select[name=user_id]').selectOption({ label: `${input.name} (${input.email})` });
  await Promise.all([admin.page.waitForLoadState(), billing().locator('form[action$="/members"] button').click()]);
  seen.member_added = (await billing().locator('ul.members').textContent()).includes(input.name);
  await billing().locator('input[name=secure_delivery]').check();
  await Promise.all([admin.page.waitForLoadState(),
    billing().locator('form:has(input[name=secure_delivery]) button').click()]);
  seen.settings_saved = await admin.page.locator('p.notice').textContent();
  seen.secure_delivery_on = await billing().locator('input[name=secure_delivery]').isChecked();
  seen.teams_page_axe = await seriousViolations(admin.page);
  await admin.page.goto(`${origin}/admin/staff`);
  await admin.page.fill('input[name=name]', 'Bo');
  await admin.page.fill('input[name=email]', 'bo@example.com');
  await admin.page.selectOption('select[name=role]', 'agent');
  await admin.page.getByLabel('Support').check();
  await submit('form[action="/admin/staff"]');
  const setupLink = await admin.page.locator('#setup-link').textContent();
  seen.staff_page_axe = await seriousViolations(admin.page);
  await admin.page.setViewportSize({ width: 375, height: 800 });
  // True, or what sticks out.
  seen.staff_page_fits_a_phone = await admin.page.evaluate(() => {
    if (document.documentElement.scrollWidth <= window.innerWidth) return true;
    return [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
      .map((e) => `${e.tagName}.${e.className}`).slice(0, 8).join(' ');
  });
  await admin.page.setViewportSize({ width: 1280, height: 800 });
  const created = { setup_path: new URL(setupLink).pathname };
  await admin.page.goto(`${origin}/admin/companies`);
  await admin.page.fill('form[action="/admin/companies"] input[name=name]', 'Globex');
  await Promise.all([admin.page.waitForLoadState(), admin.page.click('form[action="/admin/companies"] button[type=submit]')]);
  seen.company_created = (await admin.page.locator('p.notice').textContent()).trim();
  seen.companies_page_axe = await seriousViolations(admin.page);
  const customer = await admin.api('POST', '/api/v1/customers', { email: 'cy@example.com', name: 'Cy' });

  // The administrator waits on the notifications page; nothing yet.
  await admin.page.goto(`${origin}/notifications`);
  seen.count_hidden_at_first = await admin.page.locator('#notification-count').isHidden();

  // The agent opens a ticket for the customer; the administrator's counter goes up live.
  const agent = await staffMember(created.setup_path, 'bo@example.com');
  const ticket = await agent.api('POST', '/api/v1/tickets',
    { subject: 'Card blocked abroad', body: 'The customer called.', requester_id: customer.user.id });
  await admin.page.waitForFunction(
    () => document.getElementById('notification-count').textContent === '1', null, { timeout: 20000 });
  seen.live_count = await admin.page.locator('#notification-count').textContent();
  // The list follows the count (fetched by the script once the count changes).
  seen.live_list = await admin.page.waitForFunction(
    () => document.getElementById('notification-list').textContent.includes('Card blocked abroad'),
    null, { timeout: 10000 }).then(() => true, () => false);

  // The queue: the new ticket under "Open in my teams", found by the search box too.
  await admin.page.goto(`${origin}/tickets`);
  await Promise.all([admin.page.waitForLoadState(), admin.page.click('nav.views a[href="/tickets?view=team-open"]')]);
  seen.queue_lists_it = await admin.page.locator('table.tickets a', { hasText: 'Card blocked abroad' }).count();
  seen.queue_axe = await seriousViolations(admin.page);
  seen.exact_time_on_hover = await admin.page.locator('table.tickets time').first().getAttribute('title')
    .then((t) => !/^\d{4}-\d{2}-\d{2}T/.test(t));
  // Bulk: tick it, raise its priority.
  await admin.page.locator('table.tickets input[name=ticket]').first().check();
  await admin.page.selectOption('form#bulk select[name=priority]', 'high');
  await Promise.all([admin.page.waitForLoadState(), admin.page.click('form#bulk button[type=submit]')]);
  seen.bulk_says = (await admin.page.locator('main p.notice').textContent()).trim();
  await admin.page.fill('#nav-search', 'abroad');
  await Promise.all([admin.page.waitForLoadState(), admin.page.press('#nav-search', 'Enter')]);
  seen.search_finds_it = await admin.page.locator('table.tickets a', { hasText: 'Card blocked abroad' }).count();
  await admin.page.setViewportSize({ width: 375, height: 800 });
  seen.queue_fits_a_phone = await admin.page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth);
  await admin.page.setViewportSize({ width: 1280, height: 800 });

  // A macro written on the macros page, applied from the ticket page's menu.
  await admin.page.goto(`${origin}/macros`);
  await admin.page.fill('form[action="/macros"] input[name=name]', 'Ask for the card');
  await admin.page.fill('form[action="/macros"] textarea[name=body]', 'Hello {requester_first_name}, which card is it?');
  await admin.page.selectOption('form[action="/macros"] select[name=status]', 'pending');
  await Promise.all([admin.page.waitForLoadState(), admin.page.click('form[action="/macros"] button[type=submit]')]);
  seen.macros_page_axe = await seriousViolations(admin.page);
  await admin.page.goto(`${origin}/tickets/${ticket.id}`);
  await admin.page.selectOption('select[name=macro_id]', { label: 'Ask for the card' });
  await Promise.all([admin.page.waitForLoadState(), admin.page.click('form[action$="/macro"] button')]);
  seen.macro_reply = (await admin.page.locator('.thread .message').last().textContent()).includes('Hello Cy, which card is it?');
  seen.macro_status = (await admin.page.locator('span.status').first().textContent()).trim();

  // Collision detection: Bo opens the ticket; the administrator's page shows it live,
  // then shows Bo typing.
  await admin.page.goto(`${origin}/tickets/${ticket.id}`);
  await agent.page.goto(`${origin}/tickets/${ticket.id}`);
  seen.colleague_viewing = await admin.page.waitForFunction(
    () => document.getElementById('presence').textContent.includes('Bo (viewing)'), null, { timeout: 15000 })
    .then(() => true, () => false);
  await agent.page.locator('form[action$="/messages"] textarea').pressSequentially('Looking');
  seen.colleague_typing = await admin.page.waitForFunction(
    () => document.getElementById('presence').textContent.includes('Bo (typing a reply)'), null, { timeout: 15000 })
    .then(() => true, () => false);

  // Keyboard: "?" opens the help; on the list, j then Enter opens the first ticket.
  await admin.page.goto(`${origin}/tickets`);
  await admin.page.keyboard.press('?');
  seen.shortcut_help = await admin.page.locator('#shortcut-help').isVisible();
  await admin.page.keyboard.press('Escape');
  await admin.page.keyboard.press('j');
  await Promise.all([admin.page.waitForURL(/\/tickets\/tkt_/), admin.page.keyboard.press('Enter')]);
  await admin.page.keyboard.press('n');
  seen.n_focuses_the_note = await admin.page.evaluate(() =>
    document.activeElement.tagName === 'TEXTAREA' &&
    document.querySelector('input[name=visibility][value=internal]').checked);

  // Follow, then attach the EICAR file through the ticket page's form.
  await admin.page.goto(`${origin}/tickets/${ticket.id}`);
  await Promise.all([admin.page.waitForLoadState(), admin.page.click('form[action$="/follow"] button')]);
  seen.following = (await admin.page.locator('form[action$="/follow"] button').textContent()).trim();
  await admin.page.setInputFiles('form[action$="/files"] input[name=file]',
    { name: 'statement.pdf', mimeType: 'application/pdf', buffer: Buffer.from(input.eicar) });
  await Promise.all([admin.page.waitForLoadState(), admin.page.click('form[action$="/files"] button[type=submit]')]);
  const page = await admin.page.content();
  seen.blocked_named = page.includes('blocked: matched the malware signature');
  seen.blocked_linked = await admin.page.locator('a', { hasText: 'statement.pdf' }).count();
  seen.blocked_offered_for_sending = await admin.page.locator('input[name=send_file]').count();
  seen.ticket_page_axe = await seriousViolations(admin.page);
  // At phone width the ticket page and the macros page fit, or say what sticks out.
  await admin.page.setViewportSize({ width: 375, height: 800 });
  const fits = () => admin.page.evaluate(() => {
    if (document.documentElement.scrollWidth <= window.innerWidth) return true;
    return [...document.querySelectorAll('body *')]
      .filter((e) => e.getBoundingClientRect().right > window.innerWidth)
      .map((e) => `${e.tagName}.${e.className}`).slice(0, 8).join(' ');
  });
  seen.ticket_page_fits_a_phone = await fits();
  await admin.page.screenshot({ path: `${process.env.TMPDIR || '/tmp'}/palisade-ticket-phone.png`, fullPage: true });
  await admin.page.goto(`${origin}/macros`);
  seen.macros_page_fits_a_phone = await fits();
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(seen)}\n`);
