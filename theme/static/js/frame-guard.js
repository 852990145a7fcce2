// Clickjacking guard for hosts that cannot send frame-ancestors or X-Frame-Options
// (GitHub Pages; a meta CSP cannot carry frame-ancestors). Framed by another site,
// the page tries to take the whole window; where the browser refuses that (a
// cross-origin frame may not navigate the top without a click), it hides itself,
// so nothing on it can be clicked through a disguise. See docs/deploy-headers.md.
(function () {
  if (window.top === window.self) return;
  var sameSite = false;
  try { sameSite = window.top.location.origin === window.location.origin; } catch (e) { sameSite = false; }
  if (sameSite) return;
  document.documentElement.hidden = true;
  try { window.top.location.replace(window.location.href); } catch (e) { /* refused: stay hidden */ }
})();
