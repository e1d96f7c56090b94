/*
 * Upload page: sending one file with tus (vendor/tus.min.js), and what the server says it
 * became. An upload of the same file started earlier (on this page or before a reload)
 * continues from where it stopped. See upload-item.js for how the page's scripts fit together.
 */
(function () {
  "use strict";

  var upload = window.svl.upload;
  if (!upload) return;

  var CHUNK_SIZE = 8 * 1024 * 1024;
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];

  var Item = upload.Item;
  var config = upload.config;
  var formatBytes = upload.formatBytes;

  function formatEta(seconds) {
    if (!isFinite(seconds) || seconds < 0) return "";
    seconds = Math.round(seconds);
    if (seconds < 60) return seconds + " s";
    var minutes = Math.floor(seconds / 60);
    if (minutes < 60) return minutes + " min " + (seconds % 60) + " s";
    return Math.floor(minutes / 60) + " h " + (minutes % 60) + " min";
  }

  Item.prototype.start = function () {
    var self = this;
    this.setState("starting");
    this.showError("");
    this.retryable = false;
    this.samples = [];

    if (!this.upload) {
      this.upload = new window.tus.Upload(this.file, {
        endpoint: config.endpoint,
        chunkSize: CHUNK_SIZE,
        retryDelays: RETRY_DELAYS,
        metadata: { filename: this.file.name, filetype: this.file.type || "application/octet-stream" },
        headers: { "X-CSRFToken": window.svl.csrfToken() },
        removeFingerprintOnSuccess: true,
        onProgress: function (sent, total) { self.onProgress(sent, total); },
        onError: function (error) { self.onError(error); },
        onSuccess: function (payload) { self.onSuccess(payload); },
      });
    }

    var tusUpload = this.upload;
    if (tusUpload.url) {
      // Paused or interrupted earlier on this page: tus asks the server for the offset and carries on.
      this.setState("uploading");
      tusUpload.start();
      return;
    }
    tusUpload.findPreviousUploads().then(function (previous) {
      if (self.upload !== tusUpload || self.state !== "starting") return;
      if (previous && previous.length) {
        previous.sort(function (a, b) { return String(b.creationTime).localeCompare(String(a.creationTime)); });
        tusUpload.resumeFromPreviousUpload(previous[0]);
        self.say("continuing an earlier upload of this file.");
        self.$("[data-stats]").textContent = "Continuing an earlier upload…";
      }
      self.setState("uploading");
      tusUpload.start();
    }, function () {
      if (self.state !== "starting") return;
      self.setState("uploading");
      tusUpload.start();
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
    var message = response ? window.svl.apiMessage(window.svl.parseJson(response.getBody())) : "";
    if (!message) {
      if (!status) {
        message = "The connection to the server was lost. Check your network, then press “Try again”: the upload continues where it stopped.";
      } else if (status === 403) {
        message = "You are not allowed to upload, or your session has ended. Reload the page and sign in again.";
      } else if (status === 413) {
        message = "The file is larger than the " + config.maxLabel + " limit.";
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
    upload.pump();
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
    upload.pump();

    if (id) {
      this.received(id, duplicate === "true");
      return;
    }
    // The final response did not carry the id (e.g. stripped by a proxy): ask the upload itself.
    window.svl.api("GET", this.upload.url, undefined, { "Tus-Resumable": "1.0.0" }).then(function (reply) {
      if (reply.ok && reply.data && reply.data.video) {
        self.received(reply.data.video, Boolean(reply.data.duplicate));
      } else if (reply.status) {
        self.showError("The file arrived, but the server did not say which video it became. Look for it under “My uploads”.");
      } else {
        self.showError("The file arrived, but the server could not be asked which video it became. Look for it under “My uploads”.");
      }
    });
  };

  /** The upload became video `id` (or, as a duplicate, matched it): save the details and follow it. */
  Item.prototype.received = function (id, duplicate) {
    this.videoId = id;
    this.duplicate = duplicate;
    if (duplicate) {
      var link = this.$("[data-duplicate-link]");
      link.href = upload.watchUrl(id);
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
    watch.href = upload.watchUrl(id);
    this.$("[data-processing]").hidden = false;
    if (this.saveRequested) this.save();
    else if (!this.savedOnce) this.setSaveStatus(this.dirty ? "Press “Save details” to keep your changes." : "");
    this.poll();
  };

  Item.prototype.pause = function () {
    if (this.state === "waiting") {
      this.setState("paused");
      this.say("paused.");
      upload.pump();
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
    upload.pump();
  };

  Item.prototype.resume = function () {
    this.setState("waiting");
    this.say("waiting to continue.");
    this.$("[data-pause]").focus();
    upload.pump();
  };

  Item.prototype.retry = function () {
    this.resume();
  };

  Item.prototype.cancel = function () {
    var self = this;
    var tusUpload = this.upload;
    var started = tusUpload && tusUpload.url;
    this.setState("cancelled");
    this.form.hidden = true;
    this.saveRequested = false;
    this.dirty = false;
    this.$("[data-stats]").textContent = started ? "Cancelling…" : "Cancelled.";
    this.say("upload cancelled.");
    this.$("[data-remove]").focus();
    if (tusUpload) {
      // abort(true) also sends tus DELETE, so the server drops the partial file.
      tusUpload.abort(true).then(function () {
        self.$("[data-stats]").textContent = "Cancelled. The partial upload was deleted.";
      }, function () {
        self.$("[data-stats]").textContent = "Cancelled. (The server will delete the partial file when it expires.)";
      });
    }
    upload.pump();
  };
})();
