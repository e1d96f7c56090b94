/*
 * Playlists in the page, through the JSON API (/api/v1/playlists/…). Every form here also
 * works without scripts: these handlers only take over its submit.
 *
 * - [data-disclosure] buttons open and close the panel they control (aria-controls).
 * - form[data-add-to-playlist] (watch page panel, card selection bar): adds the form's videos
 *   (every `video` field, including checkboxes joined with form="…") to the chosen playlist
 *   or to a new one, one API call per video, and reports each refusal with the API's message.
 * - ol[data-reorder] (playlist page): drag an item by its handle, use its Move up / Move down
 *   buttons, or Alt+ArrowUp/ArrowDown on a focused item; the whole order is saved through the
 *   reorder endpoint and the new position is said in a live region. A refused save puts the
 *   last saved order back.
 */
(function () {
  "use strict";

  // Safe to load twice (a page and its base template): the handlers must be added once.
  if (!window.svl || window.svl.playlistsReady) return;
  window.svl.playlistsReady = true;

  function all(selector, scope) {
    return Array.prototype.slice.call((scope || document).querySelectorAll(selector));
  }

  var api = window.svl.api;

  /** The API's own words for a refused call (result: what svl.api resolved to). */
  function errorText(result) {
    if (!result.status) return "The server could not be reached. Check your connection.";
    return window.svl.apiMessage(result.data) || "The server refused it (HTTP " + result.status + ").";
  }

  /** "90", "1:30", "1:02:03" → seconds; "" → null; NaN when unreadable. */
  function parseClock(value) {
    value = String(value || "").trim();
    if (!value) return null;
    var match = /^(?:(\d+):)?(\d+):(\d{1,2}(?:\.\d+)?)$/.exec(value);
    if (match) {
      var seconds = Number(match[3]);
      if (seconds >= 60 || (match[1] && Number(match[2]) >= 60)) return NaN;
      return Number(match[1] || 0) * 3600 + Number(match[2]) * 60 + seconds;
    }
    return /^\d+(\.\d+)?$/.test(value) ? Number(value) : NaN;
  }

  /** "/api/v1/playlists/0/items/" (a URL reversed with id 0) → the same for `id`. */
  function withId(template, id) {
    return template.replace(/\/0\/(?!.*\/0\/)/, "/" + encodeURIComponent(id) + "/");
  }

  // --------------------------------------------------------------- disclosures
  function initDisclosures() {
    all("[data-disclosure]").forEach(function (button) {
      var panel = document.getElementById(button.getAttribute("aria-controls"));
      if (!panel) return;

      function setOpen(open) {
        button.setAttribute("aria-expanded", String(open));
        panel.toggleAttribute("data-open", open);
      }

      setOpen(false);
      button.addEventListener("click", function () {
        var open = button.getAttribute("aria-expanded") !== "true";
        setOpen(open);
        if (open) {
          var first = panel.querySelector("select, input:not([type=hidden]), textarea, button");
          if (first) first.focus();
        }
      });
      panel.addEventListener("keydown", function (event) {
        if (event.key === "Escape") {
          event.stopPropagation();
          setOpen(false);
          button.focus();
        }
      });
    });
  }

  // ------------------------------------------------------------- add to playlist
  function initAddForm(form) {
    var select = form.querySelector("[data-playlist-select]");
    var newTitleField = form.querySelector("[data-new-title]");
    var newTitle = form.querySelector("[name=new_title]");
    var status = form.querySelector("[data-add-status]");
    var submit = form.querySelector("[data-add-submit]");
    var playlistsUrl = form.getAttribute("data-api-playlists");
    var itemsUrl = form.getAttribute("data-api-items");
    var pageUrl = form.getAttribute("data-playlist-url");
    var busy = false;

    function toggleNewTitle() {
      if (newTitleField) newTitleField.hidden = select.value !== "new";
    }

    function say(text, isError, link) {
      status.textContent = "";
      status.classList.toggle("text-red-700", Boolean(isError));
      status.classList.toggle("dark:text-red-400", Boolean(isError));
      status.classList.toggle("font-medium", Boolean(isError));
      status.appendChild(document.createTextNode(text));
      if (link) {
        status.appendChild(document.createTextNode(" "));
        var anchor = document.createElement("a");
        anchor.className = "link";
        anchor.href = link.href;
        anchor.textContent = link.text;
        status.appendChild(anchor);
      }
    }

    function addOption(playlist) {
      // Every playlist menu on the page learns about a new playlist.
      all("[data-playlist-select]").forEach(function (menu) {
        if (menu.querySelector('option[value="' + playlist.id + '"]')) return;
        var option = document.createElement("option");
        option.value = String(playlist.id);
        option.textContent = playlist.title;
        var last = menu.querySelector('option[value="new"]');
        menu.insertBefore(option, last);
      });
    }

    function loadPlaylists() {
      if (!select.hasAttribute("data-load-playlists")) return;
      var url = playlistsUrl + "?mine=1";
      (function page(next, left) {
        api("GET", next).then(function (result) {
          if (!result.ok || !result.data) return;
          (result.data.results || []).forEach(addOption);
          if (result.data.next && left > 0) page(result.data.next, left - 1);
        });
      })(url, 10);
    }

    function markInvalid(field, invalid) {
      if (field) field.setAttribute("aria-invalid", String(invalid));
    }

    function target() {
      var choice = select.value;
      if (choice && choice !== "new") {
        return Promise.resolve({ id: choice, title: select.options[select.selectedIndex].textContent });
      }
      return api("POST", playlistsUrl, { title: newTitle.value.trim() }).then(function (result) {
        if (!result.ok) throw new Error(errorText(result));
        addOption(result.data);
        select.value = String(result.data.id);
        newTitle.value = "";
        toggleNewTitle();
        return result.data;
      });
    }

    select.addEventListener("change", toggleNewTitle);
    toggleNewTitle();
    loadPlaylists();

    all("[data-clip-now]", form).forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-clip-now"));
      button.addEventListener("click", function () {
        var video = document.querySelector("[data-video]");
        if (!video || !input) return;
        input.value = window.svl.clock(video.currentTime || 0);
        markInvalid(input, false);
      });
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (busy) return;
      var fields = all("[name=video]", document).filter(function (field) {
        return field.form === form && (field.type !== "checkbox" || field.checked);
      });
      var videos = [];
      var titles = {};
      fields.forEach(function (field) {
        if (videos.indexOf(field.value) === -1) videos.push(field.value);
        titles[field.value] = field.getAttribute("data-title") || "This video";
      });
      var startField = form.querySelector("[name=start_time]");
      var endField = form.querySelector("[name=end_time]");
      var start = startField ? parseClock(startField.value) : null;
      var end = endField ? parseClock(endField.value) : null;
      var note = form.querySelector("[name=note]");
      markInvalid(startField, Number.isNaN(start));
      markInvalid(endField, Number.isNaN(end));

      if (!videos.length) return say("Tick at least one video first.", true);
      if (Number.isNaN(start) || Number.isNaN(end)) return say("Give clip times as 1:30 or as seconds (90).", true);
      if (start !== null && end !== null && end <= start) {
        markInvalid(endField, true);
        return say("The clip must end after it starts.", true);
      }
      if (!select.value && !newTitle.value.trim()) {
        select.focus();
        return say("Choose a playlist, or give a title for a new one.", true);
      }
      if (select.value === "new" && !newTitle.value.trim()) {
        newTitle.focus();
        return say("Give the new playlist a title.", true);
      }
      if (!select.value) select.value = "new";

      busy = true;
      submit.disabled = true;
      say("Adding…");
      var added = [];
      var refused = [];
      var playlist = null;
      target()
        .then(function (chosen) {
          playlist = chosen;
          var url = withId(itemsUrl, playlist.id);
          return videos.reduce(function (chain, uuid) {
            return chain.then(function () {
              return api("POST", url, {
                video: uuid, start_time: start, end_time: end, note: note ? note.value : "",
              }).then(function (result) {
                if (result.ok) added.push(uuid);
                else refused.push("“" + titles[uuid] + "”: " + errorText(result));
              });
            });
          }, Promise.resolve());
        })
        .then(function () {
          var link = { href: withId(pageUrl, playlist.id), text: "Open “" + playlist.title + "”" };
          var parts = [];
          if (added.length) parts.push("Added " + added.length + (added.length === 1 ? " video" : " videos") + " to “" + playlist.title + "”.");
          if (refused.length) parts.push("Not added: " + refused.join(" "));
          say(parts.join(" "), refused.length > 0, added.length ? link : null);
          if (added.length) {
            if (note) note.value = "";
            form.dispatchEvent(new CustomEvent("svl:playlist-added", { detail: { added: added, playlist: playlist } }));
          }
        })
        .catch(function (error) {
          say(error.message, true);
        })
        .then(function () {
          busy = false;
          submit.disabled = false;
        });
    });
  }

  // ------------------------------------------------------------------- reorder
  function initReorder(list) {
    var url = list.getAttribute("data-reorder-url");
    var live = document.querySelector("[data-reorder-live]");
    var errorBox = document.querySelector("[data-reorder-error]");
    var pending = Promise.resolve();
    var dragged = null;
    var dragStart = null;

    function rows() {
      return all(":scope > [data-item-id]", list);
    }

    function order() {
      return rows().map(function (row) { return Number(row.getAttribute("data-item-id")); });
    }

    var saved = order();

    function title(row) {
      return row.getAttribute("data-title") || "Item";
    }

    function announce(text) {
      if (!live) return;
      live.textContent = "";
      window.setTimeout(function () { live.textContent = text; }, 50);
    }

    function refresh() {
      var list = rows();
      list.forEach(function (row, index) {
        var number = row.querySelector("[data-position]");
        if (number) number.textContent = String(index + 1);
        var spoken = row.querySelector("h3 .sr-only");
        if (spoken) spoken.textContent = index + 1 + ". ";
        var up = row.querySelector('[data-move="up"]');
        var down = row.querySelector('[data-move="down"]');
        if (up) up.setAttribute("aria-disabled", String(index === 0));
        if (down) down.setAttribute("aria-disabled", String(index === list.length - 1));
      });
    }

    function flash(row) {
      row.setAttribute("data-moved", "");
      window.setTimeout(function () { row.removeAttribute("data-moved"); }, 900);
    }

    function restore(ids) {
      var byId = {};
      rows().forEach(function (row) { byId[row.getAttribute("data-item-id")] = row; });
      ids.forEach(function (id) {
        if (byId[id]) list.appendChild(byId[id]);
      });
      refresh();
    }

    function save(row) {
      var wanted = order();
      var position = wanted.indexOf(Number(row.getAttribute("data-item-id"))) + 1;
      announce("“" + title(row) + "” moved to position " + position + " of " + wanted.length + ".");
      pending = pending.then(function () {
        return api("POST", url, { order: wanted }).then(function (result) {
          if (!result.ok) throw new Error(errorText(result));
          saved = wanted;
          if (errorBox) errorBox.hidden = true;
        });
      }).catch(function (error) {
        var focused = document.activeElement;
        restore(saved);
        if (focused && list.contains(focused)) focused.focus();
        if (errorBox) {
          errorBox.textContent = "The new order was not saved: " + error.message + " The previous order is back.";
          errorBox.hidden = false;
        }
        announce("The new order was not saved. The previous order is back.");
      });
    }

    function move(row, delta) {
      var current = rows();
      var index = current.indexOf(row);
      var target = index + delta;
      if (target < 0 || target >= current.length) {
        announce("“" + title(row) + "” is already " + (delta < 0 ? "first." : "last."));
        return;
      }
      var focused = document.activeElement;
      if (delta < 0) current[target].before(row);
      else current[target].after(row);
      // Moving a node blurs what was focused inside it; keep the keyboard where it was.
      if (focused && row.contains(focused)) focused.focus();
      refresh();
      flash(row);
      save(row);
    }

    list.addEventListener("click", function (event) {
      var button = event.target.closest("[data-move]");
      if (!button || !list.contains(button)) return;
      event.preventDefault();
      move(button.closest("[data-item-id]"), button.getAttribute("data-move") === "up" ? -1 : 1);
    });

    list.addEventListener("keydown", function (event) {
      if (!event.altKey || (event.key !== "ArrowUp" && event.key !== "ArrowDown")) return;
      var row = event.target.closest("[data-item-id]");
      if (!row || !list.contains(row)) return;
      event.preventDefault();
      move(row, event.key === "ArrowUp" ? -1 : 1);
    });

    // Drag and drop: only from the handle, so links and text inside an item behave as usual.
    list.addEventListener("pointerdown", function (event) {
      var handle = event.target.closest("[data-drag-handle]");
      if (handle) handle.closest("[data-item-id]").draggable = true;
    });
    list.addEventListener("pointerup", function () {
      rows().forEach(function (row) { row.draggable = false; });
    });
    list.addEventListener("dragstart", function (event) {
      var row = event.target.closest && event.target.closest("[data-item-id]");
      if (!row || !row.draggable) return;
      dragged = row;
      dragStart = order().join(",");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", title(row));
      row.setAttribute("data-dragging", "");
    });
    list.addEventListener("dragover", function (event) {
      if (!dragged) return;
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      var over = event.target.closest && event.target.closest("[data-item-id]");
      if (!over || over === dragged || !list.contains(over)) return;
      var box = over.getBoundingClientRect();
      if (event.clientY > box.top + box.height / 2) over.after(dragged);
      else over.before(dragged);
      refresh();
    });
    list.addEventListener("drop", function (event) {
      if (dragged) event.preventDefault();
    });
    list.addEventListener("dragend", function () {
      if (!dragged) return;
      var row = dragged;
      dragged = null;
      row.removeAttribute("data-dragging");
      row.draggable = false;
      if (order().join(",") !== dragStart) {
        flash(row);
        save(row);
      }
    });

    refresh();
  }

  function init() {
    initDisclosures();
    all("form[data-add-to-playlist]").forEach(initAddForm);
    all("ol[data-reorder]").forEach(initReorder);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
