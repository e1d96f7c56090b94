/*
 * Ticks the password rules (<ul data-password-rules>) while the user types into an input
 * marked data-password-strength. The server enforces the same rules
 * (accounts/validators.py); this only gives early feedback. Rules the browser cannot
 * check (such as password history) have no data-rule and are left alone.
 */
(function () {
  "use strict";

  // Same definitions as ComplexityValidator: a symbol is anything that is not a letter or digit.
  var CHECKS = {
    length: function (value, list) {
      return Array.from(value).length >= Number(list.getAttribute("data-min-length") || 10);
    },
    upper: function (value) { return /\p{Lu}/u.test(value); },
    lower: function (value) { return /\p{Ll}/u.test(value); },
    digit: function (value) { return /\p{Nd}/u.test(value); },
    symbol: function (value) { return /[^\p{L}\p{N}]/u.test(value); },
  };

  function update(list, value) {
    list.querySelectorAll("li[data-rule]").forEach(function (item) {
      var check = CHECKS[item.getAttribute("data-rule")];
      if (!check) return;
      var ok = value.length > 0 && check(value, list);
      item.setAttribute("data-state", ok ? "ok" : "todo");
      var icon = item.querySelector("[data-icon]");
      var state = item.querySelector("[data-status]");
      if (icon) icon.textContent = ok ? "\u2713" : "\u2022";
      if (state) state.textContent = ok ? "(done)" : "(not yet)";
    });
  }

  function init() {
    var lists = document.querySelectorAll("[data-password-rules]");
    if (!lists.length) return;
    document.querySelectorAll("input[data-password-strength]").forEach(function (input) {
      input.addEventListener("input", function () {
        lists.forEach(function (list) { update(list, input.value); });
      });
      if (input.value) lists.forEach(function (list) { update(list, input.value); });
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
