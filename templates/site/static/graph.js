/* The relation graph: a small force layout drawn in SVG. No libraries, no network.
 * Click a node to open its entry; type an ID to focus on its neighbourhood;
 * drag to pan, wheel to zoom. The layout is deterministic (no randomness). */
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var BIG = 300; // above this many nodes, start focused on the best-connected entry
  var GRAVITY = 1.5;
  var PALETTE = ["#0969da", "#1a7f37", "#bc4c00", "#8250df", "#bf3989", "#0a7b83",
                 "#9a6700", "#cf222e", "#57606a", "#2da44e", "#6639ba", "#953800"];

  var source = document.getElementById("sotb-graph");
  var svg = document.getElementById("graph");
  if (!source || !svg) { return; }
  var data = JSON.parse(source.textContent);
  var focusInput = document.getElementById("focus");
  var depthSelect = document.getElementById("depth");
  var allButton = document.getElementById("show-all");
  var status = document.getElementById("graph-status");
  var legend = document.getElementById("legend");

  var byId = {};
  var adjacency = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; adjacency[n.id] = []; });
  data.edges.forEach(function (e) {
    adjacency[e.source].push(e.target);
    adjacency[e.target].push(e.source);
  });

  var prefixes = [];
  data.nodes.forEach(function (n) { if (prefixes.indexOf(n.prefix) < 0) { prefixes.push(n.prefix); } });
  prefixes.sort();
  function colour(prefix) { return PALETTE[prefixes.indexOf(prefix) % PALETTE.length]; }

  prefixes.forEach(function (p) {
    var item = document.createElement("span");
    item.textContent = p;
    item.style.setProperty("--swatch", colour(p));
    legend.appendChild(item);
  });

  function el(name, attrs, parent) {
    var node = document.createElementNS(NS, name);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (parent) { parent.appendChild(node); }
    return node;
  }

  function neighbourhood(id, depth) {
    var seen = {};
    seen[id] = 0;
    var queue = [id];
    while (queue.length) {
      var cur = queue.shift();
      if (seen[cur] >= depth) { continue; }
      adjacency[cur].forEach(function (other) {
        if (!(other in seen)) { seen[other] = seen[cur] + 1; queue.push(other); }
      });
    }
    return seen;
  }

  function layout(all, edges) {
    // force layout for the connected nodes; loose ones in a row below them
    var linked = {};
    edges.forEach(function (e) { linked[e.source] = true; linked[e.target] = true; });
    var nodes = all.filter(function (x) { return linked[x.id]; });
    var loose = all.filter(function (x) { return !linked[x.id]; });
    var n = nodes.length;
    var pos = {};
    var area = 1000 * 700;
    var k = Math.sqrt(area / Math.max(n, 1)) * 0.8;
    nodes.forEach(function (node, i) {
      var angle = 2 * Math.PI * i / Math.max(n, 1);
      var radius = 80 + 3 * Math.sqrt(n) * (1 + (i % 3) * 0.15) * 10;
      pos[node.id] = { x: 500 + radius * Math.cos(angle), y: 350 + radius * Math.sin(angle) };
    });
    var iterations = n > BIG ? 60 : 250;
    var temperature = 80;
    for (var it = 0; it < iterations; it++) {
      var disp = {};
      nodes.forEach(function (a) { disp[a.id] = { x: 0, y: 0 }; });
      for (var i = 0; i < n; i++) {
        var a = pos[nodes[i].id];
        for (var j = i + 1; j < n; j++) {
          var b = pos[nodes[j].id];
          var dx = a.x - b.x, dy = a.y - b.y;
          var d2 = dx * dx + dy * dy || 0.01;
          var f = k * k / d2;
          disp[nodes[i].id].x += dx * f; disp[nodes[i].id].y += dy * f;
          disp[nodes[j].id].x -= dx * f; disp[nodes[j].id].y -= dy * f;
        }
      }
      edges.forEach(function (e) {
        var a = pos[e.source], b = pos[e.target];
        var dx = a.x - b.x, dy = a.y - b.y;
        var d = Math.sqrt(dx * dx + dy * dy) || 0.1;
        var f = d / k;
        disp[e.source].x -= dx * f; disp[e.source].y -= dy * f;
        disp[e.target].x += dx * f; disp[e.target].y += dy * f;
      });
      nodes.forEach(function (node) {
        var p = pos[node.id], v = disp[node.id];
        v.x += (500 - p.x) * GRAVITY;  // pull towards the centre: loose nodes stay near
        v.y += (350 - p.y) * GRAVITY;
        var len = Math.sqrt(v.x * v.x + v.y * v.y) || 1;
        var step = Math.min(len, temperature);
        p.x += v.x / len * step;
        p.y += v.y / len * step;
      });
      temperature = Math.max(2, temperature * 0.97);
    }
    var bottom = 350, left = 500, right = 500;
    nodes.forEach(function (x) {
      bottom = Math.max(bottom, pos[x.id].y);
      left = Math.min(left, pos[x.id].x);
      right = Math.max(right, pos[x.id].x);
    });
    var perRow = Math.max(4, Math.floor((right - left) / 90) + 1);
    loose.forEach(function (x, i) {
      pos[x.id] = { x: left + (i % perRow) * 90, y: bottom + 60 + Math.floor(i / perRow) * 30 };
    });
    return pos;
  }

  var view = { x: 0, y: 0, w: 1000, h: 700 };
  function applyView() { svg.setAttribute("viewBox", [view.x, view.y, view.w, view.h].join(" ")); }

  function draw(ids, focusId) {
    var shown = {};
    ids.forEach(function (id) { shown[id] = true; });
    var nodes = data.nodes.filter(function (n) { return shown[n.id]; });
    var edges = data.edges.filter(function (e) { return shown[e.source] && shown[e.target]; });
    var pos = layout(nodes, edges);
    fit(pos);
    while (svg.firstChild) { svg.removeChild(svg.firstChild); }
    var defs = el("defs", {}, svg);
    var marker = el("marker", { id: "arrow", viewBox: "0 0 10 10", refX: "10", refY: "5",
                                markerWidth: "7", markerHeight: "7", orient: "auto-start-reverse" }, defs);
    el("path", { d: "M0,0 L10,5 L0,10 z", fill: "#8c959f" }, marker);
    var edgeLayer = el("g", { "class": "edges" }, svg);
    var nodeLayer = el("g", { "class": "nodes" }, svg);
    var labels = edges.length <= 120;
    var pairs = {};
    edges.forEach(function (e) { pairs[e.source + " " + e.target] = (pairs[e.source + " " + e.target] || 0) + 1; });
    var drawn = {};
    edges.forEach(function (e) {
      var a = pos[e.source], b = pos[e.target];
      var dx = b.x - a.x, dy = b.y - a.y;
      var d = Math.sqrt(dx * dx + dy * dy) || 1;
      var r = 9;
      // several edges between the same two nodes bend apart, each to its own side
      var key = e.source + " " + e.target;
      var nth = drawn[key] = (drawn[key] || 0) + 1;
      var shared = pairs[key] + (pairs[e.target + " " + e.source] || 0);
      var bend = shared > 1 ? 18 * nth : 0;
      var mx = (a.x + b.x) / 2 - dy / d * bend, my = (a.y + b.y) / 2 + dx / d * bend;
      var sx = a.x + (mx - a.x) / (Math.hypot(mx - a.x, my - a.y) || 1) * r;
      var sy = a.y + (my - a.y) / (Math.hypot(mx - a.x, my - a.y) || 1) * r;
      var ex = b.x + (mx - b.x) / (Math.hypot(mx - b.x, my - b.y) || 1) * r;
      var ey = b.y + (my - b.y) / (Math.hypot(mx - b.x, my - b.y) || 1) * r;
      var path = el("path", { "class": "edge " + e.relation, d: "M" + sx + "," + sy + " Q" + mx + "," + my +
                              " " + ex + "," + ey, "marker-end": "url(#arrow)" }, edgeLayer);
      el("title", {}, path).textContent = e.source + " " + e.relation + " " + e.target;
      if (labels) {
        var t = el("text", { "class": "edge-label", x: (a.x + b.x) / 4 + mx / 2, y: (a.y + b.y) / 4 + my / 2 - 3,
                             "text-anchor": "middle" }, edgeLayer);
        t.textContent = e.relation;
      }
    });
    nodes.forEach(function (n) {
      var p = pos[n.id];
      var cls = "node" + (n.deprecated ? " deprecated" : "") + (n.defined ? "" : " missing") +
                (n.id === focusId ? " focus" : "");
      var g = el("g", { "class": cls, transform: "translate(" + p.x + "," + p.y + ")",
                        "data-id": n.id, tabindex: "0" }, nodeLayer);
      el("circle", { r: n.id === focusId ? 10 : 7, fill: colour(n.prefix) }, g);
      el("text", { x: 11, y: 4 }, g).textContent = n.id;
      el("title", {}, g).textContent = n.id + (n.title ? ": " + n.title : "") +
        (n.status ? " (" + n.status + ")" : "") + (n.defined ? "" : " (defined nowhere)");
      function open() { if (n.href) { window.location.href = n.href; } }
      g.addEventListener("click", open);
      g.addEventListener("keydown", function (ev) { if (ev.key === "Enter") { open(); } });
    });
    status.textContent = nodes.length + " entries, " + edges.length + " references shown" +
      (focusId ? " around " + focusId : "") + " (of " + data.nodes.length + ").";
    window.sotbGraphShown = { nodes: nodes.length, edges: edges.length, focus: focusId || "" };
  }

  function fit(pos) {
    // scale the layout to the drawing's size in pixels, so text keeps its size
    var ids = Object.keys(pos);
    var w = svg.clientWidth || 1000, h = svg.clientHeight || 700;
    view = { x: 0, y: 0, w: w, h: h };
    applyView();
    if (!ids.length) { return; }
    var xs = ids.map(function (id) { return pos[id].x; });
    var ys = ids.map(function (id) { return pos[id].y; });
    var minX = Math.min.apply(null, xs), maxX = Math.max.apply(null, xs);
    var minY = Math.min.apply(null, ys), maxY = Math.max.apply(null, ys);
    var scale = Math.min((w - 140) / Math.max(maxX - minX, 1), (h - 60) / Math.max(maxY - minY, 1), 1.5);
    var ox = (w - (maxX - minX) * scale) / 2 - 30, oy = (h - (maxY - minY) * scale) / 2;
    ids.forEach(function (id) {
      pos[id].x = ox + (pos[id].x - minX) * scale;
      pos[id].y = oy + (pos[id].y - minY) * scale;
    });
  }

  function showAll() { draw(data.nodes.map(function (n) { return n.id; }), ""); }

  function focusOn(raw) {
    var id = (raw || "").trim().toUpperCase();
    if (!byId[id]) { return false; }
    var depth = parseInt(depthSelect.value, 10) || 2;
    draw(Object.keys(neighbourhood(id, depth)), id);
    focusInput.value = id;
    return true;
  }

  function fromHash() {
    var id = decodeURIComponent(window.location.hash.replace(/^#/, ""));
    if (id && focusOn(id)) { return; }
    if (data.nodes.length > BIG) {
      var best = data.nodes.slice().sort(function (a, b) {
        return adjacency[b.id].length - adjacency[a.id].length || (a.id < b.id ? -1 : 1);
      })[0];
      focusOn(best.id);
      status.textContent += " Large registry: type an ID to explore.";
    } else {
      showAll();
    }
  }

  focusInput.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && focusOn(focusInput.value)) {
      window.location.hash = encodeURIComponent(focusInput.value.trim().toUpperCase());
    }
  });
  depthSelect.addEventListener("change", function () { if (focusInput.value) { focusOn(focusInput.value); } });
  allButton.addEventListener("click", function () {
    focusInput.value = "";
    if (window.location.hash) { history.replaceState(null, "", window.location.pathname); }
    showAll();
  });
  window.addEventListener("hashchange", fromHash);

  var drag = null;
  svg.addEventListener("mousedown", function (ev) {
    drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
  });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (ev) {
    if (!drag) { return; }
    var scale = view.w / (svg.clientWidth || 1);
    view.x = drag.vx - (ev.clientX - drag.x) * scale;
    view.y = drag.vy - (ev.clientY - drag.y) * scale;
    applyView();
  });
  svg.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var factor = ev.deltaY > 0 ? 1.15 : 1 / 1.15;
    var cx = view.x + view.w / 2, cy = view.y + view.h / 2;
    view.w *= factor; view.h *= factor;
    view.x = cx - view.w / 2; view.y = cy - view.h / 2;
    applyView();
  }, { passive: false });

  fromHash();
})();
