// 会议大屏: arrow keys move between panels, space or P pauses; the buttons do the work, so the
// keyboard and the on-screen controls behave the same.
document.addEventListener("keydown", function (e) {
  if (!document.getElementById("meeting")) return;
  var target = { ArrowLeft: "meeting-prev", ArrowRight: "meeting-next", " ": "meeting-pause", p: "meeting-pause", P: "meeting-pause" }[e.key];
  if (!target) return;
  var button = document.getElementById(target);
  if (button) {
    e.preventDefault();
    button.click();
  }
});
