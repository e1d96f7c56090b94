/*
 * Upload page: following one video's transcoding by polling its API URL every 2 s until the
 * API says it is `settled`, then showing how it ended: percent and the estimate of the time
 * left meanwhile, and the "Watch" link once the video plays (a long case's start plays while
 * the rest is processed) or the job is over. See upload-item.js for how the page's scripts fit
 * together.
 */
(function () {
  "use strict";

  var upload = window.svl.upload;
  if (!upload) return;

  var POLL_MS = 2000;
  var Item = upload.Item;

  Item.prototype.poll = function () {
    var self = this;
    window.svl.api("GET", upload.videoApiUrl(this.videoId)).then(function (reply) {
      if (reply.ok && reply.data) {
        self.showProcessing(reply.data);
        return;
      }
      if (reply.status === 404 || reply.status === 403) {
        self.$("[data-processing-status]").textContent = "The video is no longer available to you.";
        self.processingDone = true;
        self.setButtons();
        return;
      }
      self.pollTimer = window.setTimeout(function () { self.poll(); }, POLL_MS * 2);
    });
  };

  Item.prototype.showProcessing = function (data) {
    var self = this;
    var progress = this.$("[data-processing-progress]");
    var status = this.$("[data-processing-status]");
    var finished = data.settled;
    var failed = data.status === "failed" || data.status === "rejected";
    var percent = Math.max(0, Math.min(100, Number(data.progress) || 0));
    if (finished && !failed) percent = 100;

    progress.value = percent;
    // Not in the live status line: the estimate changes at every poll.
    var left = finished ? "" : window.svl.timeLeft(data.processing_eta_seconds);
    this.$("[data-processing-percent]").textContent = percent + "%" + (left ? " \u00b7 " + left : "");
    var text = data.status_display || data.status;
    if (data.status === "processed") text += ": it plays for you now and appears in the library once an approver publishes it.";
    else if (data.status === "published") text += ": it is in the library.";
    else if (!finished && data.playable) text += ": what is processed so far plays now.";
    if (status.textContent !== text) status.textContent = text;
    this.$("[data-watch]").hidden = !(data.playable || finished);

    var failure = this.$("[data-failure]");
    if (failed) {
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
})();
