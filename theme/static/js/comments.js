/* Comments: one thread under a post. Archived comments are static HTML; this adds the live ones.
   Nothing goes to the comment service until a reader nears the comments block
   (data-comments-load="lazy", via IntersectionObserver) or asks for it ("click").
   Isso: comments-live.js (our client for Isso's JSON API, see there) is fetched from this site then.
   giscus: its script is added with its data-* attributes.
   Also fills in live comment counts on index pages (Isso /count).
   Without JavaScript the archived comments and their count still show and a <noscript> note explains. */
(function () {
  "use strict";
  if (window.blogComments) return; // the file may be included more than once on a page
  window.blogComments = true;

  var MARGIN = "600px 0px"; // start loading a screen or so before the block is visible
  function failed(block) {
    block.setAttribute("data-comments-error", "1");
    block.appendChild(el("p", "comments-note",
      "The comment service could not be reached. The comments above are still here; try again later."));
  }

  // The Isso client (comments-live.js, from this site) comes only when the comments are wanted.
  function loadClient(block) {
    if (window.blogCommentsIsso) { window.blogCommentsIsso(block); return; }
    var script = document.createElement("script");
    script.src = block.getAttribute("data-comments-client");
    script.onload = function () { window.blogCommentsIsso(block); };
    script.onerror = function () { failed(block); };
    document.head.appendChild(script);
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function loadGiscus(block) {
    var script = document.createElement("script");
    // giscus reads its settings from data-* attributes on its own <script>.
    for (var i = 0; i < block.attributes.length; i++) {
      var attr = block.attributes[i];
      if (/^data-(repo|category|mapping|strict|reactions|emit|input|theme|lang|loading)/.test(attr.name)) {
        script.setAttribute(attr.name, attr.value);
      }
    }
    script.setAttribute("crossorigin", "anonymous");
    // giscus's client.js follows the page's own theme when the toggle sets data-theme on <html>.
    var chosen = document.documentElement.getAttribute("data-theme");
    if (chosen === "dark" || chosen === "light") script.setAttribute("data-theme", chosen);
    followThemeToggle(block.getAttribute("data-comments-src"));
    script.src = block.getAttribute("data-comments-src");
    script.async = true;
    script.onerror = function () { failed(block); };
    block.appendChild(script);
  }

  function load(block) {
    if (block.getAttribute("data-comments-loaded")) return;
    block.setAttribute("data-comments-loaded", "1");
    var button = block.querySelector(".comments-load .comments-button");
    if (button) button.hidden = true;
    if (block.getAttribute("data-comments-provider") === "isso") loadClient(block);
    else loadGiscus(block);
  }

  // When the reader flips the theme toggle later, tell the giscus frame (its documented setConfig message).
  function followThemeToggle(src) {
    if (!("MutationObserver" in window)) return;
    var origin = new URL(src, location.href).origin;
    new MutationObserver(function () {
      var frame = document.querySelector("iframe.giscus-frame");
      var theme = document.documentElement.getAttribute("data-theme");
      if (frame && (theme === "dark" || theme === "light")) {
        frame.contentWindow.postMessage({ giscus: { setConfig: { theme: theme } } }, origin);
      }
    }).observe(document.documentElement, { attributes: true, attributeFilter: ["data-theme"] });
  }

  function whenNear(elements, callback) {
    if (!("IntersectionObserver" in window)) return false;
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          observer.unobserve(entry.target);
          callback(entry.target);
        }
      });
    }, { rootMargin: MARGIN });
    elements.forEach(function (node) { observer.observe(node); });
    return true;
  }

  function setUpBlocks() {
    var blocks = Array.prototype.slice.call(document.querySelectorAll(".comments-live[data-comments-provider]"));
    blocks.forEach(function (block) {
      var button = block.querySelector(".comments-load .comments-button");
      if (button) button.addEventListener("click", function () { load(block); });
      // Following a link to a live comment (#isso-12) or to #comments is asking for the comments.
      if (/^#(isso-\d+|comments)$/.test(location.hash)) { load(block); return; }
      var lazy = block.getAttribute("data-comments-load") !== "click";
      if (!(lazy && whenNear([block], load)) && button) button.hidden = false;
    });
  }

  function countLabel(n) { return n === 1 ? "1 comment" : n + " comments"; }

  function setUpCounts() {
    var links = Array.prototype.slice.call(document.querySelectorAll("a[data-comments-count][data-isso]"));
    if (!links.length || !window.fetch) return;
    var asked = false;
    // One request for every count on the page, sent when the first of them nears the viewport.
    whenNear(links, function () {
      if (asked) return;
      asked = true;
      var endpoint = links[0].getAttribute("data-isso").replace(/\/$/, "");
      // text/plain keeps this a "simple" cross-origin request: no CORS preflight, one request
      // instead of two. Isso's /count reads the body as JSON whatever its type (and is no
      // write, so it carries no CSRF check).
      window.fetch(endpoint + "/count", {
        method: "POST",
        headers: { "Content-Type": "text/plain;charset=UTF-8" },
        body: JSON.stringify(links.map(function (link) { return link.getAttribute("data-comments-count"); }))
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (counts) {
        if (!counts) return;
        links.forEach(function (link, i) {
          // Comments exported from Isso are archived and still live: count them once.
          var twins = Number(link.getAttribute("data-comments-twins") || 0);
          var live = Math.max(Number(counts[i] || 0) - twins, 0);
          var total = Number(link.getAttribute("data-comments-archived") || 0) + live;
          var text = link.querySelector(".comment-count-text") || link;
          text.textContent = countLabel(total);
          link.setAttribute("data-comments-counted", "1");
        });
      }).catch(function () { /* the static counts stay */ });
    });
  }

  function start() { setUpBlocks(); setUpCounts(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
