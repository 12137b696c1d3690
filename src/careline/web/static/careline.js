// Small behaviours shared by every page; the pages work without it, this only makes them quicker.
document.addEventListener("htmx:responseError", function (evt) {
  // Show a readable message when a fragment request fails and the server sent no target.
  var flash = document.getElementById("flash");
  if (flash && !evt.detail.xhr.getResponseHeader("HX-Retarget")) {
    flash.innerHTML = '<div class="alert error" role="alert">The request failed (' + evt.detail.xhr.status + "). Please try again.</div>";
  }
});
// htmx leaves 4xx answers unswapped by default; ours carry a message (a form with its errors, or the
// error partial retargeted to #flash), so show them.
document.addEventListener("htmx:beforeSwap", function (evt) {
  var status = evt.detail.xhr.status;
  if (status >= 400 && status < 500 && status !== 401 && evt.detail.xhr.responseText) {
    evt.detail.shouldSwap = true;
    evt.detail.isError = false;
  }
});
// A message in #flash belongs to the last action: clear it when the agent does the next thing.
document.addEventListener("htmx:beforeRequest", function (evt) {
  var flash = document.getElementById("flash");
  if (flash && evt.detail.requestConfig && evt.detail.requestConfig.verb !== "get") { flash.innerHTML = ""; }
});
// Running clocks: any element with data-since shows minutes:seconds elapsed since that instant.
function carelineTickClocks() {
  document.querySelectorAll("[data-since]").forEach(function (el) {
    var secs = Math.max(0, Math.floor((Date.now() - Date.parse(el.dataset.since)) / 1000));
    el.textContent = Math.floor(secs / 60) + ":" + String(secs % 60).padStart(2, "0");
    if (el.dataset.warnAfter && secs >= Number(el.dataset.warnAfter)) { el.classList.add("overdue"); }
  });
}
setInterval(carelineTickClocks, 1000);
document.addEventListener("DOMContentLoaded", carelineTickClocks);
document.addEventListener("htmx:afterSwap", carelineTickClocks);
// The nurse console: the list redraws often, so it is not itself a live region; new or re-alerted
// escalations are announced once in #nurse-announce, and the tab title counts the open ones.
var carelineSeenEscalations = null;
function carelineAnnounceEscalations() {
  var queue = document.getElementById("nurse-queue");
  var announce = document.getElementById("nurse-announce");
  if (!queue || !announce) { return; }
  var open = queue.querySelectorAll("[data-esc-open='yes']");
  var seen = {};
  var fresh = [];
  open.forEach(function (el) {
    var key = el.dataset.escId + ":" + el.dataset.escRealerts;
    seen[key] = true;
    if (carelineSeenEscalations === null || !carelineSeenEscalations[key]) {
      fresh.push((el.dataset.escRealerts !== "0" ? "Re-alert: " : "New ") + el.dataset.escLabel);
    }
  });
  if (fresh.length) { announce.textContent = fresh.join(". ") + "."; }
  carelineSeenEscalations = seen;
  document.title = document.title.replace(/^\(\d+\) /, "");
  if (open.length) { document.title = "(" + open.length + ") " + document.title; }
}
document.addEventListener("DOMContentLoaded", carelineAnnounceEscalations);
document.addEventListener("htmx:afterSwap", function (evt) {
  if (evt.detail.target && evt.detail.target.id === "nurse-queue") { carelineAnnounceEscalations(); }
});
