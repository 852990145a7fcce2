/* Dark-mode toggle: an enhancement over prefers-color-scheme, which works without JS.
   The reader's choice is stored in localStorage("theme") and applied before first
   paint by the small inline script in partials/head.html; this file wires the button. */
(function () {
  "use strict";
  var root = document.documentElement;
  var button = document.querySelector(".theme-toggle");
  if (!button) return;
  var systemDark = window.matchMedia("(prefers-color-scheme: dark)");

  function current() {
    return root.getAttribute("data-theme") || (systemDark.matches ? "dark" : "light");
  }
  function render() {
    button.setAttribute("aria-pressed", current() === "dark" ? "true" : "false");
  }

  button.addEventListener("click", function () {
    var next = current() === "dark" ? "light" : "dark";
    root.setAttribute("data-theme", next);
    try { localStorage.setItem("theme", next); } catch (e) { /* storage off: choice lasts this page */ }
    render();
    // Widgets that theme themselves (e.g. a comments iframe) can follow the choice.
    document.dispatchEvent(new CustomEvent("themechange", { detail: next }));
  });
  if (systemDark.addEventListener) systemDark.addEventListener("change", render);
  render();
})();
