// Printing (see print.css): charts and grids are drawn in pixels at the screen's width, and an A4
// landscape page is narrower (273 mm inside the margins, about 1030 CSS px). Before printing, each
// chart is redrawn and each grid's columns fitted to its share of the page width, and grids show
// every row (AG Grid's "print" layout) instead of a scrolling page of them; afterwards both go back.
(function () {
  var PAGE_PX = 1000; // a little under the page's width: borders and padding of the cards
  var PAGE_HEIGHT_PX = 560; // a chart and its card title within one page (186 mm ≈ 700 px)
  var printing = false;
  var saved = [];

  function scale() {
    return Math.min(1, PAGE_PX / Math.max(1, document.documentElement.clientWidth));
  }

  function gridApis() {
    var dag = window.dash_ag_grid;
    if (!dag || !dag.getApi) return [];
    return Array.prototype.slice.call(document.querySelectorAll(".duban-grid[id]")).map(function (el) {
      try { return { el: el, api: dag.getApi(el.id) }; } catch (e) { return null; }
    }).filter(function (g) { return g && g.api; });
  }

  function toPrint() {
    if (printing) return;
    printing = true;
    var k = scale();
    if (window.Plotly) {
      document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
        var w = gd.getBoundingClientRect().width;
        if (!w) return;
        var update = { width: Math.floor(w * k) };
        // A chart taller than a page (the big screen's) would be cut or pushed off the page.
        var height = (gd._fullLayout && gd._fullLayout.height) || gd.getBoundingClientRect().height;
        if (height > PAGE_HEIGHT_PX) {
          gd.dataset.screenHeight = height;
          update.height = PAGE_HEIGHT_PX;
        }
        window.Plotly.relayout(gd, update);
      });
    }
    saved = gridApis().map(function (g) {
      var before = { api: g.api, layout: g.api.getGridOption("domLayout"), pagination: g.api.getGridOption("pagination") };
      var width = g.el.getBoundingClientRect().width;
      g.api.setGridOption("domLayout", "print");
      g.api.setGridOption("pagination", false);
      var target = Math.floor(width * k);
      var natural = g.api.getAllDisplayedColumns().reduce(function (sum, c) { return sum + c.getActualWidth(); }, 0);
      before.el = g.el;
      // Narrowing columns would cut dates and numbers short ("2024-…"): a grid wider than its share
      // of the page keeps its screen widths and is scaled down instead (rather than Chromium
      // shrinking the whole page to fit it); a narrower one is fitted.
      if (natural > target) {
        g.el.style.zoom = (target / natural).toFixed(3);
      } else {
        g.api.sizeColumnsToFit(target);
      }
      return before;
    });
  }

  function toScreen() {
    if (!printing) return;
    printing = false;
    if (window.Plotly) {
      document.querySelectorAll(".js-plotly-plot").forEach(function (gd) {
        var update = { width: null, autosize: true };
        if (gd.dataset.screenHeight) update.height = Number(gd.dataset.screenHeight);
        delete gd.dataset.screenHeight;
        window.Plotly.relayout(gd, update).then(function () { window.Plotly.Plots.resize(gd); });
      });
    }
    saved.forEach(function (g) {
      g.api.setGridOption("domLayout", g.layout || "normal");
      g.api.setGridOption("pagination", g.pagination);
      g.el.style.zoom = "";
      g.api.sizeColumnsToFit();
    });
    saved = [];
  }

  window.addEventListener("beforeprint", toPrint);
  window.addEventListener("afterprint", toScreen);
  // Emulated print media (tests, PDF export tools) fires no beforeprint; the media query does change.
  var media = window.matchMedia && window.matchMedia("print");
  if (media && media.addEventListener) {
    media.addEventListener("change", function (e) { if (e.matches) { toPrint(); } else { toScreen(); } });
  }
})();
