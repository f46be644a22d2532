// Functions dash-ag-grid calls by name (eventListeners in dashboard/components.py grid()).
var dagfuncs = (window.dashAgGridFunctions = window.dashAgGridFunctions || {});

// Below Bootstrap's sm breakpoint (a phone held upright) a grid shows one card per row (the
// "card" column, DubanCard) instead of its columns; back on a wider screen, the columns again.
// Called on the events GRID_REFIT_EVENTS of dashboard/components.py (its width changed, columns reset).
var PHONE = window.matchMedia("(max-width: 575.98px)");

dagfuncs.DubanFitScreen = function (params) {
  var api = params.api;
  var card = api.getColumn("card");
  var cards = PHONE.matches;
  if (!card || card.isVisible() === cards) {
    return;
  }
  if (api.dubanLayout === undefined) {
    api.dubanLayout = api.getGridOption("domLayout") || "normal";
  }
  var columns = api.getColumns().map(function (c) { return c.getColId(); }).filter(function (id) { return id !== "card"; });
  api.setColumnsVisible(columns, !cards);
  api.setColumnsVisible(["card"], cards);
  // The cards take the page's height: the page scrolls, not a box inside it.
  api.setGridOption("domLayout", cards ? "autoHeight" : api.dubanLayout);
  api.sizeColumnsToFit();
};
