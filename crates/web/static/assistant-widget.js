// Palisade's assistant widget, embedded by the organisation's own site with
//   <script src="https://support.example.org/static/assistant-widget.js" defer
//           data-target="palisade-assistant" data-site-token="…optional…"></script>
//   <div id="palisade-assistant"></div>
// It works under a strict CSP on both sides: no inline script or style, no string
// evaluation, no HTML parsing (everything the assistant or customer wrote is set as
// text), no cookies
// (credentials are omitted; the conversation's secret is kept in memory only, so a
// reload starts over). A site token is sent once, to start a verified conversation;
// if it is refused the widget says so and never falls back to anonymous.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) { return; }
  var base = new URL(script.src).origin;
  var mount = document.getElementById(script.getAttribute('data-target') || 'palisade-assistant');
  if (!mount) { return; }
  var siteToken = script.getAttribute('data-site-token') || null;
  var conversation = null;

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }

  function api(method, path, body) {
    var headers = { 'accept': 'application/json' };
    if (body !== undefined) { headers['content-type'] = 'application/json'; }
    if (conversation) { headers['x-palisade-conversation'] = conversation.secret; }
    return fetch(base + path, {
      method: method,
      headers: headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      credentials: 'omit',
      mode: 'cors',
      cache: 'no-store',
      referrerPolicy: 'no-referrer'
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error(data.detail || data.title || ('HTTP ' + response.status));
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  // The widget's words, in the visitor's language, come with the notice; English
  // until then (and if they never come).
  var words = {};
  function w(name, english) {
    return typeof words[name] === 'string' ? words[name] : english;
  }

  var box = el('section', 'palisade-assistant');
  box.setAttribute('aria-label', w('box', 'Support assistant'));
  var log = el('div', 'palisade-log');
  log.setAttribute('role', 'log');
  log.setAttribute('aria-live', 'polite');
  var status = el('p', 'palisade-status');
  box.appendChild(log);
  box.appendChild(status);
  mount.appendChild(box);

  function say(who, text) {
    var line = el('p', 'palisade-line palisade-' + who, text);
    log.appendChild(line);
    return line;
  }

  function showTurn(turn) {
    var reply = say('assistant', turn.reply);
    (turn.citations || []).forEach(function (c) {
      var quote = el('blockquote', 'palisade-citation', c.passage);
      var link = el('a', null, c.title);
      // Only help-centre pages on Palisade's own origin are ever linked.
      link.href = base + (String(c.url).indexOf('/help/') === 0 ? c.url : '/help');
      link.rel = 'noopener noreferrer';
      link.target = '_blank';
      quote.appendChild(el('br'));
      quote.appendChild(link);
      reply.appendChild(quote);
    });
    (turn.tickets || []).forEach(function (t) {
      var line = el('span', 'palisade-ticket', '#' + t.number + ' ' + t.subject + ' (' + t.status + ') ');
      var into = el('button', 'palisade-into-ticket', w('into-ticket', 'Add this conversation to #') + t.number);
      into.type = 'button';
      into.addEventListener('click', function () { handOver(into, t.id, null); });
      line.appendChild(into);
      reply.appendChild(line);
    });
    if (turn.redacted && turn.redacted.length) {
      say('notice', w('removed', 'Removed from your message before it was kept:') + ' ' + turn.redacted.join(', ') + '.');
    }
    if (turn.offer_handover) { showHandover(); }
  }

  function fail(error) {
    status.textContent = error.status === 401
      ? w('unverified', 'We could not confirm who you are. Reload the page, or sign in to the support portal.')
      : w('failed', 'Something went wrong:') + ' ' + error.message;
  }

  var handoverShown = false;
  function showHandover() {
    if (handoverShown) { return; }
    handoverShown = true;
    var form = el('form', 'palisade-handover');
    var email = null;
    if (conversation && conversation.verification === 'anonymous') {
      email = el('input');
      email.type = 'email';
      email.required = true;
      email.placeholder = w('email', 'Your email address');
      email.setAttribute('aria-label', w('email', 'Your email address'));
      form.appendChild(email);
    }
    var button = el('button', null, w('hand-over', 'Hand over to a person'));
    button.type = 'submit';
    form.appendChild(button);
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      handOver(button, null, email ? email.value : null);
    });
    box.appendChild(form);
  }

  // The customer's click is the confirmation; the ticket, if any, is one the
  // assistant listed from the customer's own tickets (the server checks it again).
  function handOver(button, ticketId, email) {
    button.disabled = true;
    api('POST', '/api/v1/assistant/conversations/' + conversation.id + '/handover',
      { confirm: true, email: email, ticket_id: ticketId })
      .then(function (h) {
        say('notice', h.next_steps);
        composer.remove();
        Array.prototype.forEach.call(box.querySelectorAll('form.palisade-handover, button.palisade-into-ticket'),
          function (node) { node.remove(); });
      })
      .catch(function (e) { button.disabled = false; fail(e); });
  }

  var composer = el('form', 'palisade-composer');
  var input = el('textarea');
  input.maxLength = 2000;
  input.rows = 2;
  input.setAttribute('aria-label', 'Your question');
  var send = el('button', null, 'Send');
  // Called once the words have come.
  function wordComposer() {
    box.setAttribute('aria-label', w('box', 'Support assistant'));
    input.setAttribute('aria-label', w('question', 'Your question'));
    send.textContent = w('send', 'Send');
  }
  send.type = 'submit';
  composer.appendChild(input);
  composer.appendChild(send);
  composer.addEventListener('submit', function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text || !conversation) { return; }
    send.disabled = true;
    api('POST', '/api/v1/assistant/conversations/' + conversation.id + '/messages', { text: text })
      .then(function (turn) {
        // The customer's own words as kept: redacted server-side, never echoed raw.
        say('customer', text.length > 0 && turn.redacted && turn.redacted.length ? w('removed-details', '(message with removed details)') : text);
        input.value = '';
        showTurn(turn);
        status.textContent = '';
      })
      .catch(fail)
      .then(function () { send.disabled = false; });
  });

  function begin(notice, humanOnly) {
    var body = { consent: !humanOnly, human_only: humanOnly, notice_version: notice.version };
    if (siteToken) { body.site_token = siteToken; }
    // A token is single use: never send it twice.
    siteToken = null;
    return api('POST', '/api/v1/assistant/conversations', body).then(function (started) {
      conversation = started;
      box.setAttribute('data-verification', started.verification);
      box.appendChild(composer);
      say('notice', started.verification === 'anonymous'
        ? w('anonymous', 'You are not signed in: the assistant cannot see any account details.')
        : w('verified', 'You are signed in: the assistant can list your own tickets.'));
    });
  }

  api('GET', '/api/v1/assistant/notice').then(function (notice) {
    if (notice.words && typeof notice.words === 'object') { words = notice.words; }
    wordComposer();
    var consent = el('div', 'palisade-notice');
    consent.appendChild(el('p', null, notice.text));
    var privacy = el('a', null, w('privacy', 'Privacy notice'));
    var privacyUrl = new URL(notice.privacy_notice_url, base);
    privacy.href = /^https?:$/.test(privacyUrl.protocol) ? privacyUrl.href : base + '/help';
    privacy.rel = 'noopener noreferrer';
    privacy.target = '_blank';
    consent.appendChild(privacy);
    var agree = el('button', 'palisade-agree', w('agree', 'Agree and start'));
    var human = el('button', 'palisade-human-only', w('people-only', 'Talk to a person only'));
    agree.type = human.type = 'button';
    consent.appendChild(agree);
    consent.appendChild(human);
    box.insertBefore(consent, log);
    function choose(humanOnly) {
      agree.disabled = human.disabled = true;
      begin(notice, humanOnly).then(function () { consent.remove(); }).catch(fail);
    }
    agree.addEventListener('click', function () { choose(false); });
    human.addEventListener('click', function () { choose(true); });
  }).catch(fail);
}());
