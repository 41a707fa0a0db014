// Draws every chart on the page from its embedded figure JSON with the site's one local plotly.js.
(function () {
  "use strict";
  var plots = document.querySelectorAll("[data-figure]");
  for (var i = 0; i < plots.length; i++) {
    var el = plots[i];
    var source = document.getElementById(el.getAttribute("data-figure"));
    if (!source) { continue; }
    var fig = JSON.parse(source.textContent);
    var layout = fig.layout || {};
    layout.autosize = true;
    delete layout.width;
    Plotly.newPlot(el, fig.data || [], layout, {displaylogo: false, responsive: true}).then(function (gd) {
      gd.setAttribute("data-drawn", "1");
    });
  }
})();
