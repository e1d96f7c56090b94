/*
 * Search and listing pages: sort as soon as the select changes (the Sort button is the
 * no-JS path), and show the filter panel open on wide screens, where it is a sidebar.
 */
(function () {
  "use strict";

  document.querySelectorAll("[data-sort-form]").forEach(function (form) {
    var button = form.querySelector("[data-sort-submit]");
    var select = form.querySelector("select");
    if (!button || !select) return;
    button.hidden = true;
    select.addEventListener("change", function () {
      form.requestSubmit ? form.requestSubmit() : form.submit();
    });
  });

  var filters = document.querySelector("[data-filters]");
  if (filters && window.matchMedia("(min-width: 64rem)").matches) {
    filters.open = true;
  }
})();
