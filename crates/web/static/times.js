// Every <time datetime="…"> in a list says "3 hours ago"; its title, shown on hover,
// is the exact moment. The server writes it in UTC; here it becomes the reader's own
// time zone, in the page's language. A <time data-local> shows the exact moment as its
// text as well. Without this script the UTC times stay, which are still exact.
'use strict';
(() => {
  // (dateStyle cannot be combined with timeZoneName, hence the fields one by one.)
  const format = new Intl.DateTimeFormat(document.documentElement.lang || undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
  });
  for (const el of document.querySelectorAll('time[datetime]')) {
    const at = new Date(el.getAttribute('datetime'));
    if (Number.isNaN(at.getTime())) continue;
    el.title = format.format(at);
    if (el.hasAttribute('data-local')) el.textContent = format.format(at);
  }
})();
