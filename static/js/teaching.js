/*
 * The teaching layer of the watch page (templates/teaching/_watch_panel.html, issue #16), beside
 * static/js/player.js, which owns the player:
 *   - chapters: markers on the seek bar (coloured by step), a chapter menu in the player, the
 *     list under it (?t= links that seek without reloading), "[" and "]" to jump by chapter, and
 *     for the owner and Editors+ "mark chapter here" (a flag button in the player and in the panel;
 *     PUT /api/v1/videos/<id>/chapters/ with the whole list);
 *   - the discussion: comments as markers on the seek bar and in a list that follows playback;
 *     click one to seek; replies one level deep; private notes; the author edits or deletes;
 *   - the transcript of a caption track: follows playback, click a line to seek, find.
 * Every call goes through svl.api; the API decides who may do what (a refused call shows its words).
 */
(function () {
  "use strict";

  var root = document.getElementById("watch-app");
  var panel = document.querySelector("[data-teaching]");
  if (!root || !panel) return;

  var svl = window.svl;
  var clock = svl.clock;
  var config = svl.readJson("teaching-config", {}) || {};
  var chapters = svl.readJson("teaching-chapters", []) || [];
  var player = root.querySelector("[data-player]");
  var video = root.querySelector("[data-video]");
  var controller = root.querySelector("[data-controller]");
  var seekBar = player && player.querySelector(".player-seek");
  var timeRange = player && player.querySelector("media-time-range");
  var tools = player && player.querySelector(".player-tools");
  var comments = [];
  var stepsById = {};
  (config.steps || []).forEach(function (step) { stepsById[step.id] = step; });

  if (!video || !controller) return;

  // ------------------------------------------------------------------ helpers
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function now() {
    return Number(video.currentTime) || 0;
  }

  function duration() {
    var d = Number(video.duration);
    if (isFinite(d) && d > 0) return d;
    return Number(root.getAttribute("data-duration")) || 0;
  }

  /** Seek the way media-chrome's own controls do (player.js keeps a growing case within what is ready). */
  function seek(seconds) {
    controller.dispatchEvent(new CustomEvent("mediaseekrequest", { bubbles: true, composed: true, detail: Math.max(0, seconds) }));
  }

  function showError(box, reply) {
    box.textContent = svl.apiMessage(reply.data) || "That did not work (error " + reply.status + "). Try again.";
    box.hidden = false;
  }

  // ------------------------------------------------------- seek bar markers
  // An overlay over the seek bar's track: chapter ticks and comment dots, placed by percentage.
  var overlay = null;

  function placeOverlay() {
    if (!overlay || !timeRange) return;
    var track = timeRange.shadowRoot && timeRange.shadowRoot.querySelector("#track");
    var bar = seekBar.getBoundingClientRect();
    var box = (track || timeRange).getBoundingClientRect();
    if (!box.width) return;
    overlay.style.left = box.left - bar.left + "px";
    overlay.style.width = box.width + "px";
  }

  function initOverlay() {
    if (!seekBar || !timeRange) return;
    seekBar.style.position = "relative";
    overlay = el("div", "pointer-events-none absolute top-0 bottom-0 z-10");
    overlay.setAttribute("data-seek-markers", "");
    seekBar.appendChild(overlay);
    placeOverlay();
    if (window.ResizeObserver) new ResizeObserver(placeOverlay).observe(seekBar);
    video.addEventListener("loadedmetadata", function () { renderMarkers(); placeOverlay(); });
    document.addEventListener("fullscreenchange", function () { window.setTimeout(placeOverlay, 100); });
  }

  function percent(seconds) {
    var d = duration();
    return d ? Math.min(100, Math.max(0, (seconds / d) * 100)) : 0;
  }

  function renderMarkers() {
    if (!overlay) return;
    overlay.textContent = "";
    chapters.forEach(function (chapter, index) {
      if (index === 0 && chapter.start === 0) return; // the start of the bar marks itself
      var tick = el("span", "absolute top-1/2 h-3 w-0.5 -translate-x-1/2 -translate-y-1/2 rounded-sm bg-white/90 shadow");
      var step = chapter.step && stepsById[chapter.step];
      if (step && step.colour) tick.style.backgroundColor = step.colour;
      tick.style.left = percent(chapter.start) + "%";
      tick.title = clock(chapter.start) + " " + chapter.title;
      tick.setAttribute("data-chapter-marker", String(chapter.start));
      overlay.appendChild(tick);
    });
    comments.forEach(function (comment) {
      if (comment.at === null || comment.parent) return;
      var dot = el("button", "pointer-events-auto absolute -top-1.5 size-3 -translate-x-1/2 rounded-full border border-white shadow " + (comment.private ? "bg-slate-400" : "bg-amber-400"));
      dot.type = "button";
      dot.style.left = percent(comment.at) + "%";
      dot.setAttribute("aria-label", "Comment by " + comment.author + " at " + clock(comment.at));
      dot.title = comment.author + " at " + clock(comment.at) + ": " + comment.body.slice(0, 80);
      dot.setAttribute("data-comment-marker", String(comment.id));
      dot.addEventListener("click", function (event) {
        event.stopPropagation();
        seek(comment.at);
        highlightComment(comment.id, true);
      });
      overlay.appendChild(dot);
    });
  }

  // ------------------------------------------------------------ chapters
  var chapterList = panel.querySelector("[data-chapter-list]");
  var chapterEmpty = panel.querySelector("[data-chapter-empty]");
  var menu = null;
  var menuButton = null;

  function chapterAt(seconds) {
    var found = -1;
    chapters.forEach(function (chapter, index) {
      if (chapter.start <= seconds + 0.05) found = index;
    });
    return found;
  }

  function watchUrl(seconds) {
    var url = new URL(window.location.href);
    url.searchParams.set("t", String(Math.floor(seconds)));
    return url.pathname + url.search;
  }

  function renderChapterList() {
    chapterList.textContent = "";
    chapters.forEach(function (chapter) {
      var item = el("li");
      item.setAttribute("data-chapter", "");
      item.setAttribute("data-start", String(chapter.start));
      var link = el("a", "flex gap-3 rounded-md px-2 py-1.5 text-sm hover:bg-slate-100 dark:hover:bg-slate-800");
      link.href = watchUrl(chapter.start);
      var step = chapter.step && stepsById[chapter.step];
      var time = el("span", "w-14 shrink-0 tabular-nums text-slate-600 dark:text-slate-400", clock(chapter.start));
      var title = el("span", "min-w-0 break-words text-slate-900 dark:text-slate-100", chapter.title);
      link.append(time, title);
      if (step && step.colour) {
        var swatch = el("span", "mt-1.5 size-2.5 shrink-0 rounded-full");
        swatch.style.backgroundColor = step.colour;
        swatch.setAttribute("aria-hidden", "true");
        link.insertBefore(swatch, title);
      }
      item.appendChild(link);
      chapterList.appendChild(item);
    });
    chapterEmpty.hidden = chapters.length > 0;
  }

  // ?t= links of the list seek in place (they still work without scripts).
  chapterList.addEventListener("click", function (event) {
    var item = event.target.closest("[data-chapter]");
    if (!item || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    seek(Number(item.getAttribute("data-start")));
    video.play && video.play().catch(function () {});
  });

  function markCurrentChapter() {
    var index = chapterAt(now());
    Array.prototype.forEach.call(chapterList.querySelectorAll("[data-chapter]"), function (item, i) {
      var current = i === index;
      item.classList.toggle("bg-brand-50", current);
      item.classList.toggle("dark:bg-brand-950/40", current);
      if (current) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
    });
  }

  /** Jump to the next (+1) or previous (-1) chapter; "previous" from inside a chapter restarts it first. */
  function jumpChapter(direction) {
    if (!chapters.length) return;
    var index = chapterAt(now());
    var target;
    if (direction > 0) target = index + 1;
    else target = index >= 0 && now() - chapters[index].start > 2 ? index : index - 1;
    if (target < 0 || target >= chapters.length) return;
    seek(chapters[target].start);
  }

  function initChapterMenu() {
    if (!tools) return;
    menuButton = el("button", "player-button");
    menuButton.type = "button";
    menuButton.setAttribute("aria-label", "Chapters");
    menuButton.setAttribute("aria-haspopup", "true");
    menuButton.setAttribute("aria-expanded", "false");
    menuButton.setAttribute("data-tip", "Chapters ([ and ])");
    menuButton.setAttribute("data-chapter-menu-button", "");
    menuButton.innerHTML = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" aria-hidden="true" focusable="false"><path d="M4 6h2M9 6h11M4 12h2M9 12h11M4 18h2M9 18h11"/></svg>';
    tools.insertBefore(menuButton, tools.firstChild);

    menu = el("div", "absolute right-2 bottom-24 z-20 max-h-64 w-72 max-w-[calc(100%-1rem)] overflow-y-auto rounded-lg bg-slate-900/95 p-1 text-sm text-white shadow-lg ring-1 ring-white/10");
    menu.setAttribute("role", "menu");
    menu.setAttribute("aria-label", "Chapters");
    menu.setAttribute("data-chapter-menu", "");
    menu.hidden = true;
    player.style.position = "relative";
    player.appendChild(menu);

    menuButton.addEventListener("click", function () {
      if (menu.hidden) openMenu();
      else closeMenu();
    });
    document.addEventListener("click", function (event) {
      if (!menu.hidden && !menu.contains(event.target) && !menuButton.contains(event.target)) closeMenu();
    });
    menu.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        closeMenu();
        menuButton.focus();
      }
    });
    updateMenuButton();
  }

  function updateMenuButton() {
    if (menuButton) menuButton.hidden = chapters.length === 0;
  }

  function openMenu() {
    menu.textContent = "";
    var current = chapterAt(now());
    chapters.forEach(function (chapter, index) {
      var item = el("button", "flex w-full gap-3 rounded-md px-2 py-1.5 text-left hover:bg-white/15 focus-visible:bg-white/15" + (index === current ? " font-semibold" : ""));
      item.type = "button";
      item.setAttribute("role", "menuitem");
      item.setAttribute("data-chapter-menu-item", String(chapter.start));
      item.append(el("span", "w-14 shrink-0 tabular-nums text-white/75", clock(chapter.start)), el("span", "min-w-0 break-words", chapter.title));
      item.addEventListener("click", function () {
        seek(chapter.start);
        closeMenu();
      });
      menu.appendChild(item);
    });
    menu.hidden = false;
    menuButton.setAttribute("aria-expanded", "true");
    var first = menu.querySelector("[role=menuitem]");
    if (first) first.focus();
  }

  function closeMenu() {
    menu.hidden = true;
    menuButton.setAttribute("aria-expanded", "false");
  }

  // Mark a chapter here (owner and Editors+).
  var chapterForm = panel.querySelector("[data-chapter-form]");
  function initMarking() {
    if (!config.can_mark || !chapterForm) return;
    var markButton = panel.querySelector("[data-mark-chapter]");
    var at = chapterForm.querySelector("[data-chapter-at]");
    var title = chapterForm.querySelector("[data-chapter-title]");
    var step = chapterForm.querySelector("[data-chapter-step]");
    var error = chapterForm.querySelector("[data-chapter-error]");
    var start = 0;

    function open() {
      start = Math.round(now() * 10) / 10;
      at.textContent = clock(start);
      error.hidden = true;
      chapterForm.hidden = false;
      video.pause && video.pause();
      (step || title).focus();
    }

    markButton.hidden = false;
    markButton.addEventListener("click", open);
    if (tools) {
      var flag = el("button", "player-button");
      flag.type = "button";
      flag.setAttribute("aria-label", "Mark a chapter here");
      flag.setAttribute("data-tip", "Mark chapter here");
      flag.setAttribute("data-mark-chapter-player", "");
      flag.innerHTML = '<svg viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true" focusable="false"><path d="M5 21V4M5 4h11l-2 4 2 4H5"/></svg>';
      flag.addEventListener("click", function () {
        open();
        chapterForm.scrollIntoView({ block: "nearest" });
      });
      tools.appendChild(flag);
    }
    if (step) {
      step.addEventListener("change", function () {
        var chosen = stepsById[step.value];
        if (chosen && (!title.value || title.dataset.fromStep === "1")) {
          title.value = chosen.name;
          title.dataset.fromStep = "1";
        }
      });
      title.addEventListener("input", function () { title.dataset.fromStep = "0"; });
    }
    chapterForm.querySelector("[data-chapter-cancel]").addEventListener("click", function () {
      chapterForm.hidden = true;
    });
    chapterForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var list = chapters.filter(function (chapter) { return chapter.start !== start; }).map(function (chapter) {
        return { start: chapter.start, title: chapter.title, step: chapter.step };
      });
      list.push({ start: start, title: title.value, step: step && step.value ? Number(step.value) : null });
      svl.api("PUT", config.chapters_url, list).then(function (reply) {
        if (!reply.ok) return showError(error, reply);
        chapters = reply.data;
        chapterForm.hidden = true;
        title.value = "";
        if (step) step.value = "";
        renderChapterList();
        renderMarkers();
        updateMenuButton();
        markCurrentChapter();
      });
    });
  }

  // ------------------------------------------------------------ discussion
  var list = panel.querySelector("[data-comment-list]");
  var empty = panel.querySelector("[data-comment-empty]");
  var count = panel.querySelector("[data-comment-count]");
  var form = panel.querySelector("[data-comment-form]");

  function loadComments() {
    return svl.api("GET", config.comments_url).then(function (reply) {
      if (!reply.ok) return;
      comments = reply.data;
      renderComments();
      renderMarkers();
    });
  }

  function commentItem(comment) {
    var item = el("li", "rounded-md border border-slate-200 p-3 transition-colors dark:border-slate-700" + (comment.private ? " border-dashed" : ""));
    item.id = "comment-" + comment.id;
    item.setAttribute("data-comment", String(comment.id));
    if (comment.at !== null) item.setAttribute("data-at", String(comment.at));
    var head = el("div", "flex flex-wrap items-center gap-x-2 gap-y-1 text-sm");
    head.appendChild(el("span", "font-semibold text-slate-900 dark:text-white", comment.author));
    if (comment.at !== null) {
      var at = el("button", "link tabular-nums", clock(comment.at) + (comment.end !== null ? "–" + clock(comment.end) : ""));
      at.type = "button";
      at.setAttribute("aria-label", "Play from " + clock(comment.at));
      at.setAttribute("data-comment-seek", "");
      at.addEventListener("click", function () { seek(comment.at); });
      head.appendChild(at);
    }
    if (comment.private) head.appendChild(el("span", "badge badge-gray", "Private note"));
    var when = el("time", "text-xs text-slate-500 dark:text-slate-400", new Date(comment.created_at).toLocaleString());
    when.dateTime = comment.created_at;
    head.appendChild(when);
    if (comment.edited_at) head.appendChild(el("span", "text-xs text-slate-500 dark:text-slate-400", "(edited)"));
    item.appendChild(head);
    var body = el("p", "mt-1 break-words whitespace-pre-line text-slate-800 dark:text-slate-200");
    body.innerHTML = comment.body_html; // escaped by the server; only its links are markup
    body.setAttribute("data-comment-body", "");
    item.appendChild(body);

    var actions = el("div", "mt-1 flex gap-3 text-sm");
    if (!comment.parent && !comment.private) actions.appendChild(action("Reply", function () { replyForm(item, comment); }));
    if (comment.can_change) {
      actions.appendChild(action("Edit", function () { editForm(item, body, comment); }));
      actions.appendChild(action("Delete", function () {
        if (!window.confirm("Delete this comment" + (comment.parent ? "" : " and its replies") + "?")) return;
        svl.api("DELETE", config.comments_url + comment.id + "/").then(function (reply) {
          if (reply.ok) loadComments();
        });
      }));
    }
    item.appendChild(actions);
    return item;
  }

  function action(label, handler) {
    var button = el("button", "btn-link text-sm", label);
    button.type = "button";
    button.addEventListener("click", handler);
    return button;
  }

  function miniForm(item, value, submitLabel, send) {
    var existing = item.querySelector("[data-mini-form]");
    if (existing) existing.remove();
    var mini = el("form", "mt-2 space-y-2");
    mini.setAttribute("data-mini-form", "");
    var text = el("textarea", "input min-h-16");
    text.maxLength = 5000;
    text.required = true;
    text.value = value;
    text.setAttribute("aria-label", submitLabel);
    var row = el("div", "flex gap-2");
    var ok = el("button", "btn btn-primary", submitLabel);
    ok.type = "submit";
    var cancel = action("Cancel", function () { mini.remove(); });
    row.append(ok, cancel);
    var error = el("p", "alert alert-error");
    error.hidden = true;
    mini.append(text, row, error);
    mini.addEventListener("submit", function (event) {
      event.preventDefault();
      send(text.value).then(function (reply) {
        if (!reply.ok) return showError(error, reply);
        loadComments();
      });
    });
    item.appendChild(mini);
    text.focus();
  }

  function replyForm(item, comment) {
    miniForm(item, "", "Reply", function (text) {
      return svl.api("POST", config.comments_url, { body: text, parent: comment.id, at: null });
    });
  }

  function editForm(item, body, comment) {
    miniForm(item, comment.body, "Save", function (text) {
      return svl.api("PATCH", config.comments_url + comment.id + "/", { body: text });
    });
  }

  function renderComments() {
    list.textContent = "";
    var replies = {};
    comments.forEach(function (comment) {
      if (comment.parent) (replies[comment.parent] = replies[comment.parent] || []).push(comment);
    });
    // Top-level comments in timeline order (those about the whole video first), replies under each.
    var top = comments.filter(function (comment) { return !comment.parent; });
    top.sort(function (a, b) {
      var x = a.at === null ? -1 : a.at;
      var y = b.at === null ? -1 : b.at;
      return x - y || a.id - b.id;
    });
    top.forEach(function (comment) {
      var item = commentItem(comment);
      var children = replies[comment.id] || [];
      if (children.length) {
        var thread = el("ol", "mt-2 space-y-2 border-l-2 border-slate-200 pl-3 dark:border-slate-700");
        thread.setAttribute("aria-label", "Replies");
        children.forEach(function (reply) { thread.appendChild(commentItem(reply)); });
        item.appendChild(thread);
      }
      list.appendChild(item);
    });
    var shared = comments.length;
    count.textContent = shared ? shared + (shared === 1 ? " comment" : " comments") : "";
    empty.hidden = shared > 0;
    followComments(true);
  }

  var activeComment = null;
  function highlightComment(id, scroll) {
    Array.prototype.forEach.call(list.querySelectorAll("[data-comment]"), function (item) {
      var on = item.getAttribute("data-comment") === String(id);
      item.classList.toggle("bg-amber-50", on);
      item.classList.toggle("dark:bg-amber-950/40", on);
      if (on) item.setAttribute("aria-current", "true");
      else item.removeAttribute("aria-current");
      if (on && scroll) list.scrollTop = item.offsetTop - list.offsetTop - 8;
    });
  }

  /** The side panel follows playback: the comment about the moment being played is marked and scrolled to. */
  function followComments(force) {
    var t = now();
    var current = null;
    comments.forEach(function (comment) {
      if (comment.parent || comment.at === null) return;
      var end = comment.end !== null ? comment.end : comment.at + 5;
      // From a second before: a ?t= link to a comment (whole seconds) lands on it.
      if (comment.at - 1 <= t && t < end) current = comment.id;
    });
    if (current !== activeComment || force) {
      activeComment = current;
      highlightComment(current, current !== null);
    }
  }

  function initCommentForm() {
    if (!form) return;
    form.hidden = false;
    var body = form.querySelector("[data-comment-body]");
    var at = form.querySelector("[data-comment-at]");
    var atToggle = form.querySelector("[data-comment-at-toggle]");
    var privateBox = form.querySelector("[data-comment-private]");
    var error = form.querySelector("[data-comment-error]");
    var pinned = null; // the moment when the person started typing

    function updateAt() {
      if (pinned === null) at.textContent = clock(now());
    }
    video.addEventListener("timeupdate", updateAt);
    body.addEventListener("input", function () {
      if (pinned === null && body.value) pinned = now();
      if (!body.value) pinned = null;
      at.textContent = clock(pinned === null ? now() : pinned);
    });
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var moment = pinned === null ? now() : pinned;
      var payload = { body: body.value, at: atToggle.checked ? Math.round(moment * 10) / 10 : null, private: privateBox.checked };
      svl.api("POST", config.comments_url, payload).then(function (reply) {
        if (!reply.ok) return showError(error, reply);
        error.hidden = true;
        body.value = "";
        pinned = null;
        privateBox.checked = false;
        loadComments().then(function () { highlightComment(reply.data.id, true); });
      });
    });
  }

  // ------------------------------------------------------------ transcript
  var transcript = panel.querySelector("[data-transcript]");
  var cues = [];

  function parseVtt(text) {
    var found = [];
    text.replace(/\r/g, "").split(/\n\n+/).forEach(function (block) {
      var lines = block.split("\n");
      var timing = -1;
      for (var i = 0; i < lines.length; i++) {
        if (lines[i].indexOf("-->") !== -1) { timing = i; break; }
      }
      if (timing === -1) return;
      var parts = lines[timing].split("-->");
      var start = vttSeconds(parts[0]);
      var end = vttSeconds(parts[1].trim().split(/\s+/)[0]);
      var holder = document.createElement("div");
      holder.innerHTML = lines.slice(timing + 1).join(" ").replace(/<[^>]*>/g, "");
      found.push({ start: start, end: end, text: (holder.textContent || "").trim() });
    });
    return found;
  }

  function vttSeconds(value) {
    var parts = value.trim().split(":").map(Number);
    var seconds = 0;
    parts.forEach(function (part) { seconds = seconds * 60 + part; });
    return seconds;
  }

  function initTranscript() {
    if (!transcript) return;
    var lines = transcript.querySelector("[data-transcript-list]");
    var find = transcript.querySelector("[data-transcript-find]");
    var status = transcript.querySelector("[data-transcript-status]");
    var trackSelect = transcript.querySelector("[data-transcript-track]");
    var active = -1;

    function load(url) {
      status.textContent = "Loading…";
      fetch(url, { credentials: "same-origin" }).then(function (response) {
        return response.ok ? response.text() : Promise.reject(response.status);
      }).then(function (text) {
        cues = parseVtt(text);
        render();
        status.textContent = cues.length + " lines";
      }, function () {
        status.textContent = "The transcript could not be loaded. Reload the page to try again.";
      });
    }

    function render() {
      lines.textContent = "";
      var needle = find.value.trim().toLowerCase();
      var shown = 0;
      cues.forEach(function (cue, index) {
        if (needle && cue.text.toLowerCase().indexOf(needle) === -1) return;
        shown += 1;
        var item = el("li");
        var button = el("button", "flex w-full gap-3 rounded-md px-2 py-1 text-left text-sm hover:bg-slate-100 dark:hover:bg-slate-800");
        button.type = "button";
        button.setAttribute("data-cue", String(index));
        button.setAttribute("data-start", String(cue.start));
        button.append(el("span", "w-12 shrink-0 tabular-nums text-slate-600 dark:text-slate-400", clock(cue.start)));
        var words = el("span", "min-w-0 break-words text-slate-800 dark:text-slate-200");
        if (needle) {
          var at = cue.text.toLowerCase().indexOf(needle);
          words.append(cue.text.slice(0, at), el("mark", "rounded bg-amber-200 text-slate-900", cue.text.slice(at, at + needle.length)), cue.text.slice(at + needle.length));
        } else {
          words.textContent = cue.text;
        }
        button.appendChild(words);
        button.addEventListener("click", function () { seek(cue.start + 0.01); });
        item.appendChild(button);
        lines.appendChild(item);
      });
      if (needle) status.textContent = shown + (shown === 1 ? " line matches" : " lines match");
      active = -1;
      follow();
    }

    function follow() {
      var t = now();
      var current = -1;
      cues.forEach(function (cue, index) {
        if (cue.start <= t && t < cue.end) current = index;
      });
      if (current === active) return;
      active = current;
      Array.prototype.forEach.call(lines.querySelectorAll("[data-cue]"), function (button) {
        var on = Number(button.getAttribute("data-cue")) === current;
        button.classList.toggle("bg-brand-50", on);
        button.classList.toggle("dark:bg-brand-950/40", on);
        if (on) {
          button.setAttribute("aria-current", "true");
          lines.scrollTop = button.offsetTop - lines.offsetTop - 40;
        } else {
          button.removeAttribute("aria-current");
        }
      });
    }

    find.addEventListener("input", render);
    video.addEventListener("timeupdate", follow);
    video.addEventListener("seeked", follow);
    if (trackSelect) trackSelect.addEventListener("change", function () { load(trackSelect.value); });
    load(lines.getAttribute("data-url"));
  }

  // ------------------------------------------------------- caption upload
  /** Owner and Editors+: upload a WebVTT or SRT file (multipart, so not svl.api), or remove a track; then reload. */
  function initCaptionUpload() {
    var form = panel.querySelector("[data-caption-form]");
    if (!form) return;
    var error = form.querySelector("[data-caption-error]");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      fetch(form.getAttribute("data-url"), {
        method: "POST",
        credentials: "same-origin",
        headers: { Accept: "application/json", "X-CSRFToken": svl.csrfToken() },
        body: new FormData(form),
      }).then(function (response) {
        return response.text().then(function (text) {
          return { ok: response.ok, status: response.status, data: svl.parseJson(text) };
        });
      }, function () {
        return { ok: false, status: 0, data: null };
      }).then(function (reply) {
        if (!reply.ok) return showError(error, reply);
        window.location.reload();
      });
    });
    Array.prototype.forEach.call(panel.querySelectorAll("[data-caption-delete]"), function (button) {
      button.addEventListener("click", function () {
        if (!window.confirm("Remove this caption track?")) return;
        svl.api("DELETE", button.getAttribute("data-caption-delete")).then(function (reply) {
          if (reply.ok) window.location.reload();
        });
      });
    });
  }

  // ------------------------------------------------------------ keys
  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    if (event.key === "]") jumpChapter(1);
    else if (event.key === "[") jumpChapter(-1);
    else return;
    event.preventDefault();
  });

  // ------------------------------------------------------------ start
  initOverlay();
  initChapterMenu();
  initMarking();
  renderChapterList();
  renderMarkers();
  initCommentForm();
  initTranscript();
  initCaptionUpload();
  loadComments();
  video.addEventListener("timeupdate", function () {
    markCurrentChapter();
    followComments(false);
  });
  video.addEventListener("seeked", function () {
    markCurrentChapter();
    followComments(false);
  });

  window.svl.teaching = { seek: seek, jumpChapter: jumpChapter, reloadComments: loadComments };
})();
