// The live notification counter in the navigation (and the list on /notifications):
// the server sends the unread count over server-sent events whenever it changes. The
// page works without this script; it only spares a reload. No markup is ever built
// from what the server sends: text goes in as text.
(function () {
  "use strict";
  var count = document.getElementById("notification-count");
  if (!count || typeof EventSource === "undefined") {
    return;
  }
  var list = document.getElementById("notification-list");

  function show(unread) {
    count.textContent = unread > 99 ? "99+" : String(unread);
    count.hidden = unread === 0;
    count.setAttribute("aria-label", unread + " unread");
  }

  function refreshList() {
    if (!list) {
      return;
    }
    fetch("/api/v1/notifications", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) {
          return;
        }
        while (list.firstChild) {
          list.removeChild(list.firstChild);
        }
        data.items.forEach(function (n) {
          var item = document.createElement("li");
          if (!n.read) {
            item.className = "unread";
          }
          var label = document.createElement("span");
          label.className = "muted";
          label.textContent = n.label + " · " + n.created_at + " ";
          var link = document.createElement("a");
          link.href = "/tickets/" + encodeURIComponent(n.ticket_id);
          link.textContent = "#" + n.number + " " + n.subject;
          item.appendChild(label);
          item.appendChild(link);
          list.appendChild(item);
        });
      })
      .catch(function () {});
  }

  var last = null;
  var source = new EventSource("/api/v1/notifications/stream");
  source.addEventListener("unread", function (event) {
    var unread = parseInt(event.data, 10);
    if (isNaN(unread)) {
      return;
    }
    show(unread);
    if (last !== null && unread !== last) {
      refreshList();
    }
    last = unread;
  });
})();
