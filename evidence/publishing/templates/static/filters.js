// The claims index filters (topic, verdict, source page, text), kept in the address bar like the app's
// permalinks (?topic=onset&verdict=Unsupported&q=24+hours); the same rule as evidence.pages.index.matches.
(function () {
  "use strict";
  var form = document.getElementById("filters");
  var cards = Array.prototype.slice.call(document.querySelectorAll(".claim-card"));
  var count = document.getElementById("count");
  var none = document.getElementById("none");
  var order = JSON.parse(document.getElementById("verdict-order").textContent);
  var params = new URLSearchParams(window.location.search);

  function checked(name) {
    return Array.prototype.slice.call(form.querySelectorAll("input[name=" + name + "]:checked"))
      .map(function (box) { return box.value; });
  }
  ["topic", "verdict", "source"].forEach(function (name) {
    var wanted = params.getAll(name);
    form.querySelectorAll("input[name=" + name + "]").forEach(function (box) {
      box.checked = wanted.indexOf(box.value) >= 0;
    });
  });
  form.q.value = params.get("q") || "";

  function apply() {
    var topics = checked("topic"), verdicts = checked("verdict"), sources = checked("source");
    // as evidence/pages/index.py: search_key (punctuation, hyphens and dashes as spaces, runs of spaces as one),
    // matched from the start of a word
    var q = form.q.value.toLowerCase().replace(/[^\p{L}\p{N}_%]+/gu, " ").trim();
    var shown = [];
    cards.forEach(function (card) {
      var ok = (!topics.length || topics.indexOf(card.dataset.topic) >= 0)
        && (!verdicts.length || verdicts.indexOf(card.dataset.verdict) >= 0)
        && (!sources.length || card.dataset.sources.split(" ").some(function (s) { return sources.indexOf(s) >= 0; }))
        && (!q || (" " + card.dataset.search).indexOf(" " + q) >= 0);
      card.hidden = !ok;
      if (ok) { shown.push(card.dataset.verdict); }
    });
    var counts = order.filter(function (v) { return shown.indexOf(v) >= 0; }).map(function (v) {
      return v + ": " + shown.filter(function (s) { return s === v; }).length;
    });
    count.innerHTML = "";
    var strong = document.createElement("strong");
    strong.textContent = shown.length + " of " + cards.length + " claims";
    count.appendChild(strong);
    count.appendChild(document.createTextNode(" — " + counts.join(" · ")));
    none.hidden = shown.length > 0;
    var next = new URLSearchParams();
    topics.forEach(function (v) { next.append("topic", v); });
    verdicts.forEach(function (v) { next.append("verdict", v); });
    sources.forEach(function (v) { next.append("source", v); });
    if (q) { next.set("q", form.q.value.trim()); }
    var query = next.toString();
    history.replaceState(null, "", query ? "?" + query : window.location.pathname);
  }
  form.addEventListener("input", apply);
  form.addEventListener("submit", function (e) { e.preventDefault(); apply(); });
  apply();
})();
