/*
 * Upload page (templates/videos/upload.html): the page's settings and one file's card.
 *
 * Each chosen file gets a card cloned from <template id="upload-item-template">: it is sent
 * with tus (resumable, 8 MiB chunks; an interrupted upload continues after a reload when the
 * same file is chosen again), while the user fills in the details form. When the last chunk
 * lands the server answers with X-Video-Id / X-Video-Duplicate; the details are then saved
 * with PATCH /api/v1/videos/<uuid>/ (now, or as soon as the id is known if "Save details"
 * was pressed earlier) and the transcoding is followed by polling the same URL.
 *
 * The page's scripts share window.svl.upload and load in this order (deferred, after app.js):
 *   upload-item.js      settings from #upload-app, shared formatting, Item: one file's card
 *                       (state, badge, buttons, messages)
 *   upload-transfer.js  Item: sending the file with tus (earlier uploads resumed, progress,
 *                       errors, pause, resume, cancel) and what the server says it became
 *   upload-form.js      Item: the details form (tag suggestions, surgeon rows, checks, PATCH)
 *   upload-status.js    Item: following the transcoding through the video's API URL
 *   upload-queue.js     the list: adding files, at most two uploads at a time, file pickers,
 *                       drag and drop, the warning before leaving with work in progress
 * Each adds methods to svl.upload.Item.prototype or functions to svl.upload; they call each
 * other only once the page is running, when all of them are loaded.
 *
 * CSP: no inline script or style; widths come from <progress> values.
 */
