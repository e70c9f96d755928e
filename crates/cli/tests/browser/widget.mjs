// Drives headless Chromium through the assistant widget embedded in another site's
// page: a page served here on its own origin, under a strict CSP of its own (scripts
// and connections only to Palisade, nothing inline, no styles, no images), loads
// Palisade's widget script. A visitor agrees to the notice, asks a question, and hands
// over with a reply address; a second page carries a forged site token, which must be
// refused visibly, never turned into an anonymous conversation; a third carries a
// genuine token for a signed-in customer, whose own tickets the widget lists. Every CSP
// violation the browser reports is counted: there must be none.
//
// Runs after `common.mjs`. Input: host_port, site_token, beside the common ones.
// Output: one JSON line with what each step saw.
import { createServer } from 'node:http';

const host = `http://127.0.0.1:${input.host_port}`;

const csp = `default-src 'none'; script-src ${origin}; connect-src ${origin}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;
const page_html = (token) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Shop</title></head>
<body><h1>Shop</h1><div id="palisade-assistant"></div>
<script src="${origin}/static/assistant-widget.js"${token ? ` data-site-token="${token}"` : ''}></script></body></html>`;
const site = createServer((req, res) => {
  const token = req.url.startsWith('/forged') ? 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.'
    : req.url.startsWith('/signed-in') ? input.site_token : null;
  res.writeHead(req.url === '/favicon.ico' ? 404 : 200, {
    'content-type': 'text/html; charset=utf-8',
    'content-security-policy': csp,
  });
  res.end(req.url === '/favicon.ico' ? '' : page_html(token));
});
await new Promise((resolve) => site.listen(input.host_port, '127.0.0.1', resolve));

try {
  const { context, page } = await freshPage();

  await page.goto(`${host}/`);
  const widget = page.locator('#palisade-assistant section.palisade-assistant');
  await page.locator('.palisade-notice').waitFor();
  seen.notice_shown = (await page.locator('.palisade-notice').textContent()).includes('never ask you for a password');
  await page.click('button.palisade-agree');
  await page.locator('.palisade-composer').waitFor();
  seen.verification = await widget.getAttribute('data-verification');
  await page.fill('.palisade-composer textarea', 'Do you sell submarines? My card is 4111 1111 1111 1111');
  await page.click('.palisade-composer button');
  await page.locator('.palisade-line.palisade-assistant').first().waitFor();
  const log = await page.locator('.palisade-log').textContent();
  seen.card_shown = log.includes('4111 1111');
  seen.redaction_notice = log.includes('Removed from your message');
  await page.locator('.palisade-handover').waitFor();
  await page.fill('.palisade-handover input[type=email]', 'visitor@example.com');
  await page.click('.palisade-handover button');
  await page.locator('.palisade-line.palisade-notice', { hasText: 'reply to the address you gave' }).waitFor();
  seen.handover = true;
  seen.cookies_set = (await context.cookies(origin)).length;

  // A forged site token: refused and said so; no conversation of any kind starts.
  const forged = watch(await context.newPage());
  await forged.goto(`${host}/forged`);
  await forged.locator('.palisade-notice').waitFor();
  await forged.click('button.palisade-agree');
  await forged.locator('.palisade-status', { hasText: 'could not confirm who you are' }).waitFor();
  seen.forged_refused = true;
  seen.forged_fell_back = (await forged.locator('.palisade-composer').count()) > 0
    || (await forged.locator('[data-verification]').count()) > 0;

  // The shop's page for its signed-in customer, with a genuine single-use token: a
  // verified conversation that lists her own tickets and offers to continue in one.
  const signed = watch(await context.newPage());
  await signed.goto(`${host}/signed-in`);
  await signed.locator('.palisade-notice').waitFor();
  await signed.click('button.palisade-agree');
  await signed.locator('.palisade-composer').waitFor();
  seen.verified = await signed.locator('section.palisade-assistant').getAttribute('data-verification');
  await signed.fill('.palisade-composer textarea', 'show my tickets');
  await signed.click('.palisade-composer button');
  await signed.locator('.palisade-ticket').first().waitFor();
  seen.own_ticket_listed = (await signed.locator('.palisade-ticket').first().textContent()).includes('Parcel never arrived');
  seen.offers_to_continue_in_it = (await signed.locator('button.palisade-into-ticket').count()) > 0;
} finally {
  await browser.close();
  site.close();
}
console.log(JSON.stringify(seen));
