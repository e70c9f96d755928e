// Every <time datetime="…"> in a list says "3 hours ago"; its title, shown on hover,
// is the exact moment. The server writes it in UTC; here it becomes the reader's own
// time zone and locale. Without this script the UTC title stays, which is still exact.
'use strict';
(() => {
  // (dateStyle cannot be combined with timeZoneName, hence the fields one by one.)
  const format = new Intl.DateTimeFormat(undefined, {
    year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', timeZoneName: 'short',
  });
  for (const el of document.querySelectorAll('time[datetime]')) {
    const at = new Date(el.getAttribute('datetime'));
    if (!Number.isNaN(at.getTime())) el.title = format.format(at);
  }
})();
