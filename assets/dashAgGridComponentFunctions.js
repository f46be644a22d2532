// Cell renderers for dash-ag-grid (picked up by name from this file).
var dagcomponentfuncs = (window.dashAgGridComponentFunctions = window.dashAgGridComponentFunctions || {});

// DubanLink: the cell's value as text inside a real <a href> (copyable, middle-click opens a tab);
// a plain left click navigates inside the app the way dcc.Link does, so history/back work.
// Text only: React escapes the value, so a title with <script> shows literally.
dagcomponentfuncs.DubanLink = function (props) {
  var href = props.data ? props.data[props.colDef.cellRendererParams.hrefField] : null;
  var text = props.value === null || props.value === undefined ? "" : String(props.value);
  if (!href) {
    return React.createElement("span", null, text);
  }
  return React.createElement(
    "a",
    {
      href: href,
      onClick: function (e) {
        if (e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) {
          return;
        }
        e.preventDefault();
        window.history.pushState({}, "", href);
        window.dispatchEvent(new CustomEvent("_dashprivate_pushstate"));
        window.scrollTo(0, 0);
      },
    },
    text
  );
};

// Mark: red/yellow text marks in grid cells (icon + words + colour, never colour alone).
dagcomponentfuncs.DubanMark = function (props) {
  var text = props.value === null || props.value === undefined ? "" : String(props.value);
  var level = "grey";
  if (text.indexOf("逾期") >= 0 || text.indexOf("不满意") >= 0 || text.indexOf("红") >= 0) level = "red";
  else if (text.indexOf("临期") >= 0 || text.indexOf("未报送") >= 0 || text.indexOf("黄") >= 0) level = "yellow";
  else if (text.indexOf("已办结") >= 0) level = "green";
  if (!text) return React.createElement("span", null, "");
  return React.createElement("span", { className: "mark mark-" + level }, text);
};

// DubanCard: one row as a card for a phone (the grid's "card" column): a line per filled column,
// its header then its value, drawn by the column's own renderer (links, marks) or as text.
dagcomponentfuncs.DubanCard = function (props) {
  var lines = [];
  props.api.getColumns().forEach(function (column) {
    var def = column.getColDef();
    var value = props.data && def.field ? props.data[def.field] : null;
    if (column.getColId() === "card" || value === null || value === undefined || value === "") {
      return;
    }
    var renderer = dagcomponentfuncs[def.cellRenderer];
    var shown = renderer ? React.createElement(renderer, { value: value, data: props.data, colDef: def }) : String(value);
    lines.push(
      React.createElement(
        "div",
        { key: column.getColId(), className: "grid-card-line" },
        React.createElement("span", { className: "grid-card-label" }, def.headerName),
        shown
      )
    );
  });
  return React.createElement("div", { className: "grid-card" }, lines);
};
