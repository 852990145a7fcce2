// Preview only: blogkit/serve.py adds this script to the pages it serves while
// `invoke livereload` runs; no built site contains it. Once a build newer than the
// one the page shows is live, it brings the page up to date. It tells the server
// which page it shows (?page=), so that a title edit renders this page first and the
// rest of the site behind it. EventSource reconnects by itself when the server restarts.
//
// Up to date in place when it can: the new page is fetched and compared with the page
// as it was served (a copy taken before the theme's scripts ran), and only the parts
// that differ are put in, so the tab refetches no stylesheet, script or image and lays
// out no more than changed (a body edit changes a paragraph or two). Anything a script
// must see (a script, a stylesheet or the policy changed in the head, a part the theme's
// scripts changed on this page, e.g. a code block with its copy button, or an error)
// reloads the whole page instead, as before. The page itself needs none of this.
(function () {
  "use strict";
  var me = document.currentScript;
  if (!me || !window.EventSource) return;
  var shown = Number(me.getAttribute("data-generation"));
  var events = new EventSource("/_preview/events?page=" + encodeURIComponent(window.location.pathname));
  var live = new Map(); // a node of the copy -> the node of the page it was copied from
  var served = window.fetch && window.DOMParser && window.Map ? copy(document.documentElement) : null;
  var busy = false, wanted = 0;

  function copy(node) {
    var twin = node.cloneNode(false);
    live.set(twin, node);
    for (var child = node.firstChild; child; child = child.nextSibling) twin.appendChild(copy(child));
    return twin;
  }

  function reload() {
    events.close();
    window.location.reload();
  }

  events.addEventListener("build", function (event) {
    var generation = Number(event.data);
    if (generation <= shown) return;
    if (!served) return reload();
    wanted = Math.max(wanted, generation);
    if (!busy) update();
  });

  function update() {
    busy = true;
    var generation = wanted;
    window.fetch(window.location.pathname + window.location.search, {cache: "no-store", credentials: "same-origin"})
      .then(function (answer) {
        if (!answer.ok) throw new Error("the page answered " + answer.status);
        return answer.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html");
        var script = fresh.querySelector('script[src="' + me.getAttribute("src") + '"]');
        if (!script) throw new Error("the new page has no preview script");
        var next = Number(script.getAttribute("data-generation"));
        script.setAttribute("data-generation", me.getAttribute("data-generation")); // not a change of the page
        if (!patch(fresh)) return reload();
        shown = Math.max(next, generation);
        busy = false;
        document.dispatchEvent(new CustomEvent("preview:updated"));
        if (wanted > shown) update();
      })
      .catch(reload);
  }

  // Put into the page what differs between the served copy and the fresh page; false: reload instead.
  function patch(fresh) {
    var changes = [];
    // <html>'s class and data-theme are the theme's scripts' (its colour scheme); its language is the page's.
    if (["lang", "dir"].some(function (name) {
      return fresh.documentElement.getAttribute(name) !== served.getAttribute(name);
    })) return false;
    var parts = [["head", served.querySelector("head"), fresh.head], ["body", served.querySelector("body"), fresh.body]];
    for (var i = 0; i < parts.length; i++) {
      if (!parts[i][1] || !parts[i][2]) return false;
      differences(parts[i][1], parts[i][2], parts[i][0], changes);
    }
    for (var c = 0; c < changes.length; c++) {
      if (!allowed(changes[c])) return false;
    }
    changes.forEach(apply);
    return true;
  }

  // Record how `old` (of the copy) differs from `fresh`: replace a node, or splice a run of children.
  function differences(old, fresh, part, changes) {
    if (old.isEqualNode(fresh)) return;
    if (old.nodeType !== 1 || old.nodeName !== fresh.nodeName || !sameAttributes(old, fresh)) {
      changes.push({part: part, parent: old.parentNode, remove: [old], insert: [fresh], before: old.nextSibling});
      return;
    }
    var a = Array.prototype.slice.call(old.childNodes), b = Array.prototype.slice.call(fresh.childNodes);
    var start = 0, end = 0;
    while (start < a.length && start < b.length && a[start].isEqualNode(b[start])) start++;
    while (end < a.length - start && end < b.length - start && a[a.length - 1 - end].isEqualNode(b[b.length - 1 - end])) end++;
    var gone = a.slice(start, a.length - end), come = b.slice(start, b.length - end);
    if (gone.length === come.length) {
      for (var i = 0; i < gone.length; i++) differences(gone[i], come[i], part, changes);
    } else {
      changes.push({part: part, parent: old, remove: gone, insert: come, before: a[a.length - end] || null});
    }
  }

  function sameAttributes(a, b) {
    if (a.attributes.length !== b.attributes.length) return false;
    for (var i = 0; i < a.attributes.length; i++) {
      if (b.getAttribute(a.attributes[i].name) !== a.attributes[i].value) return false;
    }
    return true;
  }

  // Whether a change can go in without a reload: no script or stylesheet in it, the page's
  // part as it was served (no script of the theme changed it), and in the head only the
  // title, a <meta name|property> or the JSON-LD data.
  function allowed(change) {
    var parent = live.get(change.parent);
    if (!parent || !parent.isConnected || parent.childNodes.length !== change.parent.childNodes.length) return false;
    var nodes = change.remove.concat(change.insert);
    for (var i = 0; i < nodes.length; i++) {
      var node = nodes[i];
      if (node.nodeType === 1 && (scripted(node) || (change.part === "head" && !inert(node)))) return false;
      if (node.nodeType === 1 && change.part === "body" && change.insert.indexOf(node) >= 0 && !plain(node)) return false;
      if (change.part === "head" && node.nodeType === 3 && !(change.parent.nodeName === "TITLE" || inert(change.parent))) {
        if (node.textContent.trim()) return false;
      }
    }
    for (var r = 0; r < change.remove.length; r++) {
      var shownNode = live.get(change.remove[r]);
      if (!shownNode || shownNode.parentNode !== parent || !shownNode.isEqualNode(change.remove[r])) return false;
    }
    return !change.before || live.get(change.before) && live.get(change.before).parentNode === parent;
  }

  function scripted(node) {
    var found = [node].concat(Array.prototype.slice.call(node.querySelectorAll("script, link, style, iframe, object, embed")));
    return found.some(function (element) {
      var name = element.nodeName;
      return (name === "SCRIPT" && element.type !== "application/ld+json") || name === "LINK" || name === "STYLE" ||
        name === "IFRAME" || name === "OBJECT" || name === "EMBED";
    });
  }

  // Text markup the theme's scripts do not look for: a new code block, figure, table or anything with
  // data- attributes may be one they enhance as the page loads (a copy button), so it reloads the page.
  var PLAIN = /^(P|A|EM|STRONG|B|I|U|S|CODE|SPAN|SUP|SUB|BR|WBR|UL|OL|LI|H[1-6]|BLOCKQUOTE|HR|DL|DT|DD|SMALL|MARK|ABBR|TIME|DEL|INS|Q|CITE|KBD|VAR|SAMP|IMG|PICTURE|SOURCE)$/;

  function plain(node) {
    var elements = [node].concat(Array.prototype.slice.call(node.querySelectorAll("*")));
    return elements.every(function (element) {
      if (!PLAIN.test(element.nodeName)) return false;
      for (var a = 0; a < element.attributes.length; a++) {
        if (/^(data-|on)/i.test(element.attributes[a].name)) return false;
      }
      return true;
    });
  }

  function inert(node) {
    var name = node.nodeName;
    return name === "TITLE" || (name === "META" && !node.hasAttribute("http-equiv") && !node.hasAttribute("charset")) ||
      (name === "SCRIPT" && node.type === "application/ld+json");
  }

  function apply(change) {
    var parent = live.get(change.parent);
    var before = change.before ? live.get(change.before) : null;
    change.remove.forEach(function (old) {
      parent.removeChild(live.get(old));
      live.delete(old);
      change.parent.removeChild(old);
    });
    change.insert.forEach(function (node) {
      var added = document.importNode(node, true);
      parent.insertBefore(added, before);
      change.parent.insertBefore(copy(added), change.before);
    });
  }
})();
