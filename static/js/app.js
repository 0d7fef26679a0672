// Small progressive enhancements; every page works without them.
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches && target.matches("select[data-autosubmit]") && target.form) {
      target.form.requestSubmit();
    }
  });

  // The invoice editor's customer picker: a chosen customer fills the hidden id; typing again
  // forgets it (an empty box means an anonymous final consumer).
  document.addEventListener("click", function (event) {
    var option = event.target.closest && event.target.closest("[data-pick-customer]");
    if (!option) return;
    var form = option.closest("form");
    form.querySelector("#customer_id").value = option.getAttribute("data-pick-customer");
    form.querySelector("#customer_label").value = option.getAttribute("data-label");
    document.getElementById("customer-options").innerHTML = "";
    form.dispatchEvent(new Event("change", { bubbles: true }));
  });
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-picker-input]")) {
      event.target.form.querySelector("#customer_id").value = "";
    }
  });

  // A plain form whose button asks first (htmx forms use hx-confirm).
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var field = document.querySelector(button.getAttribute("data-copy"));
    if (!field) return;
    field.select();
    if (navigator.clipboard) {
      navigator.clipboard.writeText(field.value).catch(function () {});
    }
    button.classList.add("is-copied");
  });

  // A form sent back with errors (a 422 page, or an htmx swap bringing them): the cursor goes
  // to the first field marked invalid, so the person (and a screen reader) lands on the problem.
  function focusFirstInvalid(root) {
    var field = root.querySelector('[aria-invalid="true"]');
    if (field && typeof field.focus === "function") field.focus();
    return Boolean(field);
  }

  // Tables that become stacked cards on a phone (see app.css) show each cell's column name:
  // it is copied from the table's head into the cell's data-label.
  function labelCells(root) {
    root.querySelectorAll("table.stack-on-phone, .invoice-editor table.lines").forEach(function (table) {
      var names = Array.prototype.map.call(table.querySelectorAll("thead th"), function (th) {
        return th.querySelector(".visually-hidden") ? "" : th.textContent.trim();
      });
      table.querySelectorAll("tbody tr").forEach(function (row) {
        Array.prototype.forEach.call(row.children, function (cell, index) {
          if (names[index] && !cell.hasAttribute("data-label")) cell.setAttribute("data-label", names[index]);
        });
      });
    });
  }

  labelCells(document);
  focusFirstInvalid(document);

  // afterSettle fires on each element the swap brought; only those are searched, so a poll or
  // a live-totals swap never pulls the cursor away from where someone is typing.
  var settledFor = null;
  document.addEventListener("htmx:afterSettle", function (event) {
    var root = event.target;
    if (!root || !root.isConnected || !root.querySelector) return;
    labelCells(root.parentElement || root);
    var xhr = event.detail && event.detail.xhr;
    if (xhr && xhr === settledFor) return;
    var here = root.matches('[aria-invalid="true"]') ? root.parentElement : root;
    if (focusFirstInvalid(here)) settledFor = xhr;
  });
})();
