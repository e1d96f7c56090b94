/*
 * Upload page (templates/videos/upload.html).
 *
 * Each chosen file gets a card cloned from <template id="upload-item-template">: it is sent
 * with tus (resumable, 8 MiB chunks; an interrupted upload continues after a reload when the
 * same file is chosen again), while the user fills in the details form. When the last chunk
 * lands the server answers with X-Video-Id / X-Video-Duplicate; the details are then saved
 * with PATCH /api/v1/videos/<uuid>/ (now, or as soon as the id is known if "Save details"
 * was pressed earlier) and the transcoding is followed by polling the same URL.
 *
 * CSP: no inline script or style; widths come from <progress> values.
 */
(function () {
  "use strict";

  var app = document.getElementById("upload-app");
  if (!app) return;

  var CHUNK_SIZE = 8 * 1024 * 1024;
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];
  var MAX_PARALLEL = 2;
  var POLL_MS = 2000;
  var ZERO_UUID = "00000000-0000-0000-0000-000000000000";
  var DONE_STATUSES = ["processed", "published", "failed", "rejected", "archived"];

  var csrf = app.getAttribute("data-csrf");
  var endpoint = app.getAttribute("data-endpoint");
  var videoApiTemplate = app.getAttribute("data-video-api");
  var watchTemplate = app.getAttribute("data-watch-url");
  var maxBytes = Number(app.getAttribute("data-max-bytes")) || Infinity;
  var maxLabel = app.getAttribute("data-max-label") || "";
  var canCreate = app.getAttribute("data-can-create") === "true";
  var today = app.getAttribute("data-today") || "";
  var extensions = window.svl.readJson("upload-extensions", []).map(function (ext) { return String(ext).toLowerCase(); });
  var knownTags = window.svl.readJson("upload-tags", []);
  var knownTagsLower = knownTags.map(function (tag) { return tag.toLowerCase(); });

  var dropzone = app.querySelector("[data-dropzone]");
  var fileInput = app.querySelector("[data-file-input]");
  var pickButton = app.querySelector("[data-pick]");
  var queue = app.querySelector("[data-queue]");
  var list = app.querySelector("[data-list]");
  var announcer = app.querySelector("[data-announce]");
  var itemTemplate = document.getElementById("upload-item-template");
  var surgeonTemplate = document.getElementById("surgeon-row-template");

  var items = [];
  var counter = 0;
  var rowCounter = 0;

  // ------------------------------------------------------------------ helpers


  function announce(message) {
    // Clearing first makes screen readers repeat an identical message.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = message; }, 50);
  }

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

  function formatEta(seconds) {
    if (!isFinite(seconds) || seconds < 0) return "";
    seconds = Math.round(seconds);
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + (seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  function extensionOf(name) {
    var dot = name.lastIndexOf(".");
    return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  }

  function stem(name) {
    var dot = name.lastIndexOf(".");
    return (dot > 0 ? name.slice(0, dot) : name).trim().slice(0, 200);
  }

  function videoApiUrl(id) {
    return videoApiTemplate.replace(ZERO_UUID, id);
  }

  function watchUrl(id) {
    return watchTemplate.replace(ZERO_UUID, id);
  }

  function splitTags(value) {
    var seen = {};
    return value.split(",").map(function (tag) { return tag.trim(); }).filter(function (tag) {
      var key = tag.toLowerCase();
      if (!tag || seen[key]) return false;
      seen[key] = true;
      return true;
    });
  }

  /** Flatten a DRF error body ({detail, field: [..], nested: {..}}) into readable strings. */
  function flatten(value) {
    if (value == null) return [];
    if (typeof value === "string") return [value];
    if (Array.isArray(value)) return value.reduce(function (all, item) { return all.concat(flatten(item)); }, []);
    if (typeof value === "object") {
      return Object.keys(value).reduce(function (all, key) { return all.concat(flatten(value[key])); }, []);
    }
    return [String(value)];
  }

  function parseBody(text) {
    if (!text) return null;
    try {
      var data = JSON.parse(text);
      return data && typeof data === "object" ? data : null;
    } catch (error) {
      return null;
    }
  }

  /** The user-facing text of an error body: `detail`, plus field messages when detail is generic. */
  function describeBody(data) {
    if (!data) return "";
    var messages = [];
    var detail = flatten(data.detail).join(" ");
    Object.keys(data).forEach(function (key) {
      if (key !== "detail" && key !== "code") messages = messages.concat(flatten(data[key]));
    });
    if (detail && (detail !== "Invalid input." || !messages.length)) messages.unshift(detail);
    return messages.join(" ");
  }

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

  function jsonRequest(method, url, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrf;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    }).then(function (response) {
      return response.text().then(function (text) {
        return { ok: response.ok, status: response.status, data: parseBody(text) };
      });
    });
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
    this.form = this.$("[data-meta]");
    this.form.elements.title.value = stem(this.file.name);

    this.$("[data-pause]").addEventListener("click", function () { self.pause(); });
    this.$("[data-resume]").addEventListener("click", function () { self.resume(); });
    this.$("[data-retry]").addEventListener("click", function () { self.retry(); });
    this.$("[data-cancel]").addEventListener("click", function () { self.cancel(); });
    this.$("[data-remove]").addEventListener("click", function () { self.remove(); });

    var addSurgeon = this.$("[data-add-surgeon]");
    if (addSurgeon) addSurgeon.addEventListener("click", function () { self.addSurgeonRow(true); });

    var tagsInput = this.$("[data-tags]");
    var tagOptions = this.$("[data-tag-options]");
    function refreshTagOptions() {
      // A datalist matches the whole value, so each suggestion repeats what is already typed.
      var value = tagsInput.value;
      var cut = value.lastIndexOf(",");
      var prefix = cut === -1 ? "" : value.slice(0, cut + 1).replace(/\s*$/, " ");
      var chosen = splitTags(cut === -1 ? "" : value.slice(0, cut)).map(function (tag) { return tag.toLowerCase(); });
      tagOptions.textContent = "";
      knownTags.forEach(function (tag) {
        if (chosen.indexOf(tag.toLowerCase()) !== -1) return;
        var option = document.createElement("option");
        option.value = prefix + tag;
        tagOptions.appendChild(option);
      });
    }
    tagsInput.addEventListener("input", refreshTagOptions);
    tagsInput.addEventListener("focus", refreshTagOptions);
    refreshTagOptions();

    this.form.addEventListener("input", function () { self.markDirty(); });
    this.form.addEventListener("change", function () { self.markDirty(); });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.requestSave();
    });
  };

  Item.prototype.markDirty = function () {
    this.dirty = true;
    if (this.savedOnce && !this.saving) this.setSaveStatus("Unsaved changes.");
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

  Item.prototype.invalid = function (message) {
    this.setState("invalid");
    this.$("[data-transfer]").hidden = true;
    this.form.hidden = true;
    this.showError(message);
  };

  // ------------------------------------------------------------- transfer
  Item.prototype.start = function () {
    var self = this;
    this.setState("starting");
    this.showError("");
    this.retryable = false;
    this.samples = [];

    if (!this.upload) {
      this.upload = new window.tus.Upload(this.file, {
        endpoint: endpoint,
        chunkSize: CHUNK_SIZE,
        retryDelays: RETRY_DELAYS,
        metadata: { filename: this.file.name, filetype: this.file.type || "application/octet-stream" },
        headers: { "X-CSRFToken": csrf },
        removeFingerprintOnSuccess: true,
        onProgress: function (sent, total) { self.onProgress(sent, total); },
        onError: function (error) { self.onError(error); },
        onSuccess: function (payload) { self.onSuccess(payload); },
      });
    }

    var upload = this.upload;
    if (upload.url) {
      // Paused or interrupted earlier on this page: tus asks the server for the offset and carries on.
      this.setState("uploading");
      upload.start();
      return;
    }
    upload.findPreviousUploads().then(function (previous) {
      if (self.upload !== upload || self.state !== "starting") return;
      if (previous && previous.length) {
        previous.sort(function (a, b) { return String(b.creationTime).localeCompare(String(a.creationTime)); });
        upload.resumeFromPreviousUpload(previous[0]);
        self.say("continuing an earlier upload of this file.");
        self.$("[data-stats]").textContent = "Continuing an earlier upload…";
      }
      self.setState("uploading");
      upload.start();
    }, function () {
      if (self.state !== "starting") return;
      self.setState("uploading");
      upload.start();
    });
  };

  Item.prototype.onProgress = function (sent, total) {
    var now = Date.now();
    var percent = total ? Math.floor((sent / total) * 100) : 0;
    this.$("[data-progress]").value = percent;
    this.$("[data-percent]").textContent = percent + "%";

    this.samples.push({ t: now, bytes: sent });
    while (this.samples.length > 2 && now - this.samples[0].t > 5000) this.samples.shift();
    var first = this.samples[0];
    var seconds = (now - first.t) / 1000;
    var stats = formatBytes(sent) + " of " + formatBytes(total);
    if (seconds >= 0.5 && sent > first.bytes) {
      var speed = (sent - first.bytes) / seconds;
      stats += " · " + (speed / (1024 * 1024)).toFixed(1) + " MB/s";
      if (sent < total) stats += " · about " + formatEta((total - sent) / speed) + " left";
    }
    this.$("[data-stats]").textContent = stats;

    // Announce every quarter rather than every event.
    var milestone = Math.floor(percent / 25);
    if (milestone > this.lastMilestone && percent < 100) {
      this.lastMilestone = milestone;
      if (percent > 0) this.say(percent + "% uploaded.");
    }
  };

  Item.prototype.onError = function (error) {
    var response = error && error.originalResponse;
    var status = response ? response.getStatus() : 0;
    var message = response ? describeBody(parseBody(response.getBody())) : "";
    if (!message) {
      if (!status) {
        message = "The connection to the server was lost. Check your network, then press “Try again”: the upload continues where it stopped.";
      } else if (status === 403) {
        message = "You are not allowed to upload, or your session has ended. Reload the page and sign in again.";
      } else if (status === 413) {
        message = "The file is larger than the " + maxLabel + " limit.";
      } else if (status >= 500) {
        message = "The server had a problem (error " + status + "). Press “Try again” in a moment.";
      } else {
        message = "The upload was refused (error " + status + ").";
      }
    }
    // Network trouble and server errors may pass; a refusal (bad type, too big, duplicate) will not.
    this.retryable = !status || status >= 500 || status === 409 || status === 423 || status === 429;
    this.setState("error");
    this.showError(message);
    this.$("[data-stats]").textContent = "";
    this.say("upload failed. " + message);
    if (!this.retryable) {
      // Refused for good (wrong content, too big, no permission): progress and details no longer matter.
      this.$("[data-transfer]").hidden = true;
      this.form.hidden = true;
      this.saveRequested = false;
      this.dirty = false;
    }
    pump();
  };

  Item.prototype.onSuccess = function (payload) {
    var self = this;
    var response = payload && payload.lastResponse;
    var id = response && response.getHeader("X-Video-Id");
    var duplicate = response && response.getHeader("X-Video-Duplicate");

    this.$("[data-progress]").value = 100;
    this.$("[data-percent]").textContent = "100%";
    this.$("[data-stats]").textContent = formatBytes(this.file.size) + " uploaded.";
    this.setState("uploaded");
    this.say("upload complete.");
    pump();

    if (id) {
      this.received(id, duplicate === "true");
      return;
    }
    // The final response did not carry the id (e.g. stripped by a proxy): ask the upload itself.
    fetch(this.upload.url, { headers: { "Tus-Resumable": "1.0.0", Accept: "application/json" }, credentials: "same-origin" })
      .then(function (reply) { return reply.ok ? reply.json() : null; })
      .then(function (data) {
        if (data && data.video) {
          self.received(data.video, Boolean(data.duplicate));
        } else {
          self.showError("The file arrived, but the server did not say which video it became. Look for it under “My uploads”.");
        }
      }, function () {
        self.showError("The file arrived, but the server could not be asked which video it became. Look for it under “My uploads”.");
      });
  };

  Item.prototype.received = function (id, duplicate) {
    this.videoId = id;
    this.duplicate = duplicate;
    if (duplicate) {
      var link = this.$("[data-duplicate-link]");
      link.href = watchUrl(id);
      this.$("[data-duplicate]").hidden = false;
      this.form.hidden = true;
      this.saveRequested = false;
      this.dirty = false;
      this.setBadge("Already in library", "amber");
      this.say("this recording is already in the library.");
      this.setButtons();
      return;
    }
    var watch = this.$("[data-watch-link]");
    watch.href = watchUrl(id);
    this.$("[data-processing]").hidden = false;
    if (this.saveRequested) this.save();
    else if (!this.savedOnce) this.setSaveStatus(this.dirty ? "Press “Save details” to keep your changes." : "");
    this.poll();
  };

  Item.prototype.pause = function () {
    if (this.state === "waiting") {
      this.setState("paused");
      this.say("paused.");
      pump();
      return;
    }
    if (!this.upload) return;
    this.upload.abort();
    this.setState("paused");
    this.samples = [];
    var done = Number(this.$("[data-progress]").value) || 0;
    this.$("[data-stats]").textContent = "Paused at " + done + "%. Press Resume to carry on.";
    this.say("paused.");
    this.$("[data-resume]").focus();
    pump();
  };

  Item.prototype.resume = function () {
    this.setState("waiting");
    this.say("waiting to continue.");
    this.$("[data-pause]").focus();
    pump();
  };

  Item.prototype.retry = function () {
    this.resume();
  };

  Item.prototype.cancel = function () {
    var self = this;
    var upload = this.upload;
    var started = upload && upload.url;
    this.setState("cancelled");
    this.form.hidden = true;
    this.saveRequested = false;
    this.dirty = false;
    this.$("[data-stats]").textContent = started ? "Cancelling…" : "Cancelled.";
    this.say("upload cancelled.");
    this.$("[data-remove]").focus();
    if (upload) {
      // abort(true) also sends tus DELETE, so the server drops the partial file.
      upload.abort(true).then(function () {
        self.$("[data-stats]").textContent = "Cancelled. The partial upload was deleted.";
      }, function () {
        self.$("[data-stats]").textContent = "Cancelled. (The server will delete the partial file when it expires.)";
      });
    }
    pump();
  };

  Item.prototype.remove = function () {
    window.clearTimeout(this.pollTimer);
    var index = items.indexOf(this);
    if (index !== -1) items.splice(index, 1);
    this.element.remove();
    queue.hidden = items.length === 0;
    announce(this.file.name + " removed from the list.");
    pickButton.focus();
  };

  // ------------------------------------------------------------ processing
  Item.prototype.poll = function () {
    var self = this;
    jsonRequest("GET", videoApiUrl(this.videoId)).then(function (reply) {
      if (!reply.ok || !reply.data) {
        if (reply.status === 404 || reply.status === 403) {
          self.$("[data-processing-status]").textContent = "The video is no longer available to you.";
          self.processingDone = true;
          self.setButtons();
          return;
        }
        self.pollTimer = window.setTimeout(function () { self.poll(); }, POLL_MS * 2);
        return;
      }
      self.showProcessing(reply.data);
    }, function () {
      self.pollTimer = window.setTimeout(function () { self.poll(); }, POLL_MS * 2);
    });
  };

  Item.prototype.showProcessing = function (data) {
    var self = this;
    var progress = this.$("[data-processing-progress]");
    var status = this.$("[data-processing-status]");
    var finished = DONE_STATUSES.indexOf(data.status) !== -1;
    var percent = Math.max(0, Math.min(100, Number(data.progress) || 0));
    if (finished && data.status !== "failed" && data.status !== "rejected") percent = 100;

    progress.value = percent;
    this.$("[data-processing-percent]").textContent = percent + "%";
    var text = data.status_display || data.status;
    if (data.status === "processed") text += ": it plays for you now and appears in the library once an approver publishes it.";
    else if (data.status === "published") text += ": it is in the library.";
    if (status.textContent !== text) status.textContent = text;

    var failure = this.$("[data-failure]");
    if (data.status === "failed" || data.status === "rejected") {
      progress.setAttribute("data-state", "error");
      failure.textContent = data.failure_reason || data.review_note || "Processing failed.";
      failure.hidden = false;
    } else {
      progress.setAttribute("data-state", finished ? "done" : "active");
      failure.hidden = true;
    }

    if (finished) {
      this.processingDone = true;
      var tone = data.status === "published" ? "green" : data.status === "processed" ? "amber" : data.status === "archived" ? "gray" : "red";
      this.setBadge(data.status_display || data.status, tone);
      this.setButtons();
      return;
    }
    this.pollTimer = window.setTimeout(function () { self.poll(); }, POLL_MS);
  };

  // --------------------------------------------------------------- details
  Item.prototype.addSurgeonRow = function (focus) {
    var self = this;
    var row = cloneTemplate(surgeonTemplate, "__R__", "r" + (++rowCounter));
    this.$("[data-surgeon-rows]").appendChild(row);
    row.querySelector("[data-remove-surgeon]").addEventListener("click", function () {
      row.remove();
      self.markDirty();
      var add = self.$("[data-add-surgeon]");
      if (add) add.focus();
    });
    this.markDirty();
    if (focus) row.querySelector("[data-surgeon]").focus();
  };

  Item.prototype.setSaveStatus = function (message) {
    this.$("[data-save-status]").textContent = message;
  };

  Item.prototype.clearErrors = function () {
    var form = this.form;
    Array.prototype.forEach.call(form.querySelectorAll("[data-error-for]"), function (element) {
      element.textContent = "";
      element.hidden = true;
    });
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (element) {
      element.removeAttribute("aria-invalid");
    });
    var box = this.$("[data-form-error]");
    box.textContent = "";
    box.hidden = true;
  };

  /** Show {field: [messages]} next to the fields; anything else goes into the form's alert. */
  Item.prototype.showErrors = function (errors) {
    var form = this.form;
    var leftover = [];
    var firstInvalid = null;
    Object.keys(errors).forEach(function (field) {
      if (field === "code") return;
      var messages = flatten(errors[field]);
      var slot = form.querySelector('[data-error-for="' + field + '"]');
      if (field === "detail" || !slot) {
        if (field !== "detail" || messages.join(" ") !== "Invalid input.") leftover = leftover.concat(messages);
        return;
      }
      slot.textContent = messages.join(" ");
      slot.hidden = false;
      var control = field === "surgeons" ? form.querySelector("[data-surgeon]") : form.elements[field];
      if (control && control.setAttribute) {
        control.setAttribute("aria-invalid", "true");
        if (!firstInvalid) firstInvalid = control;
      }
    });
    if (leftover.length) {
      var box = this.$("[data-form-error]");
      box.textContent = leftover.join(" ");
      box.hidden = false;
      if (!firstInvalid) firstInvalid = box;
    }
    if (firstInvalid) {
      if (firstInvalid.hasAttribute("role")) firstInvalid.setAttribute("tabindex", "-1");
      firstInvalid.focus();
    }
  };

  Item.prototype.collect = function () {
    var form = this.form;
    var values = {
      title: form.elements.title.value.trim(),
      description: form.elements.description.value.trim(),
      category: form.elements.category.value.trim(),
      tags: splitTags(form.elements.tags.value),
      surgeons: Array.prototype.map.call(form.querySelectorAll("[data-surgeon-row]"), function (row) {
        return { id: Number(row.querySelector("[data-surgeon]").value), role: row.querySelector("[data-role]").value };
      }),
      date_of_surgery: form.elements.date_of_surgery.value,
    };
    var errors = {};
    if (!values.title) errors.title = ["A title is required."];
    if (values.date_of_surgery && today && values.date_of_surgery > today) {
      errors.date_of_surgery = ["The date of surgery cannot be in the future."];
    }
    if (!canCreate && values.tags.length) {
      var unknown = values.tags.filter(function (tag) { return knownTagsLower.indexOf(tag.toLowerCase()) === -1; });
      if (unknown.length) errors.tags = ["Unknown tag(s): " + unknown.join(", ") + ". Choose from the suggestions, or ask an editor to add them."];
    }
    var ids = values.surgeons.map(function (entry) { return entry.id; });
    if (ids.some(function (id, index) { return ids.indexOf(id) !== index; })) {
      errors.surgeons = ["Each surgeon can be listed once."];
    }

    // Omit empty optional fields, unless an earlier save set them (then clear them).
    var body = { title: values.title };
    var sent = this.sent;
    [["description", ""], ["category", ""], ["tags", []], ["surgeons", []], ["date_of_surgery", null]].forEach(function (pair) {
      var name = pair[0];
      var value = values[name];
      var empty = Array.isArray(value) ? value.length === 0 : !value;
      if (!empty) body[name] = value;
      else if (sent[name]) body[name] = pair[1];
    });
    return { body: body, errors: errors };
  };

  Item.prototype.requestSave = function () {
    this.clearErrors();
    var collected = this.collect();
    if (Object.keys(collected.errors).length) {
      this.showErrors(collected.errors);
      this.setSaveStatus("Please correct the details marked above.");
      return;
    }
    if (!this.videoId) {
      this.saveRequested = true;
      this.setSaveStatus("The details will be saved as soon as the upload finishes.");
      return;
    }
    this.save();
  };

  Item.prototype.save = function () {
    var self = this;
    if (this.duplicate || !this.videoId) return;
    if (this.saving) {
      this.saveRequested = true;
      return;
    }
    this.clearErrors();
    var collected = this.collect();
    if (Object.keys(collected.errors).length) {
      this.saveRequested = false;
      this.showErrors(collected.errors);
      this.setSaveStatus("Please correct the details marked above.");
      return;
    }
    this.saveRequested = false;
    this.saving = true;
    this.dirty = false;
    var button = this.$("[data-save]");
    button.disabled = true;
    this.setSaveStatus("Saving…");
    jsonRequest("PATCH", videoApiUrl(this.videoId), collected.body).then(function (reply) {
      self.saving = false;
      button.disabled = false;
      if (reply.ok) {
        self.savedOnce = true;
        ["description", "category", "tags", "surgeons", "date_of_surgery"].forEach(function (name) {
          self.sent[name] = name in collected.body && !(Array.isArray(collected.body[name]) ? !collected.body[name].length : !collected.body[name]);
        });
        self.setSaveStatus(self.dirty ? "Saved, but you have changed something since: save again." : "Details saved.");
        if (self.saveRequested) self.save();
        return;
      }
      self.dirty = true;
      if (reply.status === 400 && reply.data) {
        self.showErrors(reply.data);
        self.setSaveStatus("The details were not saved: please correct them.");
      } else {
        var message = describeBody(reply.data) || "The details could not be saved (error " + reply.status + ").";
        self.showErrors({ detail: message });
        self.setSaveStatus("The details were not saved.");
      }
    }, function () {
      self.saving = false;
      self.dirty = true;
      button.disabled = false;
      self.showErrors({ detail: "The server could not be reached, so the details were not saved. Check your connection and press “Save details” again." });
      self.setSaveStatus("The details were not saved.");
    });
  };

  Item.prototype.busy = function () {
    if (this.state === "uploading" || this.state === "starting" || this.state === "waiting" || this.state === "paused") return true;
    if (this.state === "error" && this.retryable) return true;
    if (this.saving || this.saveRequested) return true;
    return this.state === "uploaded" && !this.duplicate && this.dirty;
  };

  // ------------------------------------------------------------------ queue
  function pump() {
    var running = items.filter(function (item) { return item.state === "uploading" || item.state === "starting"; }).length;
    items.forEach(function (item) {
      if (running < MAX_PARALLEL && item.state === "waiting") {
        running += 1;
        item.start();
      }
    });
  }

  function addFiles(fileList) {
    var files = Array.prototype.slice.call(fileList || []);
    if (!files.length) return;
    if (!window.tus || !window.tus.isSupported) {
      announce("This browser cannot upload files here. Use a current version of Firefox, Chrome, Edge or Safari.");
      return;
    }
    queue.hidden = false;
    var added = 0;
    var refused = 0;
    files.forEach(function (file) {
      var item = new Item(file);
      list.appendChild(item.element);
      items.push(item);
      var ext = extensionOf(file.name);
      var twin = items.some(function (other) {
        return other !== item && other.busy() && other.file.name === file.name && other.file.size === file.size &&
          other.file.lastModified === file.lastModified;
      });
      if (extensions.length && extensions.indexOf(ext) === -1) {
        item.invalid("Only " + extensions.map(function (e) { return e.toUpperCase(); }).join(", ") + " files can be uploaded" +
          (ext ? "; this one is " + ext.toUpperCase() + "." : "; this file has no extension."));
        refused += 1;
      } else if (file.size === 0) {
        item.invalid("The file is empty.");
        refused += 1;
      } else if (file.size > maxBytes) {
        item.invalid("The file is " + formatBytes(file.size) + ", more than the " + maxLabel + " limit.");
        refused += 1;
      } else if (twin) {
        item.invalid("This file is already being uploaded above.");
        refused += 1;
      } else {
        item.setState("waiting");
        added += 1;
      }
    });
    var parts = [];
    if (added) parts.push(added === 1 ? "1 file added." : added + " files added.");
    if (refused) parts.push(refused === 1 ? "1 file cannot be uploaded: see its message." : refused + " files cannot be uploaded: see their messages.");
    announce(parts.join(" "));
    pump();
  }

  // ------------------------------------------------------------- pickers
  pickButton.addEventListener("click", function () { fileInput.click(); });
  fileInput.addEventListener("change", function () {
    addFiles(fileInput.files);
    fileInput.value = "";
  });

  var dragDepth = 0;
  function hasFiles(event) {
    var types = event.dataTransfer && event.dataTransfer.types;
    return types && Array.prototype.indexOf.call(types, "Files") !== -1;
  }
  dropzone.addEventListener("dragenter", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    dropzone.setAttribute("data-dragover", "");
  });
  dropzone.addEventListener("dragover", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = "copy";
  });
  dropzone.addEventListener("dragleave", function () {
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) dropzone.removeAttribute("data-dragover");
  });
  dropzone.addEventListener("drop", function (event) {
    event.preventDefault();
    event.stopPropagation();
    dragDepth = 0;
    dropzone.removeAttribute("data-dragover");
    addFiles(event.dataTransfer && event.dataTransfer.files);
  });
  // A file dropped beside the zone would otherwise replace this page (and its uploads).
  window.addEventListener("dragover", function (event) {
    if (hasFiles(event)) event.preventDefault();
  });
  window.addEventListener("drop", function (event) {
    if (!hasFiles(event)) return;
    event.preventDefault();
    addFiles(event.dataTransfer.files);
  });

  window.addEventListener("beforeunload", function (event) {
    if (!items.some(function (item) { return item.busy(); })) return;
    event.preventDefault();
    event.returnValue = "";
  });
})();
