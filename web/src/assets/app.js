// baoxue web apps: small, progressive enhancements. Every page works without this file.
(function () {
  "use strict";
  // Forms with data-confirm ask before they are sent (close a case, withdraw an entry …).
  document.addEventListener("submit", function (e) {
    var f = e.target;
    var msg = f.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { e.preventDefault(); return; }
    // One click, one request: disable the buttons of a form being sent.
    var buttons = f.querySelectorAll("button[type=submit], button:not([type])");
    window.setTimeout(function () { buttons.forEach(function (b) { b.disabled = true; }); }, 0);
  });
  // Buttons with data-print print the page (official documents).
  document.addEventListener("click", function (e) {
    var t = e.target.closest ? e.target.closest("[data-print]") : null;
    if (t) { e.preventDefault(); window.print(); }
  });
  // Roll call: highlight a row once a reason of absence is chosen, and count the absent.
  function recount(roll) {
    var n = 0;
    roll.querySelectorAll(".roll-row").forEach(function (row) {
      var checked = row.querySelector("input[type=radio]:checked");
      var absent = checked && checked.value !== "present";
      row.classList.toggle("absent", !!absent);
      if (absent) { n += 1; }
    });
    var out = document.getElementById("absent-count");
    if (out) { out.textContent = String(n); }
  }
  document.querySelectorAll(".roll").forEach(function (roll) {
    roll.addEventListener("change", function () { recount(roll); });
    recount(roll);
  });
})();
