/*
 * The privacy panel of the review page (templates/privacy/_review_panel.html, issue #17):
 * "Watch" seeks the page's player to the start of a flagged range, so the approver sees what
 * the scan flagged before deciding. The decisions themselves are plain forms.
 */
(function () {
  "use strict";

  var panel = document.querySelector("[data-privacy-panel]");
  if (!panel) return;

  function seek(seconds) {
    var video = document.querySelector("[data-video]") || document.querySelector("video");
    if (!video) return;
    video.currentTime = seconds;
    if (video.scrollIntoView) video.scrollIntoView({ block: "center" });
  }

  panel.addEventListener("click", function (event) {
    var button = event.target.closest("[data-privacy-seek]");
    if (!button) return;
    seek(parseFloat(button.getAttribute("data-privacy-seek")) || 0);
  });

  window.svl = window.svl || {};
  window.svl.privacySeek = seek;
})();
