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
})();
