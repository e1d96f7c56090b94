/*
 * Small behaviours shared by every page. Each one enhances markup that already works
 * without scripts: controls that only make sense with JS carry `data-js-only hidden`
 * and are revealed here.
 */
(function () {
  "use strict";

  // Helpers the page scripts share. app.js loads first (deferred scripts run in document
  // order), so they can rely on window.svl; a page script adds its own namespace to it
  // (window.svl.upload, window.svl.storyboard) rather than to window.

  /** Flatten a DRF error body ({detail, field: [..], nested: {..}}) into a list of strings. */
  function flatten(value) {
    if (value == null) return [];
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.reduce(function (all, item) { return all.concat(flatten(item)); }, []);
    if (typeof value === "object") {
      return Object.keys(value).reduce(function (all, key) { return all.concat(flatten(value[key])); }, []);
    }
    return [String(value)];
  }

  function parseJson(text) {
    if (!text) return null;
    try {
      return JSON.parse(text);
    } catch (error) {
      return null;
    }
  }

  window.svl = {
    /** Parse a json_script element, or return `fallback`. */
    readJson: function (id, fallback) {
      var element = document.getElementById(id);
      if (!element) return fallback;
      try {
        return JSON.parse(element.textContent);
      } catch (error) {
        return fallback;
      }
    },
    /** Seconds as m:ss or h:mm:ss. */
    clock: function (seconds) {
      seconds = Math.max(0, Math.floor(Number(seconds) || 0));
      var h = Math.floor(seconds / 3600);
      var m = Math.floor((seconds % 3600) / 60);
      var s = seconds % 60;
      return (h ? h + ":" + String(m).padStart(2, "0") : String(m)) + ":" + String(s).padStart(2, "0");
    },
    /**
     * The API's estimate of the seconds a job still needs (processing_eta_seconds) in words:
     * "about 6 min left", "about 1 h 20 min left", "less than a minute left"; "" when unknown.
     */
    timeLeft: function (seconds) {
      if (seconds === null || seconds === undefined || !(Number(seconds) >= 0)) return "";
      if (seconds < 60) return "less than a minute left";
      var minutes = Math.round(seconds / 60);
      if (minutes < 60) return "about " + minutes + " min left";
      // Past an hour, to the nearest 5 minutes: an estimate, and one that jumps less.
      var h = Math.floor(minutes / 60);
      var m = Math.round((minutes % 60) / 5) * 5;
      if (m === 60) {
        h += 1;
        m = 0;
      }
      return "about " + h + " h" + (m ? " " + m + " min" : "") + " left";
    },
    /**
     * The session's CSRF token, from <meta name="csrf-token"> (templates/base.html writes it
     * for signed-in users; the cookie is HttpOnly, so scripts cannot read that).
     */
    csrfToken: function () {
      var meta = document.querySelector('meta[name="csrf-token"]');
      return (meta && meta.getAttribute("content")) || "";
    },
    /**
     * The one way page scripts call our JSON API (/api/v1/…) with the session.
     *
     *   svl.api(method, url[, body[, headers]]) → Promise<{ok, status, data}>
     *
     * Sends Accept: application/json, `body` (when given, else pass undefined) as JSON, the
     * CSRF token on every method but GET and HEAD, and any extra `headers`. The promise
     * always resolves, never rejects:
     *   ok      response.ok (a 2xx status)
     *   status  the HTTP status; 0 when the server could not be reached
     *   data    the parsed JSON body; null when it is empty or not JSON
     * so callers branch on ok / status and read the API's words with svl.apiMessage(data).
     */
    api: function (method, url, body, extraHeaders) {
      var headers = Object.assign({ Accept: "application/json" }, extraHeaders);
      if (method !== "GET" && method !== "HEAD") headers["X-CSRFToken"] = window.svl.csrfToken();
      if (body !== undefined) headers["Content-Type"] = "application/json";
      return fetch(url, {
        method: method,
        headers: headers,
        credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body),
      }).then(function (response) {
        return response.text().then(function (text) {
          return { ok: response.ok, status: response.status, data: parseJson(text) };
        }, function () {
          return { ok: response.ok, status: response.status, data: null };
        });
      }, function () {
        return { ok: false, status: 0, data: null };
      });
    },
    /**
     * The user-facing text of an API error body: its `detail`, plus the field messages (the
     * generic "Invalid input." detail is left out when field messages say more). "" for none.
     */
    apiMessage: function (data) {
      if (!data || typeof data !== "object") return "";
      var messages = [];
      var detail = flatten(data.detail).join(" ");
      Object.keys(data).forEach(function (key) {
        if (key !== "detail" && key !== "code") messages = messages.concat(flatten(data[key]));
      });
      if (detail && (detail !== "Invalid input." || !messages.length)) messages.unshift(detail);
      return messages.join(" ");
    },
    /** JSON.parse that returns null for an empty or unreadable text. */
    parseJson: parseJson,
    /** Every message of an error value (a string, a list, or {field: [..]}) as a list of strings. */
    flattenErrors: flatten,
    /**
     * Older contract, kept for player.js until its replacement uses svl.api: GET through
     * svl.api; resolves the body, null when the thing is gone or forbidden; rejects otherwise.
     */
    getJson: function (url) {
      return window.svl.api("GET", url).then(function (reply) {
        if (reply.status === 404 || reply.status === 403) return null;
        if (!reply.ok) throw new Error("HTTP " + reply.status);
        return reply.data;
      });
    },
  };

  var TOAST_SECONDS = 6;
  var THEMES = ["system", "light", "dark"];
  var THEME_NAMES = { system: "System", light: "Light", dark: "Dark" };

  function all(selector, scope) {
    return Array.prototype.slice.call((scope || document).querySelectorAll(selector));
  }

  function revealControls() {
    all("[data-js-only]").forEach(function (element) {
      element.removeAttribute("hidden");
    });
  }

  // ------------------------------------------------------------- mobile menu
  function initNavToggle() {
    all("[data-nav-toggle]").forEach(function (button) {
      var panel = document.getElementById(button.getAttribute("aria-controls"));
      if (!panel) return;

      function setOpen(open) {
        button.setAttribute("aria-expanded", String(open));
        panel.toggleAttribute("data-open", open);
      }

      setOpen(false);
      button.addEventListener("click", function () {
        setOpen(button.getAttribute("aria-expanded") !== "true");
      });
      document.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && button.getAttribute("aria-expanded") === "true") {
          setOpen(false);
          button.focus();
        }
      });
    });
  }

  // --------------------------------------------------------------- user menu
  // A disclosure (not an ARIA menu): the panel holds ordinary links and a form.
  function initUserMenu() {
    all("[data-user-menu]").forEach(function (menu) {
      var button = menu.querySelector("[data-user-menu-button]");
      var panel = menu.querySelector("[data-user-menu-panel]");
      if (!button || !panel) return;

      function items() {
        return all("a[href], button:not([disabled])", panel);
      }

      function isOpen() {
        return button.getAttribute("aria-expanded") === "true";
      }

      function setOpen(open) {
        button.setAttribute("aria-expanded", String(open));
        panel.toggleAttribute("data-open", open);
      }

      function focusItem(index) {
        var list = items();
        if (list.length) list[(index + list.length) % list.length].focus();
      }

      setOpen(false);
      button.addEventListener("click", function () {
        setOpen(!isOpen());
      });
      button.addEventListener("keydown", function (event) {
        if (event.key === "ArrowDown" || event.key === "ArrowUp") {
          event.preventDefault();
          setOpen(true);
          focusItem(event.key === "ArrowDown" ? 0 : -1);
        }
      });
      panel.addEventListener("keydown", function (event) {
        var list = items();
        var index = list.indexOf(document.activeElement);
        if (event.key === "ArrowDown") {
          event.preventDefault();
          focusItem(index + 1);
        } else if (event.key === "ArrowUp") {
          event.preventDefault();
          focusItem(index - 1);
        } else if (event.key === "Home") {
          event.preventDefault();
          focusItem(0);
        } else if (event.key === "End") {
          event.preventDefault();
          focusItem(-1);
        }
      });
      menu.addEventListener("keydown", function (event) {
        if (event.key === "Escape" && isOpen()) {
          event.stopPropagation();
          setOpen(false);
          button.focus();
        }
      });
      menu.addEventListener("focusout", function (event) {
        if (isOpen() && event.relatedTarget && !menu.contains(event.relatedTarget)) setOpen(false);
      });
      document.addEventListener("click", function (event) {
        if (isOpen() && !menu.contains(event.target)) setOpen(false);
      });
    });
  }

  // ---------------------------------------------------------- theme switcher
  function initThemeToggle() {
    if (!window.siteTheme) return;
    all("[data-theme-toggle]").forEach(function (button) {
      var label = button.querySelector("[data-theme-label]");

      function show(choice) {
        all("[data-theme-icon]", button).forEach(function (icon) {
          // SVG elements have no `hidden` property; the attribute works for both kinds.
          icon.toggleAttribute("hidden", icon.getAttribute("data-theme-icon") !== choice);
        });
        var next = THEMES[(THEMES.indexOf(choice) + 1) % THEMES.length];
        if (label) label.textContent = "Theme: " + THEME_NAMES[choice] + " (switch to " + THEME_NAMES[next] + ")";
        button.title = "Theme: " + THEME_NAMES[choice];
      }

      show(window.siteTheme.current());
      button.addEventListener("click", function () {
        var choice = THEMES[(THEMES.indexOf(window.siteTheme.current()) + 1) % THEMES.length];
        window.siteTheme.set(choice);
        show(choice);
      });
    });
  }

  // ------------------------------------------------------------------ toasts
  function dismiss(toast) {
    if (toast.hasAttribute("data-leaving")) return;
    var reduced = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    toast.setAttribute("data-leaving", "");
    window.setTimeout(function () {
      toast.remove();
    }, reduced ? 0 : 300);
  }

  function initToasts() {
    all("[data-toast]").forEach(function (toast) {
      var close = toast.querySelector("[data-toast-dismiss]");
      if (close) close.addEventListener("click", function () { dismiss(toast); });

      var level = toast.getAttribute("data-level");
      if (level !== "success" && level !== "info") return;

      // Auto-dismiss, paused while the pointer or keyboard focus is on the toast.
      var timer = null;
      function start() {
        timer = window.setTimeout(function () { dismiss(toast); }, TOAST_SECONDS * 1000);
      }
      function stop() {
        window.clearTimeout(timer);
      }
      toast.addEventListener("mouseenter", stop);
      toast.addEventListener("mouseleave", start);
      toast.addEventListener("focusin", stop);
      toast.addEventListener("focusout", start);
      start();
    });
  }

  // ------------------------------------------------------------------- copy
  /**
   * Copy `text` to the clipboard; resolves when done. Plain-HTTP intranets have no Clipboard
   * API: then a selected, off-screen field inside `container` (default: the page; the player
   * passes itself, since only the full-screen element can take the selection) is copied.
   */
  function copyText(text, container) {
    if (navigator.clipboard && window.isSecureContext) return navigator.clipboard.writeText(text);
    return new Promise(function (resolve, reject) {
      var focused = document.activeElement;
      var area = document.createElement("textarea");
      area.value = text;
      area.setAttribute("readonly", "");
      area.className = "fixed -left-[9999px] top-0";
      (container || document.body).appendChild(area);
      area.select();
      var ok = false;
      try {
        ok = document.execCommand("copy");
      } catch (error) {
        ok = false;
      }
      area.remove();
      if (focused && focused.focus) focused.focus();
      if (ok) resolve(); else reject(new Error("copy failed"));
    });
  }
  window.svl.copyText = copyText;

  function initCopy() {
    all("[data-copy-target]").forEach(function (button) {
      var label = button.querySelector("[data-copy-label]") || button;
      var original = label.textContent;
      var status = document.getElementById(button.getAttribute("data-copy-status") || "");
      button.addEventListener("click", function () {
        var source = document.querySelector(button.getAttribute("data-copy-target"));
        if (!source) return;
        var text = source.getAttribute("data-copy-text") || source.innerText || source.textContent;
        copyText(text.trim()).then(
          function () { report("Copied"); },
          function () { report("Copy failed: select the text and copy it by hand"); }
        );
      });

      function report(message) {
        label.textContent = message;
        if (status) status.textContent = message;
        window.setTimeout(function () {
          label.textContent = original;
          if (status) status.textContent = "";
        }, 2500);
      }
    });
  }

  // ------------------------------------------------------------------ print
  function initPrint() {
    all("[data-print]").forEach(function (button) {
      button.addEventListener("click", function () {
        window.print();
      });
    });
  }

  // ---------------------------------------------------------------- confirm
  // <form data-confirm="…"> asks before submitting; a submit button may carry its own.
  function initConfirm() {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      var submitter = event.submitter;
      var message = (submitter && submitter.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (message && !window.confirm(message)) event.preventDefault();
    });
  }

  function init() {
    revealControls();
    initNavToggle();
    initUserMenu();
    initThemeToggle();
    initToasts();
    initCopy();
    initPrint();
    initConfirm();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
