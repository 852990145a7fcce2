/* Colour-scheme switch (System, Light, Dark): an enhancement over prefers-color-scheme,
   which works without JS. A choice of Light or Dark is stored in localStorage("theme")
   and applied before first paint by the small inline script in partials/head.html;
   System removes it, so the page follows the system again. This file wires the buttons. */
(function () {
  "use strict";
  var root = document.documentElement;
  var buttons = document.querySelectorAll(".theme-switch [data-theme-choice]");
  if (!buttons.length) return;

  function choice() {
    var t = root.getAttribute("data-theme");
    return t === "light" || t === "dark" ? t : "system";
  }
  function render() {
    var now = choice();
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].setAttribute("aria-pressed", buttons[i].getAttribute("data-theme-choice") === now ? "true" : "false");
    }
  }
  function choose(next) {
    try {
      if (next === "system") localStorage.removeItem("theme");
      else localStorage.setItem("theme", next);
    } catch (e) { /* storage off: the choice lasts this page */ }
    if (next === "system") root.removeAttribute("data-theme");
    else root.setAttribute("data-theme", next);
    render();
    // Widgets that theme themselves (e.g. a comments iframe) can follow the choice.
    var dark = next === "dark" || (next === "system" && window.matchMedia("(prefers-color-scheme: dark)").matches);
    document.dispatchEvent(new CustomEvent("themechange", { detail: dark ? "dark" : "light" }));
  }
  for (var i = 0; i < buttons.length; i++) {
    buttons[i].addEventListener("click", function (event) { choose(event.currentTarget.getAttribute("data-theme-choice")); });
  }
  render();
})();
