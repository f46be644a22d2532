// Drawers below Bootstrap's lg breakpoint (dashboard/components.py drawer_toggle): the navbar's menu
// and the filters fold away on a phone; a button with data-drawer="<id>" shows or hides that
// element (its "show" class). Following a link in the menu closes it: the router redraws the
// page in place, so the open menu would otherwise stay over the new view.
(function () {
  function setOpen(target, open) {
    target.classList.toggle("show", open);
    document.querySelectorAll('[data-drawer="' + target.id + '"]').forEach(function (toggle) {
      toggle.setAttribute("aria-expanded", String(open));
    });
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-drawer]");
    if (toggle) {
      var target = document.getElementById(toggle.getAttribute("data-drawer"));
      if (target) {
        setOpen(target, !target.classList.contains("show"));
      }
      return;
    }
    var menu = event.target.closest("#nav-menu");
    if (menu && event.target.closest("a")) {
      setOpen(menu, false);
    }
  });
})();
