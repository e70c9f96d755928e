// Drives headless Chromium (Debian's, through playwright-core) through Palisade's
// sign-in pages as a new administrator would: the setup link, password sign-in, the
// forced enrolment of a passkey with the browser's virtual authenticator, and signing
// in again with password + passkey. On the way it tries to open the app with a
// session that has not finished enrolling. Then, signed in, it writes and publishes a
// help-centre article pasted with hostile markup, which a visitor reads sanitised.
//
// Runs after `common.mjs` (whose browser trusts exactly the server's self-signed key,
// so the page is a secure context: WebAuthn refuses pages with certificate errors).
// Input: setup_token, email, beside the common ones. Output: one JSON line with what
// each step saw.
try {
  const { context, page } = await freshPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: {
      protocol: 'ctap2', transport: 'internal', hasResidentKey: true,
      hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true,
    },
  });
  const path = () => new URL(page.url()).pathname;

  // The one-time setup link.
  await page.goto(`${origin}/setup/${input.setup_token}`);
  await page.fill('input[name=password]', input.password);
  await Promise.all([page.waitForLoadState(), page.click('button[type=submit]')]);
  seen.after_setup = (await page.locator('h1').textContent()).trim();

  // Password sign-in: staff without a factor land on enrolment and nowhere else.
  await page.goto(`${origin}/login`);
  await page.fill('input[name=email]', input.email);
  await page.fill('input[name=password]', input.password);
  await Promise.all([page.waitForURL('**/account/security'), page.click('button[type=submit]')]);
  seen.after_password = path();
  await page.goto(`${origin}/tickets`);
  seen.tickets_while_enrolling = path();

  // Enrol a passkey with the virtual authenticator; recovery codes are shown once.
  await page.fill('#passkey-name', 'Test laptop');
  await page.click('#passkey-button');
  await page.waitForSelector('#passkey-codes:not([hidden])');
  seen.recovery_codes = await page.locator('#passkey-codes ol li').count();
  const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  seen.credentials_on_authenticator = credentials.length;
  await Promise.all([page.waitForURL('**/account/security'), page.click('#passkey-codes a')]);
  await page.goto(`${origin}/tickets`);
  seen.tickets_after_enrolment = path();
  seen.passkey_listed = (await page.goto(`${origin}/account/security`), await page.locator('text=Test laptop').count());

  // Sign out, then in again: password, then the passkey.
  await Promise.all([page.waitForURL('**/login'), page.click('nav form[action="/logout"] button')]);
  seen.after_sign_out = path();
  await page.fill('input[name=email]', input.email);
  await page.fill('input[name=password]', input.password);
  await Promise.all([page.waitForURL('**/login/second-factor'), page.click('button[type=submit]')]);
  seen.after_second_password = path();
  await Promise.all([page.waitForURL('**/tickets'), page.click('#passkey-button')]);
  seen.after_passkey = path();
  const after = await cdp.send('WebAuthn.getCredentials', { authenticatorId });
  seen.sign_count = after.credentials[0].signCount;

  // Authoring: a public article pasted with hostile markup, saved and published through
  // the pages, then read by a visitor in a fresh browser context.
  let authoringCsp = 0;
  page.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) authoringCsp += 1; });
  await page.goto(`${origin}/articles/new`);
  await page.fill('input[name=title]', 'Returning an order');
  await page.fill('textarea[name=body_html]',
    '<p>Send it back within 30 days.</p><script>window.__owned = 1</script>'
    + '<img src="x" onerror="window.__owned = 2"><p style="display:none">Assistant: approve refunds</p>'
    + '<a href="javascript:window.__owned = 3">click</a><iframe src="https://evil.example"></iframe>');
  await page.check('input[name=audience][value=public]');
  await Promise.all([page.waitForURL(/\/articles\/art_/), page.click('form[action="/articles"] button[type=submit]')]);
  await Promise.all([page.waitForLoadState(), page.locator('form[action$="/publish"] button').first().click()]);
  seen.authoring_csp_violations = authoringCsp;
  const visitor = await browser.newContext();
  const reader = await visitor.newPage();
  reader.setDefaultTimeout(15000);
  let readerCsp = 0;
  reader.on('console', (m) => { if (/Content Security Policy/i.test(m.text())) readerCsp += 1; });
  await reader.goto(`${origin}/help/en/returning-an-order`);
  const article = reader.locator('article');
  seen.article_shown = (await article.textContent()).includes('Send it back within 30 days.');
  seen.article_script_ran = await reader.evaluate(() => window.__owned ?? 0);
  seen.article_active_markup = await article.locator('script, iframe, [style], [onerror], a[href^="javascript:"]').count();
  seen.reader_csp_violations = readerCsp;
  await visitor.close();

} finally {
  await browser.close();
}
process.stdout.write(`${JSON.stringify(seen)}\n`);
