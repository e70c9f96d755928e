// Drives headless Chromium (Debian's, through playwright-core) through the help centre
// and the assistant as a visitor would, with no script of Palisade's own: the help page
// and a search, the assistant's notice and choice, a question, a card number typed by
// mistake, and a handover with a reply address. Every Content-Security-Policy
// violation the browser reports is counted: there must be none.
//
// Runs after `common.mjs`, with its input only. Output: one JSON line with what each
// step saw.
try {
  const { page } = await freshPage();
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
