// modelyard UI: progressive enhancement only; every page works without it.
(function () {
  "use strict";
  // MLflow prints run links as /#/experiments/<id>/runs/<run_id>; the fragment never reaches
  // the server, so forward it to the server route (after signing in, if the form is shown).
  function forwardRunLink() {
    var m = /^#\/experiments\/([^/]+)\/runs\/([^/?#]+)/.exec(window.location.hash || "");
    if (!m) return;
    var target = "/experiments/" + encodeURIComponent(m[1]) + "/runs/" + encodeURIComponent(m[2]);
    var next = document.querySelector('input[name="next"]');
    if (window.location.pathname === "/signin" && next) {
      next.value = target;
    } else {
      window.location.replace(target);
    }
  }
  window.addEventListener("hashchange", forwardRunLink);
  document.addEventListener("DOMContentLoaded", forwardRunLink);

  // Live updates: a page that names a collection reloads when one of its aliases moves
  // (the watch stream of /api/v1, read with the session).
  document.addEventListener("DOMContentLoaded", function () {
    var el = document.querySelector("[data-watch]");
    if (!el || !window.EventSource) return;
    var source = new EventSource(el.getAttribute("data-watch"));
    source.addEventListener("current", function () { document.documentElement.setAttribute("data-live", "on"); });
    var moved = function () {
      var note = document.getElementById("live-note");
      if (note) { note.hidden = false; }
      source.close();
      window.setTimeout(function () { window.location.reload(); }, 800);
    };
    source.addEventListener("alias.set", moved);
    source.addEventListener("alias.unset", moved);
  });
})();
