// An agent's morning in headless Chromium, then every page checked. Bo signs in with
// his passkey, opens "unassigned in my teams", takes two tickets with the `a`
// shortcut, applies a shared macro, closes three tickets at once, searches, merges a
// duplicate into its original, sees his colleague Cat arrive on the same ticket, loses
// a race to her (the page answers 409 and says what changed) and saves again. Then
// every page a staff member, an administrator, a customer and a visitor reach is run
// through axe-core and checked at 375 px; the customer portal and the operations page
// are photographed at phone and desktop widths.
//
// Runs after `common.mjs`. Input: bo_setup, cat_setup, eve_setup (an administrator),
// dee_setup (the customer), dee_id, tickets ([{id, number, subject}], Dee's six).
import { statSync } from 'node:fs';
import { createServer } from 'node:http';

const ticket = (subject) => input.tickets.find((t) => t.subject === subject);
const rows = (page) => page.locator('table.tickets tbody tr');
const rowOf = (page, subject) => page.locator('table.tickets tbody tr', { has: page.locator('a', { hasText: subject }) });

// Checks each path with axe-core (desktop) and at phone width, noting only failures.
async function sweep(page, paths) {
  seen.axe = seen.axe ?? {};
  seen.too_wide_for_a_phone = seen.too_wide_for_a_phone ?? {};
  for (const path of paths) {
    await page.goto(`${origin}${path}`);
    const violations = await seriousViolations(page);
    if (violations.length > 0) seen.axe[path] = violations;
    const fits = await fitsAPhone(page);
    if (fits !== true) seen.too_wide_for_a_phone[path] = fits;
  }
}

