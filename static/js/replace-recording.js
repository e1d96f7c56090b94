/*
 * "Replace recording" (templates/videos/_replace_recording.html; the edit page and a rejected
 * video on "My uploads"): the chosen file goes to the video with tus (vendor/tus.min.js),
 * resumable in 8 MiB chunks like the upload page, its Upload-Metadata naming the video as
 * `replaces`. The server asks whether this person may replace this video's recording when the
 * upload is created and again when its last byte lands; its refusals are shown as they come.
 * Then the processing of the new recording is followed through the video's API URL until the
 * API says it is `settled`.
 *
 * An interrupted replacement continues when the same file is chosen again for the same video
 * (the fingerprint names the video, so it never resumes a plain upload of that file).
 * CSP: no inline script or style; widths come from <progress> values.
 */
(function () {
  "use strict";

  var CHUNK_SIZE = 8 * 1024 * 1024;
  var RETRY_DELAYS = [0, 1000, 3000, 5000, 10000];
  var POLL_MS = 2000;
  var megabytes = new Intl.NumberFormat(undefined, { style: "unit", unit: "megabyte", maximumFractionDigits: 1 });

  function setup(root) {
    var $ = function (selector) { return root.querySelector(selector); };
    var input = $("[data-replace-file]");
    var start = $("[data-replace-start]");
    var cancel = $("[data-replace-cancel]");
    var transfer = $("[data-replace-transfer]");
    var progress = $("[data-replace-progress]");
    var percentText = $("[data-replace-percent]");
    var stats = $("[data-replace-stats]");
    var errorBox = $("[data-replace-error]");
    var status = $("[data-replace-status]");
    var endpoint = root.getAttribute("data-endpoint");
    var videoId = root.getAttribute("data-video");
    var apiUrl = root.getAttribute("data-api-url");
    var maxBytes = Number(root.getAttribute("data-max-bytes")) || Infinity;
    var maxLabel = root.getAttribute("data-max-label") || "";
    var upload = null;
    var busy = false;

    function showError(message) {
      errorBox.textContent = message;
      errorBox.hidden = !message;
    }

    function say(message) {
      if (status.textContent !== message) status.textContent = message;
    }

    function setBusy(value) {
      busy = value;
      start.disabled = value;
      input.disabled = value;
      cancel.hidden = !value;
    }

    function showPercent(value) {
      progress.value = value;
      percentText.textContent = value + "%";
    }

    function fingerprint(file) {
      return Promise.resolve(
        ["svl-replace", videoId, file.name, file.type, file.size, file.lastModified, endpoint].join("|"),
      );
    }

    function refusal(error) {
      var response = error && error.originalResponse;
      var code = response ? response.getStatus() : 0;
      var message = response ? window.svl.apiMessage(window.svl.parseJson(response.getBody())) : "";
      if (message) return message;
      if (!code) return "The connection to the server was lost. Press “Upload and replace” again with the same file: it continues where it stopped.";
      if (code === 403) return "You may not replace this recording, or your session has ended. Reload the page and sign in again.";
      if (code === 413) return "The file is larger than the " + maxLabel + " limit.";
      return "The upload was refused (error " + code + ").";
    }

    function follow() {
      window.svl.api("GET", apiUrl).then(function (reply) {
        if (!reply.ok || !reply.data) {
          if (reply.status === 404 || reply.status === 403) {
            say("The video is no longer available to you.");
            return;
          }
          window.setTimeout(follow, POLL_MS * 2);
          return;
        }
        var data = reply.data;
        if (!data.settled) {
          var left = window.svl.timeLeft(data.processing_eta_seconds);
          showPercent(Math.max(0, Math.min(100, Number(data.progress) || 0)));
          say("The new recording is being processed" + (left ? " (" + left + ")" : "") + ". Until it is ready, the video plays the old one.");
          window.setTimeout(follow, POLL_MS);
          return;
        }
        if (data.status === "failed") {
          progress.setAttribute("data-state", "error");
          showError(data.failure_reason || "Processing the new recording failed.");
          say("Processing the new recording failed.");
          return;
        }
        progress.setAttribute("data-state", "done");
        showPercent(100);
        say("The new recording is processed. Reload the page to see its new poster.");
      });
    }

    function onSuccess() {
      setBusy(false);
      upload = null;
      input.value = "";
      stats.textContent = "";
      $("[data-replace-label]").textContent = "Processing the new recording";
      showPercent(0);
      progress.setAttribute("data-state", "active");
      say("Uploaded. The new recording is being processed; until it is ready, the video plays the old one.");
      follow();
    }

    function onError(error) {
      setBusy(false);
      upload = null;
      stats.textContent = "";
      progress.setAttribute("data-state", "error");
      showError(refusal(error));
      say("The recording was not replaced.");
    }

    start.addEventListener("click", function () {
      if (busy) return;
      var file = input.files && input.files[0];
      showError("");
      if (!file) {
        showError("New recording: choose the file to upload.");
        input.focus();
        return;
      }
      if (file.size > maxBytes) {
        showError("New recording: the file is larger than the " + maxLabel + " limit.");
        input.focus();
        return;
      }
      setBusy(true);
      transfer.hidden = false;
      $("[data-replace-label]").textContent = "Uploading the new recording";
      progress.setAttribute("data-state", "active");
      showPercent(0);
      say("Uploading the new recording…");
      upload = new window.tus.Upload(file, {
        endpoint: endpoint,
        chunkSize: CHUNK_SIZE,
        retryDelays: RETRY_DELAYS,
        metadata: { filename: file.name, filetype: file.type || "application/octet-stream", replaces: videoId },
        headers: { "X-CSRFToken": window.svl.csrfToken() },
        fingerprint: fingerprint,
        removeFingerprintOnSuccess: true,
        onProgress: function (sent, total) {
          var value = total ? Math.floor((sent / total) * 100) : 0;
          showPercent(value);
          stats.textContent = megabytes.format(sent / 1e6) + " of " + megabytes.format(total / 1e6);
        },
        onError: onError,
        onSuccess: onSuccess,
      });
      var current = upload;
      upload.findPreviousUploads().then(function (previous) {
        if (upload !== current) return;
        if (previous && previous.length) {
          previous.sort(function (a, b) { return String(b.creationTime).localeCompare(String(a.creationTime)); });
          current.resumeFromPreviousUpload(previous[0]);
          stats.textContent = "Continuing an earlier upload of this file…";
        }
        current.start();
      }, function () {
        if (upload === current) current.start();
      });
    });

    cancel.addEventListener("click", function () {
      if (!upload) return;
      var current = upload;
      upload = null;
      setBusy(false);
      stats.textContent = "";
      say("Cancelled: the recording was not replaced.");
      // abort(true) also sends tus DELETE, so the server drops the partial file.
      current.abort(true).catch(function () {});
      start.focus();
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-replace]"), setup);
})();
