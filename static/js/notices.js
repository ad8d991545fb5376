/* The notice editor: show only the audience parts the chosen mode uses (chosen units, levels). Without
   script every part stays visible and the server ignores what the mode does not use. */
(function () {
  "use strict";
  var modes = document.getElementById("audience-modes");
  if (!modes) return;
  function update() {
    var checked = modes.querySelector("input:checked");
    var mode = checked ? checked.value : "";
    document.querySelectorAll(".audience-part").forEach(function (part) {
      part.hidden = part.dataset.mode !== mode;
    });
  }
  modes.addEventListener("change", update);
  update();
})();
