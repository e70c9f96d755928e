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
// Runs after `common.mjs`. Input: setup_token, email, name, eicar (the test file's
// text), beside the common ones. Output: one JSON line with what each step saw.
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
  seen.staff_page_fits_a_phone = await fitsAPhone(admin.page);
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
  seen.queue_fits_a_phone = await fitsAPhone(admin.page);

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
  seen.ticket_page_fits_a_phone = await fitsAPhone(admin.page);
  await admin.page.setViewportSize({ width: 375, height: 800 });
  await admin.page.screenshot({ path: `${process.env.TMPDIR || '/tmp'}/palisade-ticket-phone.png`, fullPage: true });
  await admin.page.setViewportSize({ width: 1280, height: 800 });
  await admin.page.goto(`${origin}/macros`);
  seen.macros_page_fits_a_phone = await fitsAPhone(admin.page);
} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(seen)}\n`);
