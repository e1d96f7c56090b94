/*
 * "My uploads" (templates/videos/mine.html): durations as h:mm:ss, and rows still being
 * transcoded (data-processing) follow the job by polling their API URL every 3 s, until the
 * API says the video is `settled`: percent and the estimate of the time left, and the "Watch"
 * link as soon as the video plays (a long case's start plays while the rest is processed).
 */
(function () {
  "use strict";

  var POLL_MS = 3000;
  var TONES = {
    pending: "badge-gray", processing: "", processed: "badge-amber", published: "badge-green",
    rejected: "badge-red", failed: "badge-red", archived: "badge-gray",
  };

  var clock = window.svl.clock;

  Array.prototype.forEach.call(document.querySelectorAll("[data-duration]"), function (element) {
    element.textContent = clock(element.getAttribute("data-duration"));
  });

  var live = document.querySelector("[data-mine-live]");

  function follow(row) {
    var url = row.getAttribute("data-api-url");
    var badge = row.querySelector("[data-status-badge]");
    var block = row.querySelector("[data-progress-block]");
    var progress = row.querySelector("[data-progress]");
    var progressText = row.querySelector("[data-progress-text]");
    var statusText = row.querySelector("[data-status-text]");
    var failure = row.querySelector("[data-failure]");
    var title = row.querySelector("[data-title]");
    var watch = row.querySelector("[data-watch-link]");

    function poll() {
      window.svl.api("GET", url).then(function (reply) {
        if (reply.status === 404 || reply.status === 403) return; // gone, or no longer ours to see
        if (!reply.ok || !reply.data) {
          window.setTimeout(poll, POLL_MS * 2);
          return;
        }
        show(reply.data);
      });
    }

    function show(data) {
      var percent = Math.max(0, Math.min(100, Number(data.progress) || 0));
      var left = data.settled ? "" : window.svl.timeLeft(data.processing_eta_seconds);
      if (progress) progress.value = percent;
      if (progressText) progressText.textContent = percent + "%";
      if (statusText) statusText.textContent = data.status_display + (left ? " \u00b7 " + left : "");
      if (watch && watch.hidden && data.playable) {
        watch.hidden = false;
        if (live && !data.settled) live.textContent = (data.title || "Video") + ": the start can be watched now.";
      }
      if (watch && !data.playable) watch.hidden = true;
      badge.textContent = data.status_display;
      badge.className = "badge shrink-0 " + (TONES[data.status] || "");
      if (title && data.title && title.textContent !== data.title) title.textContent = data.title;

      if (data.poster_url) {
        var placeholder = row.querySelector("[data-poster-placeholder]");
        if (placeholder) {
          var image = document.createElement("img");
          image.src = data.poster_url;
          image.alt = "";
          image.className = "thumb";
          image.width = 176;
          image.height = 99;
          image.setAttribute("data-poster", "");
          placeholder.replaceWith(image);
        }
      }

      if (!data.settled) {
        window.setTimeout(poll, POLL_MS);
        return;
      }
      row.removeAttribute("data-processing");
      if (block) block.hidden = true;
      if (data.status === "failed" && data.failure_reason) {
        failure.textContent = data.failure_reason;
        failure.hidden = false;
      }
      if (data.duration) {
        var meta = row.querySelector("[data-duration]");
        if (meta) meta.textContent = clock(data.duration);
      }
      if (live) live.textContent = (data.title || "Video") + ": " + data.status_display + ".";
    }

    poll();
  }

  Array.prototype.forEach.call(document.querySelectorAll("[data-video-row][data-processing]"), follow);
})();
