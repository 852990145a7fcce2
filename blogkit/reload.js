// Preview only: blogkit/serve.py adds this script to the pages it serves while
// `invoke livereload` runs; no built site contains it. It reloads the page once
// a build newer than the one it shows is live. It tells the server which page it
// shows (?page=), so that a title edit renders this page first and the rest of the
// site behind it. EventSource reconnects by itself when the preview server restarts.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.EventSource) return;
  var shown = Number(me.getAttribute("data-generation"));
  var events = new EventSource("/_preview/events?page=" + encodeURIComponent(window.location.pathname));
  events.addEventListener("build", function (event) {
    if (Number(event.data) > shown) {
      events.close();
      window.location.reload();
    }
  });
})();
