// Live progress of an event import: polls the import's status.json while it is queued or
// running, fills in the figures, and reloads the page once it ends (to show the result, the
// error or the rejects link). Without JavaScript the page refreshes itself instead.
(function () {
  "use strict";
  var root = document.getElementById("event-import");
  if (!root) { return; }
  var url = root.getAttribute("data-status-url");
  var labels = { queued: "Queued", running: "Running", done: "Done", failed: "Failed" };
  var kinds = { queued: "secondary", running: "info", done: "success", failed: "danger" };
  var delay = 1000;

  function field(name) { return root.querySelector('[data-field="' + name + '"]'); }
  function setText(name, value) { var el = field(name); if (el) { el.textContent = value; } }
  function number(n) { return Number(n || 0).toLocaleString("en-US"); }

  function show(s) {
    var pct = Math.round((s.progress || 0) * 100);
    setText("status", labels[s.status] || s.status);
    var badge = field("status");
    if (badge) { badge.className = "badge text-bg-" + (kinds[s.status] || "secondary"); }
    setText("percent", pct);
    setText("bytes_read", number(s.bytes_read));
    ["rows", "accepted", "duplicates", "rejected"].forEach(function (k) { setText(k, number(s[k])); });
    if (s.started_at) { setText("started_at", s.started_at); }
    var bar = field("progressbar"), fill = field("progressfill");
    if (bar) { bar.setAttribute("aria-valuenow", pct); }
    if (fill) { fill.style.width = pct + "%"; }
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(function (s) {
        show(s);
        if (s.status === "done" || s.status === "failed") { window.location.reload(); return; }
        delay = 1000;
        window.setTimeout(poll, delay);
      })
      .catch(function () {
        // A hiccup (server restart, network): back off and keep trying.
        delay = Math.min(delay * 2, 15000);
        window.setTimeout(poll, delay);
      });
  }
  window.setTimeout(poll, delay);
})();
