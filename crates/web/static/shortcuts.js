// Keyboard shortcuts for staff, listed in the help that "?" opens (the help itself is
// in the page, so it is readable without this script). None fires while typing in a
// field. In the ticket list: j / k move, Enter opens, x ticks. On a ticket: r reply,
// n internal note, a assign to me, m macro menu, u back to the list, ] and [ the next
// and previous ticket of the list last seen.
(function () {
  "use strict";
  var help = document.getElementById("shortcut-help");
  if (!help) {
    return;
  }
  var rows = Array.prototype.slice.call(document.querySelectorAll("table.tickets tbody tr"));
  var current = -1;
  if (rows.length > 0) {
    // The list as seen, for ] and [ on a ticket page.
    var ids = rows.map(function (row) {
      var link = row.querySelector("a[href^='/tickets/']");
      return link ? link.getAttribute("href") : null;
    }).filter(Boolean);
    try { sessionStorage.setItem("palisade-queue", JSON.stringify(ids)); } catch (e) { /* private mode */ }
  }

  function select(index) {
    if (rows.length === 0) {
      return;
    }
    if (current >= 0) {
      rows[current].classList.remove("selected");
    }
    current = Math.max(0, Math.min(rows.length - 1, index));
    rows[current].classList.add("selected");
    var link = rows[current].querySelector("a[href^='/tickets/']");
    if (link) {
      link.focus();
    }
  }

  function neighbour(step) {
    var queue;
    try { queue = JSON.parse(sessionStorage.getItem("palisade-queue") || "[]"); } catch (e) { queue = []; }
    var at = queue.indexOf(window.location.pathname);
    if (at >= 0 && queue[at + step]) {
      window.location.assign(queue[at + step]);
    }
  }

  function reply(visibility) {
    var form = document.querySelector("form[action$='/messages']");
    if (!form) {
      return;
    }
    var choice = form.querySelector("input[name=visibility][value=" + visibility + "]");
    if (choice) {
      choice.checked = true;
    }
    var area = form.querySelector("textarea");
    if (area) {
      area.focus();
    }
  }

  function assignToMe() {
    var select = document.querySelector("form[action$='/update'] select[name=assignee]");
    if (!select) {
      return;
    }
    fetch("/api/v1/me", { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (me) {
        if (!me || !select.querySelector("option[value='" + String(me.id).replace(/[^A-Za-z0-9_-]/g, "") + "']")) {
          return;
        }
        select.value = me.id;
        select.form.submit();
      })
      .catch(function () {});
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    var tag = target && target.tagName;
    if (event.ctrlKey || event.metaKey || event.altKey ||
        tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable)) {
      if (event.key === "Escape" && !help.hidden) {
        help.hidden = true;
      }
      return;
    }
    var handled = true;
    switch (event.key) {
      case "?": help.hidden = !help.hidden; break;
      case "Escape": help.hidden = true; break;
      case "j": select(current + 1); break;
      case "k": select(current - 1); break;
      case "x":
        if (current >= 0) {
          var box = rows[current].querySelector("input[type=checkbox]");
          if (box) { box.checked = !box.checked; }
        } else { handled = false; }
        break;
      case "r": reply("public"); break;
      case "n": reply("internal"); break;
      case "a": assignToMe(); break;
      case "m":
        var menu = document.querySelector("select[name=macro_id]");
        if (menu) { menu.focus(); } else { handled = false; }
        break;
      case "u": window.location.assign("/tickets"); break;
      case "]": neighbour(1); break;
      case "[": neighbour(-1); break;
      default: handled = false;
    }
    if (handled) {
      event.preventDefault();
    }
  });
})();
