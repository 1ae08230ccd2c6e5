// salesops dashboard behaviour: draw charts from server-built specs, drill down on click,
// submit the filter bar on change. Plotly and htmx are served from the package, never a CDN.
(function () {
  "use strict";

  function drawCharts(root) {
    if (!window.Plotly) return;
    root.querySelectorAll("[data-chart]").forEach(function (el) {
      var spec = document.getElementById(el.dataset.chart);
      if (!spec || el.dataset.drawn) return;
      var fig = JSON.parse(spec.textContent);
      var config = { displayModeBar: false, responsive: true };
      Plotly.newPlot(el, fig.data, fig.layout, config).then(function () {
        el.dataset.drawn = "1";
        el.on("plotly_click", function (ev) {
          var point = ev.points && ev.points[0];
          var url = point && point.customdata;
          if (Array.isArray(url)) url = url[0];
          if (typeof url === "string" && url.charAt(0) === "/") window.location.href = url;
        });
      });
    });
  }

  // A chart's PNG comes from Plotly's own image export, at the size it is drawn.
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest && ev.target.closest("[data-png]");
    if (!button || !window.Plotly) return;
    var el = document.getElementById(button.dataset.png);
    if (!el || !el.dataset.drawn) return;
    Plotly.downloadImage(el, {
      format: "png", filename: button.dataset.png,
      width: el.offsetWidth, height: el.offsetHeight
    });
  });

  document.addEventListener("DOMContentLoaded", function () {
    drawCharts(document);
    document.querySelectorAll("form.filters select").forEach(function (sel) {
      sel.addEventListener("change", function () { sel.form.submit(); });
    });
  });
  document.addEventListener("htmx:afterSwap", function (ev) { drawCharts(ev.target); });
})();
