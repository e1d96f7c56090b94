/*
 * Upload page, governance's consent panel (templates/governance/_upload_consent.html): once a
 * file's details are saved (upload-form.js's "svl:details-saved" event), its consent is
 * recorded with PUT /api/v1/videos/<uuid>/consent/, unless nothing was chosen or it was sent
 * already. The API's refusals are shown next to the two fields.
 */
(function () {
  "use strict";

  var ZERO = "00000000-0000-0000-0000-000000000000";
  var svl = window.svl;

  function slot(panel, field) {
    return panel.querySelector('[data-error-for="consent_' + field + '"]');
  }

  document.addEventListener("svl:details-saved", function (event) {
    var panel = event.target.querySelector("[data-consent-endpoint]");
    if (!panel || !event.detail || !event.detail.videoId) return;
    var status = panel.querySelector('[name="consent_status"]');
    var purpose = panel.querySelector('[name="consent_purpose"]');
    var key = status.value + "|" + purpose.value;
    if (!status.value || panel.getAttribute("data-sent") === key) return;
    var note = panel.querySelector("[data-consent-note]");
    ["status", "purpose"].forEach(function (field) {
      slot(panel, field).hidden = true;
      slot(panel, field).textContent = "";
    });
    status.removeAttribute("aria-invalid");
    purpose.removeAttribute("aria-invalid");
    note.textContent = "Recording consent…";
    var url = panel.getAttribute("data-consent-endpoint").replace(ZERO, event.detail.videoId);
    svl.api("PUT", url, { status: status.value, purpose: purpose.value }).then(function (reply) {
      if (reply.ok) {
        panel.setAttribute("data-sent", key);
        note.textContent = "Consent recorded.";
        return;
      }
      note.textContent = "Consent was not recorded.";
      var shown = false;
      if (reply.status === 400 && reply.data) {
        [["status", status], ["purpose", purpose]].forEach(function (pair) {
          var messages = reply.data[pair[0]];
          if (!messages) return;
          var box = slot(panel, pair[0]);
          box.textContent = svl.flattenErrors(messages).join(" ");
          box.hidden = false;
          pair[1].setAttribute("aria-invalid", "true");
          shown = true;
        });
      }
      if (!shown) note.textContent = svl.apiMessage(reply.data) || "Consent was not recorded (error " + reply.status + ").";
    });
  });
})();
