// Image canvas for the mask editor: shows the image, the instance overlay and the prompts under a
// zoom and pan, and reports user input as trigger events in *viewport* pixels (the canvas element's
// own pixels as shown) with the view they were made under; Python maps them to image pixels through
// labeler/geometry.py (viewport = zoom * canvas + pan), the one owner of that mapping.
//   event = {kind: "click", id, x, y, positive, view: [zoom, panX, panY]}
//         | {kind: "box", id, box: [x0, y0, x1, y1], view}
//         | {kind: "stroke", id, points: [[x, y], ...], radius, erase, view}
// Left click = positive point (negative when data.negative is on), right click or Shift+click =
// negative point, drag with the point or box tool = box, drag with brush / eraser = stroke.
// Wheel = zoom about the pointer (1x-32x); middle-button drag, or Space + drag = pan; 0 = whole
// image. Enter confirms wherever the focus is (the page's Confirm button), except in text fields.
// A picture smaller than the canvas is drawn with nearest-neighbour sampling (square pixels).
// root.dataset.view is the current "zoom,panX,panY"; root.dataset.seq holds the id of the last event whose result is on screen, root.dataset.last the
// id of the last input (for tests and bench): all input is on screen when they are equal.
const MAX_ZOOM = 32;

export default function (component) {
  const { data, parentElement, setTriggerValue } = component;
  let root = parentElement.querySelector(".grd-canvas-root");
  if (!root) {
    root = document.createElement("div");
    root.className = "grd-canvas-root";
    root.innerHTML =
      '<canvas class="grd-base"></canvas><canvas class="grd-overlay"></canvas>' +
      '<canvas class="grd-ui"></canvas>';
    parentElement.appendChild(root);
    root._grd = { imageKey: null, overlaySrc: null, pending: null, queue: [], view: [1, 0, 0] };
  }
  const st = root._grd;
  st.data = data;
  if (!st.view) st.view = [1, 0, 0];
  window.__grdCanvas = root; // the window-level keys below act on the editor on screen
  const [base, over, ui] = root.querySelectorAll("canvas");
  const w = data.width, h = data.height;
  for (const c of [base, over, ui]) {
    if (c.width !== w) c.width = w;
    if (c.height !== h) c.height = h;
  }
  root.style.aspectRatio = `${w} / ${h}`;
  root.style.maxWidth = `${w}px`;

  // ---- view: viewport = zoom * canvas + pan ---------------------------------------------------
  const clampView = ([z, x, y]) => {
    z = Math.min(Math.max(z, 1), MAX_ZOOM);
    return [z, Math.min(0, Math.max(w - z * w, x)), Math.min(0, Math.max(h - z * h, y))];
  };
  const toCanvas = (vx, vy) => [(vx - st.view[1]) / st.view[0], (vy - st.view[2]) / st.view[0]];
  const withView = (ctx) => ctx.setTransform(st.view[0], 0, 0, st.view[0], st.view[1], st.view[2]);
  const clear = (ctx) => { ctx.setTransform(1, 0, 0, 1, 0, 0); ctx.clearRect(0, 0, w, h); };

  const drawBase = () => {
    const ctx = base.getContext("2d");
    clear(ctx);
    if (!st.image) return;
    // enlarged pixels stay square (nearest); a shrunk photo is smoothed
    ctx.imageSmoothingEnabled = st.view[0] * w < 2 * st.image.naturalWidth;
    withView(ctx);
    ctx.drawImage(st.image, 0, 0, w, h);
  };
  const drawOverlay = () => {
    const ctx = over.getContext("2d");
    clear(ctx);
    if (!st.overlayImage) return;
    ctx.imageSmoothingEnabled = false;
    withView(ctx);
    ctx.drawImage(st.overlayImage, 0, 0, w, h);
  };
  const dot = (ctx, x, y, positive) => {
    const z = st.view[0];
    ctx.beginPath(); ctx.arc(x, y, 5 / z, 0, 2 * Math.PI);
    ctx.fillStyle = positive ? "#00c853" : "#ff1744"; ctx.fill();
    ctx.lineWidth = 2 / z; ctx.strokeStyle = "#ffffff"; ctx.stroke();
  };
  const drawPrompts = () => {
    const ctx = ui.getContext("2d");
    clear(ctx);
    withView(ctx);
    const d = st.data, z = st.view[0];
    if (d.box) {
      const [x0, y0, x1, y1] = d.box;
      ctx.setLineDash([6 / z, 4 / z]); ctx.lineWidth = 2 / z; ctx.strokeStyle = "#ffeb3b";
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0); ctx.setLineDash([]);
    }
    for (const [x, y, label] of d.points || []) dot(ctx, x, y, label === 1);
    for (const ev of [st.pending, ...st.queue]) {  // sent, not answered yet: where they were made
      if (ev && ev.kind === "click") {
        const [z0, px, py] = ev.view;
        dot(ctx, (ev.x - px) / z0, (ev.y - py) / z0, ev.positive);
      }
    }
    ctx.setTransform(1, 0, 0, 1, 0, 0);
  };
  const redraw = () => {
    drawBase(); drawOverlay(); drawPrompts();
    root.dataset.view = st.view.join(","); // for tests: zoom, panX, panY
  };
  st.redraw = redraw;
  st.resetView = () => { st.view = [1, 0, 0]; redraw(); };

  if (st.imageKey !== data.image_key) {
    st.imageKey = data.image_key;
    st.view = [1, 0, 0]; // a new image opens whole
    const img = new Image();
    img.onload = () => { if (st.imageKey === data.image_key) { st.image = img; drawBase(); } };
    img.src = data.image;
  } else {
    drawBase();
  }

  const settle = () => {
    if (st.pending && st.pending.id === data.seq) {
      st.pending = null;
      clearTimeout(st.timer);
    }
    drawPrompts();
    root.dataset.seq = data.seq || "";
    if (!st.pending && st.queue.length) dispatch(st.queue.shift());
  };
  if (st.overlaySrc !== data.overlay) {
    st.overlaySrc = data.overlay;
    if (!data.overlay) { st.overlayImage = null; drawOverlay(); settle(); }
    else {
      const img = new Image();
      img.onload = () => {
        if (st.overlaySrc !== data.overlay) return;
        st.overlayImage = img; drawOverlay(); settle();
      };
      img.src = data.overlay;
    }
  } else {
    drawOverlay();
    settle();
  }

  // ---- input ----------------------------------------------------------------------------------
  const pos = (e) => {  // viewport pixels
    const r = ui.getBoundingClientRect();
    return [(e.clientX - r.left) * (w / r.width), (e.clientY - r.top) * (h / r.height)];
  };
  // One event in flight at a time: a rerun interrupted by the next input could drop it.
  // Later inputs wait in a queue (their points are drawn at once) and go when the result is in.
  function dispatch(event) {  // a declaration: settle() above may call it during this render
    st.pending = event;
    root.dataset.pending = event.id;
    clearTimeout(st.timer);
    st.timer = setTimeout(() => { st.pending = null; if (st.queue.length) dispatch(st.queue.shift()); }, 5000);
    setTriggerValue("event", event);
  }
  const send = (event) => {
    event.id = `${Date.now()}-${Math.random().toString(36).slice(2, 7)}`;
    event.view = [...st.view];
    root.dataset.last = event.id;
    if (st.pending) st.queue.push(event); else dispatch(event);
  };
  const isBrush = () => st.data.tool === "brush" || st.data.tool === "erase";
  const cursor = () => {
    ui.style.cursor = st.panning ? "grabbing" : st.space ? "grab" : isBrush() ? "cell" : "crosshair";
  };
  const onDown = (e) => {
    e.preventDefault();
    ui.setPointerCapture(e.pointerId);
    const [x, y] = pos(e);
    if (e.button === 1 || (e.button === 0 && st.space)) {
      st.panning = { x0: x, y0: y, view: [...st.view] };
      cursor();
      return;
    }
    st.drag = { x0: x, y0: y, button: e.button, shift: e.shiftKey, points: [[x, y]] };
    if (isBrush()) paint(st.drag.points);
  };
  const paint = (points) => {  // the stroke as drawn, in viewport pixels (the brush keeps its screen size)
    const ctx = ui.getContext("2d");
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.lineWidth = 2 * st.data.brush_radius;
    ctx.strokeStyle = st.data.tool === "erase" ? "rgba(255,255,255,0.6)" : "rgba(0,200,83,0.6)";
    ctx.beginPath();
    const a = points[Math.max(points.length - 2, 0)], b = points[points.length - 1];
    ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0] + 0.01, b[1]); ctx.stroke();
  };
  const onMove = (e) => {
    const [x, y] = pos(e);
    if (st.panning) {
      const [z, px, py] = st.panning.view;
      st.view = clampView([z, px + x - st.panning.x0, py + y - st.panning.y0]);
      redraw();
      return;
    }
    if (!st.drag) return;
    if (isBrush()) { st.drag.points.push([x, y]); paint(st.drag.points); return; }
    drawPrompts();
    const ctx = ui.getContext("2d");
    ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5; ctx.strokeStyle = "#ffeb3b";
    ctx.strokeRect(st.drag.x0, st.drag.y0, x - st.drag.x0, y - st.drag.y0); ctx.setLineDash([]);
  };
  const onUp = (e) => {
    if (st.panning) { st.panning = null; cursor(); return; }
    const drag = st.drag;
    st.drag = null;
    if (!drag) return;
    const [x, y] = pos(e);
    const tool = st.data.tool;
    if (tool === "brush" || tool === "erase") {
      drag.points.push([x, y]);
      send({ kind: "stroke", points: drag.points, radius: st.data.brush_radius, erase: tool === "erase" });
      return;
    }
    const moved = Math.hypot(x - drag.x0, y - drag.y0) > 5;
    if (moved && drag.button === 0) {
      send({ kind: "box", box: [Math.min(x, drag.x0), Math.min(y, drag.y0), Math.max(x, drag.x0), Math.max(y, drag.y0)] });
    } else if (!moved && tool === "point" && drag.button !== 1) {
      const negative = drag.button === 2 || drag.shift || !!st.data.negative;
      send({ kind: "click", x: drag.x0, y: drag.y0, positive: !negative });
      drawPrompts();
    } else {
      drawPrompts();
    }
  };
  const onWheel = (e) => {
    e.preventDefault();
    const [x, y] = pos(e);
    const [cx, cy] = toCanvas(x, y);
    const z = Math.min(Math.max(st.view[0] * Math.exp(-e.deltaY * 0.0015), 1), MAX_ZOOM);
    st.view = clampView([z, x - z * cx, y - z * cy]); // the point under the pointer stays put
    redraw();
  };
  const onMenu = (e) => e.preventDefault();
  const onEnter = () => { st.hover = true; };
  const onLeave = () => { st.hover = false; };
  if (st.handlers) {
    for (const [name, fn] of Object.entries(st.handlers)) ui.removeEventListener(name, fn);
  }
  st.handlers = {
    pointerdown: onDown, pointermove: onMove, pointerup: onUp, wheel: onWheel,
    contextmenu: onMenu, pointerenter: onEnter, pointerleave: onLeave,
  };
  for (const [name, fn] of Object.entries(st.handlers)) {
    ui.addEventListener(name, fn, name === "wheel" ? { passive: false } : undefined);
  }
  cursor();
  st.cursor = cursor;

  // ---- keys, once per page: Space (pan), 0 (whole image), Enter (confirm) -----------------------
  if (!window.__grdCanvasKeys) {
    window.__grdCanvasKeys = true;
    const typing = (t) =>
      t && (t.isContentEditable || t.tagName === "TEXTAREA" ||
        (t.tagName === "INPUT" && !["checkbox", "radio", "range", "button", "submit"].includes(t.type)));
    window.addEventListener("keydown", (e) => {
      const current = window.__grdCanvas;
      if (!current || !current.isConnected || typing(e.target) || e.ctrlKey || e.metaKey || e.altKey) return;
      const s = current._grd;
      if (e.key === " " && s.hover) {  // over the canvas Space pans; elsewhere it is the page's
        e.preventDefault(); e.stopImmediatePropagation();
        if (!s.space) { s.space = true; s.cursor(); }
      } else if (e.key === "0" && !e.shiftKey) {
        s.resetView();
      } else if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
        // Enter is Confirm wherever the focus is: a tool button focused by a mouse click would
        // otherwise take it as its own press (and nothing would be saved)
        const confirm = document.querySelector(".st-key-confirm button");
        if (!confirm || confirm.disabled) return;
        e.preventDefault(); e.stopImmediatePropagation();
        if (document.activeElement && document.activeElement !== document.body) document.activeElement.blur();
        confirm.click();
      }
    }, true);
    window.addEventListener("keyup", (e) => {
      const current = window.__grdCanvas;
      if (e.key === " " && current && current._grd.space) {
        current._grd.space = false; current._grd.cursor();
      }
    }, true);
  }
}