try {
  const bo = await staffMember(input.bo_setup, 'bo@example.com');
  const page = bo.page;

  // Signing in again: password, then the passkey as second factor.
  await Promise.all([page.waitForURL('**/login'), page.click('nav form[action="/logout"] button')]);
  await page.fill('input[name=email]', 'bo@example.com');
  await page.fill('input[name=password]', input.password);
  await Promise.all([page.waitForURL('**/login/second-factor'), page.click('button[type=submit]')]);
  await Promise.all([page.waitForURL('**/tickets'), page.click('#passkey-button')]);
  seen.signed_in_with_passkey = new URL(page.url()).pathname;

  // Unassigned in my teams; take the first ticket twice with j, Enter, a. (Each step
  // waits for what it changes: a load event may be the previous page's.)
  await page.goto(`${origin}/tickets`);
  await Promise.all([page.waitForURL('**/tickets?view=unassigned'), page.click('nav.views a[href="/tickets?view=unassigned"]')]);
  seen.unassigned_listed = await rows(page).count();
  for (let i = 0; i < 2; i += 1) {
    await page.goto(`${origin}/tickets?view=unassigned`);
    await page.keyboard.press('j');
    await Promise.all([page.waitForURL(/\/tickets\/tkt_/), page.keyboard.press('Enter')]);
    // The shortcut submits the form; the page comes back (303) as itself: the next
    // load event is the new page's.
    await Promise.all([page.waitForEvent('load'), page.keyboard.press('a')]);
  }
  await page.goto(`${origin}/tickets?view=mine`);
  seen.assigned_with_shortcut = await rows(page).count();

  // A shared macro on the first of them.
  await Promise.all([page.waitForURL(/\/tickets\/tkt_/), rows(page).first().locator('a[href^="/tickets/tkt_"]').first().click()]);
  await page.selectOption('select[name=macro_id]', { label: 'Ask for the order number' });
  await page.click('form[action$="/macro"] button');
  seen.macro_reply = await page.locator('.thread .message', { hasText: 'Hello Dee, which order is it?' })
    .waitFor().then(() => true, () => false);

  // Three closed at once from "open in my teams".
  await page.goto(`${origin}/tickets?view=team-open`);
  for (const subject of ['Printer on fire', 'Order 88 is late', 'Shipping label missing']) {
    await rowOf(page, subject).locator('input[name=ticket]').check();
  }
  await page.selectOption('form#bulk select[name=status]', 'closed');
  await Promise.all([page.waitForURL('**/tickets/bulk'), page.click('form#bulk button[type=submit]')]);
  seen.bulk_says = (await page.locator('main p.notice').textContent()).trim();

  // The search box.
  await page.fill('#nav-search', 'invoice');
  await Promise.all([page.waitForURL('**/tickets?q=invoice'), page.press('#nav-search', 'Enter')]);
  seen.search_finds = await page.locator('table.tickets a', { hasText: 'Invoice 7' }).count();
  // A customer by name, from the customers page, and their tickets by their name.
  await page.goto(`${origin}/customers`);
  await page.fill('main input[name=q]', 'diaz');
  await Promise.all([page.waitForURL('**/customers?q=diaz'), page.press('main input[name=q]', 'Enter')]);
  seen.customer_found = await page.locator('main table a', { hasText: 'Dee Diaz' }).count();
  await page.goto(`${origin}/tickets?q=diaz+invoice`);
  seen.tickets_by_requester = await page.locator('table.tickets a', { hasText: 'Invoice 7' }).count();

  // The duplicate merged into the original, by number.
  const original = ticket('Invoice 7 is wrong');
  const duplicate = ticket('Invoice 7 is wrong again');
  await page.goto(`${origin}/tickets/${duplicate.id}`);
  await page.fill('form[action$="/merge"] input[name=number]', `#${original.number}`);
  await Promise.all([page.waitForURL(`**/tickets/${original.id}`), page.click('form[action$="/merge"] button')]);
  seen.merged_onto_survivor = new URL(page.url()).pathname === `/tickets/${original.id}`;
  await page.goto(`${origin}/tickets/${duplicate.id}`);
  seen.duplicate_points_to_survivor = (await page.locator('main').textContent()).includes('This ticket was merged into');

  // Cat opens the same ticket: Bo's page shows her without a reload.
  await page.goto(`${origin}/tickets/${original.id}`);
  const cat = await staffMember(input.cat_setup, 'cat@example.com');
  await cat.page.goto(`${origin}/tickets/${original.id}`);
  seen.colleague_appears = await page.waitForFunction(
    () => document.getElementById('presence').textContent.includes('Cat (viewing)'), null, { timeout: 15000 })
    .then(() => true, () => false);

  // Cat raises the priority first; Bo's form, based on the page he loaded, is refused
  // and says what changed; he saves again on the page as it is now.
  await cat.api('PATCH', `/api/v1/tickets/${original.id}`, { priority: 'high' });
  await page.selectOption('form[action$="/update"] select[name=priority]', 'urgent');
  const [refusal] = await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/update') && r.request().method() === 'POST'),
    page.click('form[action$="/update"] button[type=submit]'),
  ]);
  const said = await page.locator('p.error', { hasText: 'priority is now high' }).waitFor().then(() => true, () => false);
  seen.stale_refused = refusal.status() === 409 && said;
  await page.selectOption('form[action$="/update"] select[name=priority]', 'urgent');
  await page.click('form[action$="/update"] button[type=submit]');
  await page.locator('span.priority.urgent').waitFor();
  seen.retry_saved = (await page.locator('span.priority').first().textContent()).replace(' priority', '').trim();

  // Every page, as each kind of person reaches it.
  await sweep(page, [
    '/tickets', '/tickets?view=unassigned', `/tickets/${original.id}`, `/tickets/${duplicate.id}`, '/macros',
    '/notifications', '/quarantine', '/articles', '/articles/new', '/customers', `/customers/${input.dee_id}`,
    '/account/security', '/account/notifications', '/account/language', '/devices', '/help',
  ]);
  const eve = await staffMember(input.eve_setup, 'eve@example.com');
  await sweep(eve.page,
    ['/admin/staff', '/admin/teams', '/admin/companies', '/admin/fields', '/admin/settings', '/admin/service-levels',
      '/admin/rules', '/admin/alerts', '/admin/operations', '/admin/privacy', '/admin/retention', '/privacy/notices',
      '/privacy/notices/2026-11-22', '/reports', '/reports?group_by=team']);
  // From Dee's page to the privacy page, her id filled in: Eve places a legal hold.
  await eve.page.goto(`${origin}/customers/${input.dee_id}`);
  await Promise.all([eve.page.waitForURL('**/admin/privacy?person=*'), eve.page.click('#privacy-link')]);
  await eve.page.fill('#hold-form input[name=reason]', 'Chargeback dispute 2026-7');
  await Promise.all([eve.page.waitForURL('**/admin/privacy?done=held'), eve.page.click('#hold-form button[type=submit]')]);
  seen.holds_listed = await eve.page.locator('#privacy-holds tbody tr').count();
  // From there to the retention schedules: Eve keeps solved tickets a year and
  // addresses a month, then asks what would go now (a dry run).
  await Promise.all([eve.page.waitForURL('**/admin/retention'), eve.page.click('#retention-link')]);
  await eve.page.fill('#retention-form input[name=tickets_days]', '365');
  await eve.page.fill('#retention-form input[name=addresses_days]', '30');
  await Promise.all([eve.page.waitForURL('**/admin/retention?done=set'),
    eve.page.click('#retention-form button[type=submit]')]);
  seen.retention_schedules_listed = await eve.page.locator('#retention-schedules tbody tr').count();
  await Promise.all([eve.page.waitForURL('**/admin/retention?preview=1'),
    eve.page.click('#retention-preview-form button[type=submit]')]);
  seen.retention_preview_shown = await eve.page.locator('#retention-preview li').count();
  // The retention page with its schedule and dry run, photographed at both widths.
  seen.retention_screenshots = 0;
  for (const width of [375, 1280]) {
    await eve.page.setViewportSize({ width, height: 800 });
    const file = `${process.env.TMPDIR || '/tmp'}/palisade-retention-${width}.png`;
    await eve.page.screenshot({ path: file, fullPage: true });
    if (statSync(file).size > 0) seen.retention_screenshots += 1;
  }
  await eve.page.setViewportSize({ width: 1280, height: 800 });
  await sweep(eve.page, ['/admin/privacy']);
  // The operations page (backups, advisories, the keys in use) photographed at both widths.
  seen.operations_screenshots = 0;
  await eve.page.goto(`${origin}/admin/operations`);
  seen.operations_shows_audit_key = await eve.page.locator('#audit-key code.key').count();
  for (const width of [375, 1280]) {
    await eve.page.setViewportSize({ width, height: 800 });
    const file = `${process.env.TMPDIR || '/tmp'}/palisade-operations-${width}.png`;
    await eve.page.screenshot({ path: file, fullPage: true });
    if (statSync(file).size > 0) seen.operations_screenshots += 1;
  }
  await eve.page.setViewportSize({ width: 1280, height: 800 });
  // Eve registers a webhook for the CRM: the secret is shown once, on the endpoint's
  // page, which is photographed at both widths; the list and the page pass the sweep.
  await eve.page.goto(`${origin}/admin/webhooks`);
  await eve.page.fill('#webhook-form input[name=name]', 'CRM');
  await eve.page.fill('#webhook-form input[name=url]', 'https://crm.example.com/palisade');
  await eve.page.check('#webhook-form input[value="ticket.created"]');
  await eve.page.check('#webhook-form input[value="message.added"]');
  // Paused: the test's network is loopback only, so nothing is to be sent there.
  await eve.page.uncheck('#webhook-form input[name=enabled]');
  await Promise.all([eve.page.waitForURL('**/admin/webhooks'), eve.page.click('#webhook-form button[type=submit]')]);
  seen.webhook_secret_shown = (await eve.page.locator('#webhook-secret code').textContent()).startsWith('whsec_');
  seen.webhook_screenshots = 0;
  for (const width of [375, 1280]) {
    await eve.page.setViewportSize({ width, height: 800 });
    const file = `${process.env.TMPDIR || '/tmp'}/palisade-webhook-${width}.png`;
    await eve.page.screenshot({ path: file, fullPage: true });
    if (statSync(file).size > 0) seen.webhook_screenshots += 1;
  }
  await eve.page.setViewportSize({ width: 1280, height: 800 });
  await eve.page.goto(`${origin}/admin/webhooks`);
  seen.webhooks_listed = await eve.page.locator('#webhook-endpoints tbody tr').count();
  const endpointPath = await eve.page.locator('#webhook-endpoints tbody a').first().getAttribute('href');
  await sweep(eve.page, ['/admin/webhooks', endpointPath]);
  // Eve registers a public application and allows it for herself on the consent page:
  // her browser is sent back to the application's loopback address with a code and her
  // state (the consent page's policy lets its form lead there, and only there).
  await eve.page.goto(`${origin}/admin/apps`);
  await eve.page.fill('#app-form input[name=name]', 'Desk sync');
  await eve.page.check('#app-form input[value=public]');
  // The application's local listener (as a native application's would be).
  let returned = null;
  const listener = createServer((request, response) => {
    returned = new URL(request.url, 'http://127.0.0.1');
    response.writeHead(200, { 'content-type': 'text/plain' });
    response.end('signed in');
  });
  await new Promise((resolve) => listener.listen(0, '127.0.0.1', resolve));
  const callback = `http://127.0.0.1:${listener.address().port}/callback`;
  await eve.page.fill('#app-form textarea[name=redirect_uris]', callback);
  await eve.page.check('#app-form input[value="tickets:read"]');
  await Promise.all([eve.page.waitForURL('**/admin/apps'), eve.page.click('#app-form button[type=submit]')]);
  const clientId = (await eve.page.locator('#app-client-id').textContent()).trim();
  seen.app_registered = clientId.startsWith('cli_');
  const authorize = `/oauth/authorize?response_type=code&client_id=${clientId}` +
    `&redirect_uri=${encodeURIComponent(callback)}&scope=tickets%3Aread&state=morning` +
    '&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256';
  await sweep(eve.page, [authorize]);
  seen.consent_scopes = await eve.page.locator('#consent-scopes li').count();
  await Promise.all([eve.page.waitForURL(`${callback}?**`), eve.page.click('#consent-allow button')]);
  seen.consent_returned = returned !== null && returned.searchParams.get('state') === 'morning'
    && (returned.searchParams.get('code') || '').length === 43 && returned.searchParams.get('iss') === origin;
  listener.close();
  await sweep(eve.page, ['/admin/apps', '/account/apps']);
  seen.apps_connected = await eve.page.locator('#my-apps tbody tr').count();
  // Eve writes a trigger on the rules page: saved, listed, and its own page opens.
  await eve.page.goto(`${origin}/admin/rules`);
  await eve.page.fill('#rule-form input[name=name]', 'Welcome');
  await eve.page.fill('#rule-form input[name="a.add_tags"]', 'welcomed');
  await Promise.all([eve.page.waitForURL('**/admin/rules?done=saved'), eve.page.click('#rule-form button[type=submit]')]);
  await Promise.all([eve.page.waitForURL('**/admin/rules/rul_*'), eve.page.click('table.rules a')]);
  seen.rule_saved = await eve.page.inputValue('#rule-form input[name="a.add_tags"]');
  await sweep(eve.page, [new URL(eve.page.url()).pathname]);

  const dee = await freshPage();
  await dee.page.goto(`${origin}${input.dee_setup}`);
  await dee.page.fill('input[name=password]', input.password);
  await Promise.all([passwordSaved(dee.page), dee.page.click('button[type=submit]')]);
  await dee.page.goto(`${origin}/login`);
  await dee.page.fill('input[name=email]', 'dee@example.org');
  await dee.page.fill('input[name=password]', input.password);
  await Promise.all([dee.page.waitForURL((url) => !url.pathname.startsWith('/login')), dee.page.click('button[type=submit]')]);
  await sweep(dee.page, ['/tickets', `/tickets/${original.id}`, '/help', '/account/security', '/devices', '/account/language']);
  // Dee asks for a copy of her data (just signed in, so no step-up): listed on her page.
  await dee.page.goto(`${origin}/account/privacy`);
  await Promise.all([dee.page.waitForURL('**/account/privacy?done=asked'), dee.page.click('#export-form button[type=submit]')]);
  seen.own_exports_listed = await dee.page.locator('#your-exports li').count();
  await sweep(dee.page, ['/account/privacy']);
  // Dee reads the portal in German from now on, and it still passes axe at phone width.
  await dee.page.goto(`${origin}/account/language`);
  await dee.page.check('input[name=language][value=de]');
  await Promise.all([dee.page.waitForURL('**/account/language?done=saved'), dee.page.click('main button[type=submit]')]);
  await dee.page.goto(`${origin}/tickets`);
  seen.portal_in_german = (await dee.page.locator('main h1').textContent()).trim();
  seen.page_language = await dee.page.evaluate(() => document.documentElement.lang);
  await sweep(dee.page, ['/tickets', `/tickets/${original.id}`, '/account/language']);
  seen.portal_screenshots = 0;
  for (const [name, path] of [['list', '/tickets'], ['ticket', `/tickets/${original.id}`]]) {
    await dee.page.goto(`${origin}${path}`);
    for (const width of [375, 1280]) {
      await dee.page.setViewportSize({ width, height: 800 });
      const file = `${process.env.TMPDIR || '/tmp'}/palisade-portal-${name}-${width}.png`;
      await dee.page.screenshot({ path: file, fullPage: true });
      if (statSync(file).size > 0) seen.portal_screenshots += 1;
    }
  }
  const visitor = await freshPage();
  await sweep(visitor.page, ['/login', '/login/reset', '/help']);
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(seen)}\n`);
