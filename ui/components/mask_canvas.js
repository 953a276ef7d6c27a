// Image canvas for the mask editor: shows the image, the instance overlay and the prompts, and
// reports user input as trigger events (canvas pixel coordinates; Python converts them to image
// pixels through labeler/geometry.py).
//   event = {kind: "click", id, x, y, positive}
//         | {kind: "box", id, box: [x0, y0, x1, y1]}
//         | {kind: "stroke", id, points: [[x, y], ...], radius, erase}
// Left click = positive point (negative when data.negative is on), right click or Shift+click =
// negative point, drag with the point or box tool = box, drag with brush / eraser = stroke.
// root.dataset.seq holds the id of the last event whose result is on screen, root.dataset.last the
// id of the last input (for tests and bench): all input is on screen when they are equal.
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
    root._grd = { imageKey: null, overlaySrc: null, pending: null, queue: [] };
  }
  const st = root._grd;
  st.data = data;
  const [base, over, ui] = root.querySelectorAll("canvas");
  const w = data.width, h = data.height;
  for (const c of [base, over, ui]) {
    if (c.width !== w) c.width = w;
    if (c.height !== h) c.height = h;
  }
  root.style.aspectRatio = `${w} / ${h}`;
  root.style.maxWidth = `${w}px`;

  const drawBase = () => {
    const ctx = base.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    if (st.image) ctx.drawImage(st.image, 0, 0, w, h);
  };
  if (st.imageKey !== data.image_key) {
    st.imageKey = data.image_key;
    const img = new Image();
    img.onload = () => { if (st.imageKey === data.image_key) { st.image = img; drawBase(); } };
    img.src = data.image;
  } else {
    drawBase();
  }

  const drawPrompts = () => {
    const ctx = ui.getContext("2d");
    ctx.clearRect(0, 0, w, h);
    const d = st.data;
    if (d.box) {
      const [x0, y0, x1, y1] = d.box;
      ctx.setLineDash([6, 4]); ctx.lineWidth = 2; ctx.strokeStyle = "#ffeb3b";
      ctx.strokeRect(x0, y0, x1 - x0, y1 - y0); ctx.setLineDash([]);
    }
    for (const [x, y, label] of d.points || []) dot(ctx, x, y, label === 1);
    for (const ev of [st.pending, ...st.queue]) {
      if (ev && ev.kind === "click") dot(ctx, ev.x, ev.y, ev.positive);
    }
  };
  const dot = (ctx, x, y, positive) => {
    ctx.beginPath(); ctx.arc(x, y, 5, 0, 2 * Math.PI);
    ctx.fillStyle = positive ? "#00c853" : "#ff1744"; ctx.fill();
    ctx.lineWidth = 2; ctx.strokeStyle = "#ffffff"; ctx.stroke();
  };
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
    const octx = over.getContext("2d");
    if (!data.overlay) { octx.clearRect(0, 0, w, h); settle(); }
    else {
      const img = new Image();
      img.onload = () => {
        if (st.overlaySrc !== data.overlay) return;
        octx.clearRect(0, 0, w, h); octx.drawImage(img, 0, 0, w, h); settle();
      };
      img.src = data.overlay;
    }
  } else {
    settle();
  }

  // ---- input ----------------------------------------------------------------------------------
  const pos = (e) => {
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
    root.dataset.last = event.id;
    if (st.pending) st.queue.push(event); else dispatch(event);
  };
  const onDown = (e) => {
    e.preventDefault();
    ui.setPointerCapture(e.pointerId);
    const [x, y] = pos(e);
    st.drag = { x0: x, y0: y, button: e.button, shift: e.shiftKey, points: [[x, y]] };
    if (isBrush()) paint(st.drag.points);
  };
  const isBrush = () => st.data.tool === "brush" || st.data.tool === "erase";
  const paint = (points) => {
    const ctx = ui.getContext("2d");
    ctx.lineCap = "round"; ctx.lineJoin = "round";
    ctx.lineWidth = 2 * st.data.brush_radius;
    ctx.strokeStyle = st.data.tool === "erase" ? "rgba(255,255,255,0.6)" : "rgba(0,200,83,0.6)";
    ctx.beginPath();
    const a = points[Math.max(points.length - 2, 0)], b = points[points.length - 1];
    ctx.moveTo(a[0], a[1]); ctx.lineTo(b[0] + 0.01, b[1]); ctx.stroke();
  };
  const onMove = (e) => {
    if (!st.drag) return;
    const [x, y] = pos(e);
    if (isBrush()) { st.drag.points.push([x, y]); paint(st.drag.points); return; }
    drawPrompts();
    const ctx = ui.getContext("2d");
    ctx.setLineDash([4, 3]); ctx.lineWidth = 1.5; ctx.strokeStyle = "#ffeb3b";
    ctx.strokeRect(st.drag.x0, st.drag.y0, x - st.drag.x0, y - st.drag.y0); ctx.setLineDash([]);
  };
  const onUp = (e) => {
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
    } else if (!moved && tool === "point") {
      const negative = drag.button === 2 || drag.shift || !!st.data.negative;
      send({ kind: "click", x: drag.x0, y: drag.y0, positive: !negative });
      drawPrompts();
    } else {
      drawPrompts();
    }
  };
  const onMenu = (e) => e.preventDefault();
  if (st.handlers) {
    ui.removeEventListener("pointerdown", st.handlers.down);
    ui.removeEventListener("pointermove", st.handlers.move);
    ui.removeEventListener("pointerup", st.handlers.up);
    ui.removeEventListener("contextmenu", st.handlers.menu);
  }
  st.handlers = { down: onDown, move: onMove, up: onUp, menu: onMenu };
  ui.addEventListener("pointerdown", onDown);
  ui.addEventListener("pointermove", onMove);
  ui.addEventListener("pointerup", onUp);
  ui.addEventListener("contextmenu", onMenu);
  ui.style.cursor = isBrush() ? "cell" : "crosshair";
}