(function () {
  "use strict";

  var app = document.getElementById("upload-app");
  if (!app) return;

  var ZERO_UUID = "00000000-0000-0000-0000-000000000000";
  var videoApiTemplate = app.getAttribute("data-video-api");
  var watchTemplate = app.getAttribute("data-watch-url");
  var itemTemplate = document.getElementById("upload-item-template");
  var knownTags = window.svl.readJson("upload-tags", []);

  var config = {
    endpoint: app.getAttribute("data-endpoint"),
    maxBytes: Number(app.getAttribute("data-max-bytes")) || Infinity,
    maxLabel: app.getAttribute("data-max-label") || "",
    canCreate: app.getAttribute("data-can-create") === "true",
    today: app.getAttribute("data-today") || "",
    extensions: window.svl.readJson("upload-extensions", []).map(function (ext) { return String(ext).toLowerCase(); }),
    knownTags: knownTags,
    knownTagsLower: knownTags.map(function (tag) { return tag.toLowerCase(); }),
  };

  var counter = 0;

  function formatBytes(bytes) {
    if (!isFinite(bytes)) return "";
    var units = ["bytes", "KB", "MB", "GB", "TB"];
    var value = bytes;
    var unit = 0;
    while (value >= 1024 && unit < units.length - 1) {
      value /= 1024;
      unit += 1;
    }
    return (unit === 0 ? String(value) : value.toFixed(value < 10 ? 1 : 0)) + " " + units[unit];
  }

  /** A <template>'s first element, with `token` in its ids (and the attributes naming ids) replaced. */
  function cloneTemplate(template, token, value) {
    var fragment = template.content.cloneNode(true);
    var attributes = ["id", "for", "list", "aria-labelledby", "aria-describedby", "aria-controls"];
    Array.prototype.forEach.call(fragment.querySelectorAll("*"), function (element) {
      attributes.forEach(function (name) {
        var current = element.getAttribute(name);
        if (current && current.indexOf(token) !== -1) element.setAttribute(name, current.split(token).join(value));
      });
    });
    return fragment.firstElementChild;
  }

  function videoApiUrl(id) {
    return videoApiTemplate.replace(ZERO_UUID, id);
  }

  function watchUrl(id) {
    return watchTemplate.replace(ZERO_UUID, id);
  }

  // ------------------------------------------------------------------ one file
  function Item(file) {
    this.id = ++counter;
    this.file = file;
    this.state = "waiting"; // waiting | starting | uploading | paused | uploaded | error | cancelled | invalid
    this.upload = null;
    this.videoId = null;
    this.duplicate = false;
    this.saveRequested = false;
    this.saving = false;
    this.savedOnce = false;
    this.dirty = false;
    this.sent = {};
    this.samples = [];
    this.lastMilestone = -1;
    this.pollTimer = null;
    this.processingDone = false;
    this.build();
  }

  Item.prototype.build = function () {
    var self = this;
    var element = cloneTemplate(itemTemplate, "__N__", String(this.id));
    this.element = element;
    this.$ = function (selector) { return element.querySelector(selector); };

    this.$("[data-name]").textContent = this.file.name;
    this.$("[data-size]").textContent = formatBytes(this.file.size);
    this.$("[data-watch-name]").textContent = ": " + this.file.name;

    this.$("[data-pause]").addEventListener("click", function () { self.pause(); });
    this.$("[data-resume]").addEventListener("click", function () { self.resume(); });
    this.$("[data-retry]").addEventListener("click", function () { self.retry(); });
    this.$("[data-cancel]").addEventListener("click", function () { self.cancel(); });
    this.$("[data-remove]").addEventListener("click", function () { self.remove(); });

    this.buildForm();
  };

  Item.prototype.setBadge = function (text, tone) {
    var badge = this.$("[data-badge]");
    badge.textContent = text;
    badge.className = "badge shrink-0" + (tone ? " badge-" + tone : "");
  };

  Item.prototype.say = function (message) {
    var live = this.$("[data-live]");
    live.textContent = this.file.name + ": " + message;
  };

  Item.prototype.showError = function (message) {
    var box = this.$("[data-error]");
    box.textContent = message;
    box.hidden = !message;
  };

  Item.prototype.setButtons = function () {
    var state = this.state;
    this.$("[data-pause]").hidden = !(state === "uploading" || state === "starting" || state === "waiting");
    this.$("[data-resume]").hidden = state !== "paused";
    this.$("[data-retry]").hidden = !(state === "error" && this.retryable);
    this.$("[data-cancel]").hidden = !(state === "uploading" || state === "starting" || state === "waiting" ||
      state === "paused" || (state === "error" && this.retryable));
    this.$("[data-remove-row]").hidden = !(state === "error" || state === "cancelled" || state === "invalid" ||
      (state === "uploaded" && (this.processingDone || this.duplicate)));
  };

  Item.prototype.setState = function (state) {
    this.state = state;
    var progress = this.$("[data-progress]");
    var tones = {
      waiting: ["Waiting", "gray"], starting: ["Starting", "gray"], uploading: ["Uploading", ""],
      paused: ["Paused", "amber"], uploaded: ["Uploaded", "green"], error: ["Failed", "red"],
      cancelled: ["Cancelled", "gray"], invalid: ["Not uploaded", "red"],
    };
    this.setBadge(tones[state][0], tones[state][1]);
    progress.setAttribute("data-state", state === "uploaded" ? "done" : state === "error" ? "error" : state === "paused" ? "paused" : "active");
    this.setButtons();
  };

  /** Refused before sending (type, size, duplicate in the list): only the message stays. */
  Item.prototype.invalid = function (message) {
    this.setState("invalid");
    this.$("[data-transfer]").hidden = true;
    this.form.hidden = true;
    this.showError(message);
  };

  /** Leaving the page now would lose something: an upload under way or details not saved. */
  Item.prototype.busy = function () {
    if (this.state === "uploading" || this.state === "starting" || this.state === "waiting" || this.state === "paused") return true;
    if (this.state === "error" && this.retryable) return true;
    if (this.saving || this.saveRequested) return true;
    return this.state === "uploaded" && !this.duplicate && this.dirty;
  };

  window.svl.upload = {
    app: app,
    config: config,
    Item: Item,
    formatBytes: formatBytes,
    cloneTemplate: cloneTemplate,
    videoApiUrl: videoApiUrl,
    watchUrl: watchUrl,
  };
})();
