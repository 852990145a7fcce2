/* Click-to-load embeds (plugins/embeds): a figure.embed[data-embed-src] holds a link to the
   video or document; this adds a play button that puts the player in its place on click.
   Nothing third-party loads before the click; without JavaScript the link just works. */
(function () {
  "use strict";
  var figures = document.querySelectorAll("figure.embed[data-embed-src]");
  Array.prototype.forEach.call(figures, function (figure) {
    var link = figure.querySelector("a[href]");
    var src = figure.getAttribute("data-embed-src") || "";
    var host;
    try { host = new URL(src).host; } catch (e) { return; }
    if (!link || src.indexOf("https://") !== 0) return;
    var video = figure.classList.contains("embed-youtube") || figure.classList.contains("embed-vimeo");
    var title = link.textContent.trim() || "Embedded content";

    var button = document.createElement("button");
    button.type = "button";
    button.className = "embed-play";
    button.textContent = (video ? "Play video: " : "Show document: ") + title;
    var note = document.createElement("span");
    note.className = "embed-note";
    note.textContent = "Loads " + host + " when you click.";

    button.addEventListener("click", function () {
      var frame = document.createElement("iframe");
      // The reader asked to play: start it, so one click is enough.
      frame.src = video ? src + (src.indexOf("?") < 0 ? "?" : "&") + "autoplay=1" : src;
      frame.title = title;
      frame.className = "embed-frame";
      frame.setAttribute("allow", "autoplay; encrypted-media; picture-in-picture; fullscreen");
      frame.setAttribute("allowfullscreen", "");
      frame.setAttribute("referrerpolicy", "strict-origin-when-cross-origin");
      figure.replaceChild(frame, button);
      note.textContent = "";
      note.appendChild(link);
      figure.classList.add("embed-loaded");
      frame.focus();
    });
    figure.insertBefore(button, link);
    figure.replaceChild(note, link);
    note.appendChild(document.createTextNode(" "));
    note.appendChild(link);
    link.classList.add("embed-source");
    link.textContent = video ? "Watch on " + host.replace(/^www\./, "").replace("youtube-nocookie.com", "YouTube") : "Open it";
    figure.classList.add("embed-ready");
  });
})();
