/* Small behaviours of the portal that htmx does not cover. Plain JavaScript, no dependencies. */
(function () {
  "use strict";

  // Org tree: the first click on [+] lets htmx fetch the children (hx-trigger="click once");
  // every click opens or closes the branch that the fetch filled.
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".tree-toggle");
    if (toggle) {
      var branch = document.getElementById(toggle.getAttribute("aria-controls"));
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      toggle.textContent = open ? "−" : "+";
      if (branch) branch.hidden = !open;
      return;
    }
    var name = event.target.closest(".tree-name");
    if (name) {
      document.querySelectorAll(".tree-name.is-selected").forEach(function (el) {
        el.classList.remove("is-selected");
      });
      name.classList.add("is-selected");
    }
    var download = event.target.closest("[data-csv-table]");
    if (download) {
      downloadTable(document.querySelector(download.dataset.csvTable), download.dataset.csvFilename || "table.csv");
    }
  });

  // Save a result table (e.g. accounts just issued with their initial passwords) as CSV,
  // built in the browser so the passwords never travel to the server again.
  function downloadTable(table, filename) {
    if (!table) return;
    var lines = Array.prototype.map.call(table.querySelectorAll("tr"), function (row) {
      return Array.prototype.map.call(row.querySelectorAll("th, td"), function (cell) {
        var text = cell.textContent.trim().replace(/\s+/g, " ");
        // A cell starting with = + - @ is run as a formula by spreadsheet programs (=HYPERLINK(…),
        // =cmd|…): a leading apostrophe makes it text, as helpdesk.core.spreadsheet does server side.
        if (/^[=+\-@\t\r]/.test(text)) text = "'" + text;
        return /[",\n]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
      }).join(",");
    });
    var blob = new Blob(["\ufeff" + lines.join("\r\n") + "\r\n"], { type: "text/csv;charset=utf-8" });
    var link = document.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = filename;
    document.body.appendChild(link);
    link.click();
    setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 0);
  }

  // Close the user menu when clicking elsewhere.
  document.addEventListener("click", function (event) {
    document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
      if (!menu.contains(event.target)) menu.removeAttribute("open");
    });
  });
})();

/* The top navigation's menu button on narrow screens (portal.css folds .mainnav away below
   720px): it opens and closes the menu and says which it is to assistive technology. */
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest(".nav-toggle");
    if (!toggle) return;
    var bar = toggle.closest(".topbar");
    var open = !bar.classList.contains("nav-open");
    bar.classList.toggle("nav-open", open);
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
