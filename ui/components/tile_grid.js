// The group sweep's grid: one element for ~100 tiles (a Streamlit widget per tile made the first
// paint several times slower). Selection lives here, in the browser, until an action is sent.
//   data  = {tiles: [{id, url, kind, label, help, proposed, negative, rev}], seq, columns}
//   event = {kind: "decide", action: "accept" | "negative", ids: [...], revisions: [...], id}
//         | {kind: "open" | "preview", image_id, id}
// Click a tile: select / unselect; Shift+click: select the range; keys (focus not in a text field):
// A accept selected, N negative selected, S select all, Escape clear, Space a large preview of the
// tile under the mouse (else the last clicked).
// root.dataset.seq is the id of the last event whose result is drawn; root.dataset.last the last sent.
// A decided tile shows its expected state at once (class grd-pending) until the server's redraw.
export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector(".grd-grid-root");
  if (!root) {
    root = document.createElement("div");
    root.className = "grd-grid-root";
    root.innerHTML =
      '<div class="grd-grid-bar">' +
      '<button data-do="all">Select all (S)</button><button data-do="none">Clear (Esc)</button>' +
      '<button data-do="accept" class="grd-main">Accept proposals <b></b> (A)</button>' +
      '<button data-do="negative" class="grd-main">Negative <b></b> (N)</button>' +
      '<span class="grd-grid-hint">click: select · shift+click: range</span></div>' +
      '<div class="grd-grid"></div>';
    parentElement.appendChild(root);
    root._grd = { selected: new Set(), anchor: null, hover: null, nodes: new Map() };
  }
  const st = root._grd;
  st.data = data;
  st.setTriggerValue = setTriggerValue;
  const grid = root.querySelector(".grd-grid");
  grid.style.gridTemplateColumns = `repeat(${data.columns || 5}, minmax(0, 1fr))`;

  const ids = data.tiles.map((t) => t.id);
  const idSet = new Set(ids);
  for (const id of [...st.selected]) if (!idSet.has(id)) st.selected.delete(id);
  for (const [id, node] of st.nodes) if (!idSet.has(id)) { node.remove(); st.nodes.delete(id); }

  const send = (event) => {
    event.id = `${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;
    root.dataset.last = event.id;
    st.setTriggerValue("event", event);
  };
  const refreshBar = () => {
    const n = st.selected.size;
    for (const b of root.querySelectorAll(".grd-grid-bar b")) b.textContent = `(${n})`;
    for (const b of root.querySelectorAll(".grd-main")) b.disabled = n === 0;
    for (const [id, node] of st.nodes) node.classList.toggle("grd-selected", st.selected.has(id));
  };
  const toggle = (id, range) => {
    const order = st.data.tiles.map((t) => t.id);
    if (range && st.anchor !== null && order.includes(st.anchor)) {
      const [a, b] = [order.indexOf(st.anchor), order.indexOf(id)].sort((x, y) => x - y);
      for (const k of order.slice(a, b + 1)) st.selected.add(k);
    } else if (st.selected.has(id)) st.selected.delete(id);
    else st.selected.add(id);
    st.anchor = id;
    refreshBar();
  };
  // What the server will most likely draw, shown at once (marked "saving"); the rerun that follows
  // redraws every tile from the store, so a conflict or an error replaces this guess.
  const expected = (action, tile) => {
    if (action === "negative") return ["negative", "negative (certified)"];
    if (tile.kind === "proposed-present") return ["positive", "positive"];
    if (tile.kind === "proposed-absent") return ["negative", "negative (certified)"];
    return null;  // accept on a tile without a proposal: the server leaves it as it is
  };
  const showPending = (action, chosen, byId) => {
    for (const id of chosen) {
      const node = st.nodes.get(id), tile = byId.get(id);
      const guess = node && tile && expected(action, tile);
      if (!guess) continue;
      node.dataset.kind = guess[0];
      node.classList.add("grd-pending");
      const badge = node.querySelector(".grd-badge");
      badge.dataset.kind = guess[0];
      badge.textContent = guess[1];
    }
  };
  const decide = (action, chosen) => {
    if (!chosen.length) return;
    for (const id of chosen) st.selected.delete(id);
    refreshBar();
    const byId = new Map(st.data.tiles.map((t) => [t.id, t]));
    showPending(action, chosen, byId);
    send({ kind: "decide", action, ids: chosen, revisions: chosen.map((id) => byId.get(id).rev) });
  };
  st.act = (what) => {
    if (what === "all") { for (const t of st.data.tiles) st.selected.add(t.id); refreshBar(); }
    else if (what === "none") { st.selected.clear(); refreshBar(); }
    else decide(what, [...st.selected]);
  };

  data.tiles.forEach((t, k) => {
    let node = st.nodes.get(t.id);
    if (!node) {
      node = document.createElement("div");
      node.className = "grd-tile";
      node.innerHTML =
        '<img loading="eager" decoding="async" draggable="false"><div class="grd-tile-foot">' +
        '<span class="grd-badge"></span><span class="grd-tile-actions">' +
        '<button data-act="accept" title="accept the proposal">✓</button>' +
        '<button data-act="negative" title="not in this image">✗</button>' +
        '<button data-act="open" title="open in the editor">✎</button></span></div>';
      node.dataset.id = t.id;
      st.nodes.set(t.id, node);
    }
    if (grid.children[k] !== node) grid.insertBefore(node, grid.children[k] || null);
    const img = node.querySelector("img");
    if (img.getAttribute("src") !== t.url) img.setAttribute("src", t.url);
    const badge = node.querySelector(".grd-badge");
    badge.textContent = t.label;
    badge.title = t.help || "";
    badge.dataset.kind = t.kind;
    node.dataset.kind = t.kind;
    node.classList.remove("grd-pending");
    node.querySelector('[data-act="accept"]').hidden = !t.proposed;
    node.querySelector('[data-act="negative"]').hidden = t.negative;
  });
  refreshBar();
  root.dataset.seq = data.seq || "";

  if (!st.wired) {
    st.wired = true;
    root.querySelector(".grd-grid-bar").addEventListener("click", (e) => {
      const b = e.target.closest("button");
      if (b) st.act(b.dataset.do);
    });
    grid.addEventListener("click", (e) => {
      const node = e.target.closest(".grd-tile");
      if (!node) return;
      const id = Number(node.dataset.id);
      const b = e.target.closest("button");
      if (!b) { toggle(id, e.shiftKey); return; }
      if (b.dataset.act === "open") send({ kind: "open", image_id: id });
      else decide(b.dataset.act, [id]);
    });
    grid.addEventListener("mouseover", (e) => {
      const node = e.target.closest(".grd-tile");
      st.hover = node ? Number(node.dataset.id) : st.hover;
    });
    grid.addEventListener("mouseleave", () => { st.hover = null; });
    st.onKey = (e) => {
      if (!root.isConnected) { document.removeEventListener("keydown", st.onKey); return; }
      const el = document.activeElement;
      if (el && (el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName))) return;
      if (e.ctrlKey || e.metaKey || e.altKey || e.shiftKey) return;
      if (e.key === " ") {
        const known = new Set(st.data.tiles.map((t) => t.id));
        const id = [st.hover, st.anchor].find((k) => k !== null && known.has(k));
        if (id === undefined) return;
        e.preventDefault();
        send({ kind: "preview", image_id: id });
        return;
      }
      const map = { a: "accept", n: "negative", s: "all", Escape: "none" };
      const what = map[e.key];
      if (!what) return;
      e.preventDefault();
      st.act(what);
    };
    document.addEventListener("keydown", st.onKey);
  }
}
