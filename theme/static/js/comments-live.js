/* Comments, the live part for Isso: loaded by comments.js (from this site) only when a reader nears
   the comments block or asks for it, so the page's first load stays small. A small client for Isso's
   JSON API (GET /?uri=, POST /new, GET /id/N) rather than Isso's embed.js, which writes a second
   heading, count and list: live comments join the one list, the heading counts archived + approved
   live comments, and a reader's own comment that awaits approval is kept in their browser's
   localStorage and shown to them, marked, until the thread contains it (approved) or Isso no longer
   knows it (rejected). Nobody else sees it. */
(function () {
  "use strict";
  var PENDING_DAYS = 60; // a held comment never approved nor rejected stops showing after this
  var MONTHS = ["January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December"];
  // What a live comment's body may keep (the same as plugins/comments' ALLOWED_TAGS).
  var ALLOWED = { P: 1, BR: 1, A: 1, EM: 1, STRONG: 1, I: 1, B: 1, U: 1, S: 1, DEL: 1, INS: 1, BLOCKQUOTE: 1,
    CODE: 1, PRE: 1, UL: 1, OL: 1, LI: 1, SUB: 1, SUP: 1, Q: 1 };
  var DROPPED = { SCRIPT: 1, STYLE: 1, TEMPLATE: 1, IFRAME: 1, OBJECT: 1, EMBED: 1, NOSCRIPT: 1, SVG: 1, MATH: 1 };

  function countLabel(n) { return n === 1 ? "1 comment" : n + " comments"; }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function safeHref(value) {
    var href = (value || "").trim();
    return /^(https?:\/\/|mailto:)/i.test(href) ? href : null;
  }

  // Isso sanitises the HTML it renders; we clean it again with an allowlist before it touches the
  // page (DOMParser documents are inert: nothing in them loads or runs).
  function cleanInto(target, html) {
    var parsed = new DOMParser().parseFromString("<body>" + (html || ""), "text/html");
    (function copy(from, to, depth) {
      for (var node = from.firstChild; node; node = node.nextSibling) {
        if (node.nodeType === 3) { to.appendChild(document.createTextNode(node.nodeValue)); continue; }
        if (node.nodeType !== 1 || DROPPED[node.tagName]) continue;
        if (!ALLOWED[node.tagName] || depth > 20) { copy(node, to, depth); continue; } // keep the text
        var clean = document.createElement(node.tagName);
        if (node.tagName === "A") {
          var href = safeHref(node.getAttribute("href"));
          if (href) { clean.setAttribute("href", href); clean.setAttribute("rel", "nofollow ugc noopener"); }
        }
        copy(node, clean, depth + 1);
        to.appendChild(clean);
      }
    })(parsed.body, target, 0);
  }

  // Isso stores author and website HTML-escaped; show them as the text the reader typed.
  function unescapeText(value) {
    if (!value) return "";
    return new DOMParser().parseFromString("<body>" + value, "text/html").body.textContent;
  }

  function displayDate(seconds) {
    var d = new Date(seconds * 1000);
    var hour = d.getHours() % 12 || 12;
    var minutes = (d.getMinutes() < 10 ? "0" : "") + d.getMinutes();
    return MONTHS[d.getMonth()] + " " + d.getDate() + ", " + d.getFullYear() + " at " + hour + ":" + minutes +
      " " + (d.getHours() < 12 ? "AM" : "PM");
  }

  // --- The reader's own comments awaiting approval (their browser only) -------------------------

  function storageKey(thread) { return "blog-comments-pending " + thread.endpoint + thread.uri; }

  function readPending(thread) {
    try {
      var list = JSON.parse(window.localStorage.getItem(storageKey(thread)) || "[]");
      var fresh = Date.now() / 1000 - PENDING_DAYS * 86400;
      return Array.isArray(list) ? list.filter(function (c) { return c && typeof c.id === "number" && c.created > fresh; }) : [];
    } catch (e) { return []; }
  }

  function writePending(thread, list) {
    try {
      if (list.length) window.localStorage.setItem(storageKey(thread), JSON.stringify(list));
      else window.localStorage.removeItem(storageKey(thread));
    } catch (e) { /* storage off: the comment shows until the reader leaves the page */ }
  }

  function keepPending(thread, comment) {
    var list = readPending(thread).filter(function (c) { return c.id !== comment.id; });
    list.push({ id: comment.id, parent: comment.parent, author: comment.author, website: comment.website,
      text: comment.text, created: comment.created });
    writePending(thread, list);
  }

  function forgetPending(thread, id) {
    writePending(thread, readPending(thread).filter(function (c) { return c.id !== id; }));
  }

  // --- Rendering into the one list --------------------------------------------------------------

  function renderComment(thread, comment, pending) {
    var item = el("li", "comment comment-live" + (pending ? " comment-pending" : ""));
    item.id = "isso-" + comment.id;
    var article = el("article");
    var author = unescapeText(comment.author) || "Anonymous";
    article.setAttribute("aria-label", "Comment by " + author);
    var meta = el("p", "comment-meta");
    var website = safeHref(unescapeText(comment.website));
    var name = el(website ? "a" : "span", "comment-author", author);
    if (website) { name.href = website; name.rel = "nofollow ugc noopener"; }
    meta.appendChild(name);
    meta.appendChild(document.createTextNode(" "));
    var permalink = el("a", "comment-permalink");
    permalink.href = "#" + item.id;
    var time = el("time", null, displayDate(comment.created));
    time.setAttribute("datetime", new Date(comment.created * 1000).toISOString());
    permalink.appendChild(time);
    meta.appendChild(permalink);
    article.appendChild(meta);
    if (pending) {
      article.appendChild(el("p", "comment-status",
        "Awaiting approval: only you can see this comment, in this browser, until the author approves it."));
    }
    var body = el("div", "comment-body");
    if (comment.mode === 4) body.appendChild(el("p", "comment-deleted", "This comment was deleted."));
    else cleanInto(body, comment.text);
    article.appendChild(body);
    if (!pending && comment.mode !== 4 && thread.form) {
      var actions = el("p", "comment-actions");
      var reply = el("button", "comment-reply", "Reply");
      reply.type = "button";
      reply.setAttribute("aria-label", "Reply to " + author);
      reply.addEventListener("click", function () { replyTo(thread, comment.parent || comment.id, author, item); });
      actions.appendChild(reply);
      article.appendChild(actions);
    }
    item.appendChild(article);
    return item;
  }

  // Isso keeps two levels: a reply to a reply belongs to the top-level comment.
  function place(thread, item, parentId) {
    var parent = parentId ? document.getElementById("isso-" + parentId) : null;
    if (!parent) { thread.list.appendChild(item); return; }
    var replies = parent.querySelector(":scope > .comment-replies");
    if (!replies) { replies = el("ol", "comment-replies"); parent.appendChild(replies); }
    replies.appendChild(item);
  }

  function updateCount(thread) {
    var shown = thread.list.querySelectorAll(".comment").length;
    var held = thread.list.querySelectorAll(".comment-pending, .comment-deleted-only").length;
    thread.heading.textContent = countLabel(shown - held);
  }

  function showThread(thread, data) {
    var approved = {};
    (data.replies || []).forEach(function (top) {
      [top].concat(top.replies || []).forEach(function (comment) {
        approved[comment.id] = true;
        // A comment exported from Isso (comments-export) is archived as #comment-isso-N: show it once.
        if (document.getElementById("comment-isso-" + comment.id)) return;
        var item = renderComment(thread, comment, false);
        if (comment.mode === 4) item.classList.add("comment-deleted-only");
        place(thread, item, comment.parent);
      });
    });
    var pending = readPending(thread);
    pending.forEach(function (comment) {
      if (approved[comment.id]) { forgetPending(thread, comment.id); return; }
      place(thread, renderComment(thread, comment, true), comment.parent);
      checkStillHeld(thread, comment.id);
    });
    updateCount(thread);
    var target = /^#isso-\d+$/.test(location.hash) && document.getElementById(location.hash.slice(1));
    if (target) { target.classList.add("comment-target"); target.scrollIntoView(); }
  }

  // While the reader still holds Isso's edit cookie (15 minutes by default) Isso answers for a held
  // comment; a 404 means the author rejected it. Without the cookie (403) it stays until approved.
  function checkStillHeld(thread, id) {
    window.fetch(thread.endpoint + "/id/" + id + "?plain=1", { credentials: "include" }).then(function (response) {
      if (response.status !== 404) return;
      forgetPending(thread, id);
      var item = document.getElementById("isso-" + id);
      if (item) item.remove();
      updateCount(thread);
    }).catch(function () { /* offline: keep it */ });
  }

  // --- The form ------------------------------------------------------------------------------------

  function replyTo(thread, parentId, author, item) {
    var form = thread.form;
    form.setAttribute("data-parent", String(parentId));
    form.querySelector(".comment-form-replying-text").textContent = "Replying to " + author + ".";
    form.querySelector(".comment-form-replying").hidden = false;
    item.appendChild(form);
    form.querySelector("textarea").focus();
  }

  function cancelReply(thread) {
    var form = thread.form;
    form.removeAttribute("data-parent");
    form.querySelector(".comment-form-replying").hidden = true;
    thread.block.appendChild(form);
  }

  function setUpForm(thread) {
    var form = thread.form;
    var status = form.querySelector(".comment-form-status");
    var submit = form.querySelector("button[type=submit]");
    form.querySelector(".comment-form-cancel").addEventListener("click", function () { cancelReply(thread); });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var field = function (name) { var v = form.elements[name].value.trim(); return v || null; };
      var parent = form.getAttribute("data-parent");
      var payload = { text: form.elements.text.value, author: field("author"), email: field("email"),
        website: field("website"), parent: parent ? Number(parent) : null, title: thread.title };
      submit.disabled = true;
      status.classList.remove("comment-form-error");
      status.textContent = "Sending…";
      window.fetch(thread.endpoint + "/new?uri=" + encodeURIComponent(thread.uri), {
        method: "POST", credentials: "include", headers: { "Content-Type": "application/json" },
        body: JSON.stringify(payload)
      }).then(function (response) {
        if (response.status === 201 || response.status === 202) return response.json();
        return response.text().then(function (text) {
          var reason = (text || "").replace(/<[^>]*>/g, " ").replace(/\s+/g, " ").trim();
          throw new Error(reason || "the comment server answered " + response.status);
        });
      }).then(function (comment) {
        var held = comment.mode === 2;
        if (held) keepPending(thread, comment);
        var item = renderComment(thread, comment, held);
        cancelReply(thread);
        place(thread, item, comment.parent);
        updateCount(thread);
        form.elements.text.value = "";
        status.textContent = held
          ? "Thank you. Your comment is marked “awaiting approval” in the list above; only you see it until the author approves it."
          : "Thank you. Your comment is in the list above.";
      }).catch(function (error) {
        status.classList.add("comment-form-error");
        status.textContent = "Your comment was not posted: " + error.message + ". Your text is still in the box.";
      }).then(function () { submit.disabled = false; });
    });
    form.hidden = false;
  }

  function loadIsso(block) {
    var section = block.closest(".comments");
    var thread = {
      block: block, endpoint: block.getAttribute("data-isso").replace(/\/$/, ""),
      uri: block.getAttribute("data-isso-id"), title: block.getAttribute("data-title"),
      list: section.querySelector(".comment-list"), heading: section.querySelector("#comments-title"),
      form: block.querySelector(".comment-form")
    };
    if (!window.fetch || !window.DOMParser || !thread.list) return failed(block);
    window.fetch(thread.endpoint + "/?uri=" + encodeURIComponent(thread.uri) + "&sort=oldest", { credentials: "include" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      }).then(function (data) {
        if (thread.form) setUpForm(thread);
        showThread(thread, data);
        block.setAttribute("data-comments-ready", "1");
      }).catch(function () { failed(block); });
  }

  function failed(block) {
    block.setAttribute("data-comments-error", "1");
    block.appendChild(el("p", "comments-note",
      "The comment service could not be reached. The comments above are still here; try again later."));
  }

  window.blogCommentsIsso = loadIsso;
})();
