/* Client-side search over the embedded index of IDs and titles. No network. */
(function () {
  "use strict";
  var data = document.getElementById("sotb-index");
  var input = document.getElementById("search");
  var list = document.getElementById("results");
  if (!data || !input || !list) { return; }
  var index = JSON.parse(data.textContent);
  var LIMIT = 50;

  function score(item, q) {
    var id = item.id.toLowerCase();
    var title = item.title.toLowerCase();
    if (id === q) { return 0; }
    if (id.indexOf(q) === 0) { return 1; }
    if (id.indexOf(q) >= 0) { return 2; }
    var words = q.split(/\s+/).filter(Boolean);
    var all = words.every(function (w) { return title.indexOf(w) >= 0 || id.indexOf(w) >= 0; });
    if (!all) { return -1; }
    return (" " + title).indexOf(" " + words[0]) >= 0 ? 3 : 4;
  }

  function search(text) {
    var q = text.trim().toLowerCase();
    if (!q) { return []; }
    var hits = [];
    for (var i = 0; i < index.length; i++) {
      var s = score(index[i], q);
      if (s >= 0) { hits.push([s, i]); }
    }
    hits.sort(function (a, b) { return a[0] - b[0] || a[1] - b[1]; });
    return hits.slice(0, LIMIT).map(function (h) { return index[h[1]]; });
  }

  function show(text) {
    var hits = search(text);
    list.textContent = "";
    hits.forEach(function (item) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = item.href;
      a.className = "hit" + (item.deprecated ? " dep" : "");
      var id = document.createElement("span");
      id.className = "rid";
      id.textContent = item.id;
      a.appendChild(id);
      a.appendChild(document.createTextNode(item.title));
      li.appendChild(a);
      var meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = [item.status, item.file].filter(Boolean).join(" · ");
      li.appendChild(meta);
      list.appendChild(li);
    });
    if (text.trim() && !hits.length) {
      var none = document.createElement("li");
      none.className = "meta";
      none.textContent = "No entry matches.";
      list.appendChild(none);
    }
    return hits;
  }

  input.addEventListener("input", function () { show(input.value); });
  input.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter") { return; }
    var hits = search(input.value);
    if (hits.length) { window.location.href = hits[0].href; }
  });
  var params = new URLSearchParams(window.location.search);
  var q = params.get("q");
  if (q) {
    input.value = q;
    var hits = show(q);
    if (hits.length && hits[0].id.toLowerCase() === q.trim().toLowerCase()) {
      window.location.replace(hits[0].href);
    }
  }
  window.sotbSearch = search;
})();
