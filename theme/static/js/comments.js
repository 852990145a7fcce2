/* Comments: load the comment service's script only when a reader nears the comments block
   (data-comments-load="lazy", via IntersectionObserver) or asks for it ("click"). Until then
   nothing third-party is requested. Also fills in live comment counts on index pages (Isso).
   Without JavaScript the archived comments still show and a <noscript> note explains. */
(function () {
  "use strict";
  if (window.blogComments) return; // the file may be included more than once on a page
  window.blogComments = true;

  var MARGIN = "600px 0px"; // start loading a screen or so before the block is visible

  function loadProvider(block) {
    if (block.getAttribute("data-comments-loaded")) return;
    block.setAttribute("data-comments-loaded", "1");
    var button = block.querySelector(".comments-button");
    if (button) button.hidden = true;
    var script = document.createElement("script");
    // Isso and giscus read their settings from data-* attributes on their own <script>.
    for (var i = 0; i < block.attributes.length; i++) {
      var attr = block.attributes[i];
      if (/^data-(isso|repo|category|mapping|strict|reactions|emit|input|theme|lang|loading)/.test(attr.name)) {
        script.setAttribute(attr.name, attr.value);
      }
    }
    if (block.getAttribute("data-comments-provider") === "giscus") {
      script.setAttribute("crossorigin", "anonymous");
      // giscus's client.js follows the page's own theme when the toggle sets data-theme on <html>.
      var chosen = document.documentElement.getAttribute("data-theme");
      if (chosen === "dark" || chosen === "light") script.setAttribute("data-theme", chosen);
      followThemeToggle(block.getAttribute("data-comments-src"));
    }
    if (block.getAttribute("data-comments-provider") === "isso") hideArchivedTwins(block);
    script.src = block.getAttribute("data-comments-src");
    script.async = true;
    script.onerror = function () {
      block.setAttribute("data-comments-error", "1");
      var note = document.createElement("p");
      note.className = "comments-note";
      note.textContent = "The comment service could not be reached. The comments above are still here; try again later.";
      block.appendChild(note);
    };
    block.appendChild(script);
  }

  // Comments exported from Isso (comments-export) are archived as #comment-isso-N. While Isso
  // itself shows #isso-N, hide the static copy so nobody reads a comment twice.
  function hideArchivedTwins(block) {
    if (!("MutationObserver" in window)) return;
    new MutationObserver(function () {
      var live = block.querySelectorAll(".isso-comment[id^='isso-']");
      for (var i = 0; i < live.length; i++) {
        var twin = document.getElementById("comment-" + live[i].id);
        if (twin && !twin.hidden) {
          twin.hidden = true;
          twin.setAttribute("data-comments-live-twin", live[i].id);
        }
      }
    }).observe(block, { childList: true, subtree: true });
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
    elements.forEach(function (el) { observer.observe(el); });
    return true;
  }

  function setUpBlocks() {
    var blocks = Array.prototype.slice.call(document.querySelectorAll(".comments-live[data-comments-src]"));
    blocks.forEach(function (block) {
      var button = block.querySelector(".comments-button");
      if (button) button.addEventListener("click", function () { loadProvider(block); });
      // Following a link to a comment (#isso-12, #comments) is asking for the comments.
      var lazy = block.getAttribute("data-comments-load") !== "click" || /^#(isso-\d+|comments)$/.test(location.hash);
      if (!(lazy && whenNear([block], loadProvider)) && button) button.hidden = false;
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
      fetch(endpoint + "/count", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(links.map(function (link) { return link.getAttribute("data-comments-count"); }))
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (counts) {
        if (!counts) return;
        links.forEach(function (link, i) {
          var total = Number(link.getAttribute("data-comments-archived") || 0) + Number(counts[i] || 0);
          var text = link.querySelector(".comment-count-text") || link;
          text.textContent = countLabel(total);
        });
      }).catch(function () { /* the static counts stay */ });
    });
  }

  function start() { setUpBlocks(); setUpCounts(); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
