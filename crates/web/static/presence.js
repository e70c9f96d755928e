// Who else has this ticket open, live: the server sends the list over server-sent
// events whenever it changes (and counts this page as viewing while it is open); a
// keystroke in the reply box tells it this person is typing. Without this script the
// page still says, as it was loaded, who else was there. Text goes in as text.
(function () {
  "use strict";
  var box = document.getElementById("presence");
  if (!box || typeof EventSource === "undefined") {
    return;
  }
  var ticket = box.getAttribute("data-ticket");
  var base = "/api/v1/tickets/" + encodeURIComponent(ticket) + "/presence";

  function show(others) {
    if (!Array.isArray(others) || others.length === 0) {
      box.textContent = "";
      box.hidden = true;
      return;
    }
    // The words come from the page, in its language.
    var typing = box.getAttribute("data-typing") || "typing a reply";
    var viewing = box.getAttribute("data-viewing") || "viewing";
    var label = box.getAttribute("data-label") || "Also on this ticket: {names}";
    var parts = others.map(function (o) {
      return String(o.name) + " (" + (o.typing ? typing : viewing) + ")";
    });
    box.textContent = label.replace("{names}", parts.join(", "));
    box.hidden = false;
  }

  var source = new EventSource(base + "/stream");
  source.addEventListener("present", function (event) {
    try {
      show(JSON.parse(event.data));
    } catch (e) {
      show([]);
    }
  });

  var lastTyping = 0;
  document.querySelectorAll("textarea").forEach(function (area) {
    area.addEventListener("input", function () {
      var now = Date.now();
      if (now - lastTyping < 4000) {
        return;
      }
      lastTyping = now;
      fetch(base, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ typing: true }),
      }).then(function (r) { return r.ok ? r.json() : null; })
        .then(function (others) { if (others) { show(others); } })
        .catch(function () {});
    });
  });
})();
