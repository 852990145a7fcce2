// Search page enhancement: in-page Pagefind search instead of the form's
// no-JS fallback. Pagefind's script and index load only when the reader
// starts to search. Results are rendered here (no Pagefind UI, no inline
// styles) so the page runs under the site's Content-Security-Policy.
const form = document.querySelector("form.search-form");
const input = form && form.querySelector("input[name=q]");
const statusBox = document.getElementById("search-status");
const list = document.getElementById("search-results");

if (form && input && statusBox && list) {
  const bundle = new URL(form.dataset.searchBundle || "/pagefind/", location.href).href;
  const basePath = new URL(form.dataset.searchBase || "/", location.href).pathname;
  let pagefind = null;
  let latest = 0;
  let timer = 0;

  const load = async () => {
    if (!pagefind) {
      pagefind = import(bundle + "pagefind.js").then(async (module) => {
        await module.options({ baseUrl: basePath, excerptLength: 24 });
        await module.init();
        return module;
      });
      pagefind.catch(() => { pagefind = null; });
    }
    return pagefind;
  };

  // Copy Pagefind's excerpt as text, keeping only its <mark> highlights.
  const excerptNodes = (html) => {
    const doc = new DOMParser().parseFromString(`<p>${html}</p>`, "text/html");
    const out = document.createDocumentFragment();
    for (const node of doc.body.firstChild.childNodes) {
      if (node.nodeName === "MARK") {
        const mark = document.createElement("mark");
        mark.textContent = node.textContent;
        out.append(mark);
      } else {
        out.append(document.createTextNode(node.textContent));
      }
    }
    return out;
  };

  const render = (query, results) => {
    list.replaceChildren();
    for (const data of results) {
      const item = document.createElement("li");
      item.className = "search-result";
      const link = document.createElement("a");
      link.href = data.url;
      link.textContent = (data.meta && data.meta.title) || data.url;
      const heading = document.createElement("h2");
      heading.className = "search-result-title";
      heading.append(link);
      const excerpt = document.createElement("p");
      excerpt.className = "search-result-excerpt";
      excerpt.append(excerptNodes(data.excerpt || ""));
      item.append(heading, excerpt);
      list.append(item);
    }
    const count = results.length;
    statusBox.textContent = count
      ? `${count} result${count === 1 ? "" : "s"} for “${query}”`
      : `No results for “${query}”. Try another word, or browse the archives.`;
  };

  const run = async (query) => {
    const ticket = ++latest;
    query = query.trim();
    const url = new URL(location.href);
    if (query) url.searchParams.set("q", query); else url.searchParams.delete("q");
    history.replaceState(null, "", url);
    if (!query) {
      list.replaceChildren();
      statusBox.textContent = "";
      return;
    }
    statusBox.textContent = "Searching…";
    try {
      const module = await load();
      const search = await module.search(query);
      const results = await Promise.all(search.results.slice(0, 20).map((r) => r.data()));
      if (ticket === latest) render(query, results);
    } catch (error) {
      if (ticket === latest) {
        statusBox.textContent = "Search could not load. Browse the archives or the labels instead.";
        console.warn("search:", error);
      }
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearTimeout(timer);
    run(input.value);
  });
  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(() => run(input.value), 200);
  });
  // Warm up on first focus so the first results come quickly.
  input.addEventListener("focus", () => { load().catch(() => {}); }, { once: true });

  // Keyboard: Down from the box goes into the results, Up/Down move between them, Escape returns.
  const links = () => [...list.querySelectorAll("a")];
  form.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" && links().length) {
      event.preventDefault();
      links()[0].focus();
    }
  });
  list.addEventListener("keydown", (event) => {
    const all = links();
    const at = all.indexOf(document.activeElement);
    if (at < 0) return;
    if (event.key === "ArrowDown" && at < all.length - 1) {
      event.preventDefault();
      all[at + 1].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      (at > 0 ? all[at - 1] : input).focus();
    } else if (event.key === "Escape") {
      input.focus();
    }
  });

  const initial = new URL(location.href).searchParams.get("q");
  if (initial) {
    input.value = initial;
    run(initial);
  }
}
