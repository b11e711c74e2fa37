// modelyard UI: progressive enhancement only; every page works without it.
// MLflow prints run links as /#/experiments/<id>/runs/<run_id>; the fragment never reaches
// the server, so the home page forwards such a fragment to the server route.
(function () {
  "use strict";
  var m = /^#\/experiments\/([^/]+)\/runs\/([^/?#]+)/.exec(window.location.hash || "");
  if (m) {
    window.location.replace("/experiments/" + encodeURIComponent(m[1]) + "/runs/" + encodeURIComponent(m[2]));
  }
})();
