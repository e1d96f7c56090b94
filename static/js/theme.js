/*
 * Loaded synchronously in <head> so the right colour theme is applied before the first
 * paint. The server's preference (data-theme on <html>) is the default; the header switcher
 * stores a per-browser override that is dropped as soon as the saved preference changes.
 * Also marks <html> with `js` so CSS can collapse menus only when scripts can open them.
 */
(function () {
  "use strict";

  var KEY = "svl-theme";
  var root = document.documentElement;
  var query = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var server = root.getAttribute("data-theme") || "system";

  function saved() {
    try {
      var value = JSON.parse(window.localStorage.getItem(KEY) || "null");
      return value && value.server === server ? value.choice : null;
    } catch (error) {
      return null;
    }
  }

  function apply(choice) {
    var dark = choice === "dark" || (choice === "system" && query !== null && query.matches);
    root.classList.toggle("dark", dark);
    root.setAttribute("data-theme-choice", choice);
  }

  function current() {
    return root.getAttribute("data-theme-choice") || server;
  }

  function set(choice) {
    try {
      window.localStorage.setItem(KEY, JSON.stringify({ choice: choice, server: server }));
    } catch (error) {
      // Private mode or storage disabled: the choice lasts for this page only.
    }
    apply(choice);
  }

  root.classList.add("js");
  apply(saved() || server);

  if (query !== null && query.addEventListener) {
    query.addEventListener("change", function () {
      if (current() === "system") apply("system");
    });
  }

  window.siteTheme = { current: current, set: set };
})();
