/*
 * Upload page: one file's details form (title, description, category, date, tags, surgeons).
 * The checks the page can make at once are made here; the API makes them all again and its
 * refusals are shown next to the fields. Saved with PATCH /api/v1/videos/<uuid>/ once the
 * upload has become a video. See upload-item.js for how the page's scripts fit together.
 */
(function () {
  "use strict";

  var upload = window.svl.upload;
  if (!upload) return;

  var Item = upload.Item;
  var config = upload.config;
  var surgeonTemplate = document.getElementById("surgeon-row-template");
  var rowCounter = 0;

  /** The file name without its extension: the title until the user gives one. */
  function stem(name) {
    var dot = name.lastIndexOf(".");
    return (dot > 0 ? name.slice(0, dot) : name).trim().slice(0, 200);
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

  // ----------------------------------------------------------- kept details (issue #15)
  // The words typed for a file are kept in this browser under the file's identity (as tus keys
  // the bytes), so a reload mid-upload brings back both: choose the same file again and the
  // upload continues with its details. Forgotten once they are saved to the video.
  var KEPT_PREFIX = "svl:upload-details:";

  Item.prototype.keptKey = function () {
    return KEPT_PREFIX + [this.file.name, this.file.size, this.file.lastModified].join(":");
  };

  Item.prototype.keep = function () {
    var form = this.form;
    var details = {
      title: form.elements.title.value,
      description: form.elements.description.value,
      category: form.elements.category.value,
      tags: form.elements.tags.value,
      date_of_surgery: form.elements.date_of_surgery.value,
      surgeons: Array.prototype.map.call(form.querySelectorAll("[data-surgeon-row]"), function (row) {
        return { id: row.querySelector("[data-surgeon]").value, role: row.querySelector("[data-role]").value };
      }),
    };
    try { window.localStorage.setItem(this.keptKey(), JSON.stringify(details)); } catch (error) { /* private mode: not kept */ }
  };

  Item.prototype.forgetKept = function () {
    try { window.localStorage.removeItem(this.keptKey()); } catch (error) { /* nothing kept */ }
  };

  /** Put back the details kept for this file; true when there were some. */
  Item.prototype.restoreKept = function () {
    var details = null;
    try { details = JSON.parse(window.localStorage.getItem(this.keptKey()) || "null"); } catch (error) { details = null; }
    if (!details || typeof details !== "object") return false;
    var form = this.form;
    ["title", "description", "category", "tags", "date_of_surgery"].forEach(function (name) {
      if (typeof details[name] === "string" && form.elements[name]) form.elements[name].value = details[name];
    });
    var self = this;
    (Array.isArray(details.surgeons) ? details.surgeons : []).forEach(function (entry) {
      self.addSurgeonRow(false);
      var rows = form.querySelectorAll("[data-surgeon-row]");
      var row = rows[rows.length - 1];
      row.querySelector("[data-surgeon]").value = String(entry.id || "");
      row.querySelector("[data-role]").value = String(entry.role || "primary");
    });
    return true;
  };

  Item.prototype.buildForm = function () {
    var self = this;
    this.form = this.$("[data-meta]");
    this.form.elements.title.value = stem(this.file.name);

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
      config.knownTags.forEach(function (tag) {
        if (chosen.indexOf(tag.toLowerCase()) !== -1) return;
        var option = document.createElement("option");
        option.value = prefix + tag;
        tagOptions.appendChild(option);
      });
    }
    tagsInput.addEventListener("input", refreshTagOptions);
    tagsInput.addEventListener("focus", refreshTagOptions);
    refreshTagOptions();

    if (this.restoreKept()) {
      this.markDirty();
      this.setSaveStatus("The details you typed before the page was reloaded are back.");
    }
    this.form.addEventListener("input", function () { self.markDirty(); });
    this.form.addEventListener("change", function () { self.markDirty(); });
    this.form.addEventListener("submit", function (event) {
      event.preventDefault();
      self.requestSave();
    });
  };

  Item.prototype.markDirty = function () {
    this.dirty = true;
    this.keep();
    if (this.savedOnce && !this.saving) this.setSaveStatus("Unsaved changes.");
  };

  Item.prototype.addSurgeonRow = function (focus) {
    var self = this;
    var row = upload.cloneTemplate(surgeonTemplate, "__R__", "r" + (++rowCounter));
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
      var messages = window.svl.flattenErrors(errors[field]);
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

  /** The form's values as the PATCH body, and the errors the page can see without asking. */
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
    if (values.date_of_surgery && config.today && values.date_of_surgery > config.today) {
      errors.date_of_surgery = ["The date of surgery cannot be in the future."];
    }
    if (!config.canCreate && values.tags.length) {
      var unknown = values.tags.filter(function (tag) { return config.knownTagsLower.indexOf(tag.toLowerCase()) === -1; });
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

  /** "Save details": now if the upload is a video already, else as soon as it becomes one. */
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
    window.svl.api("PATCH", upload.videoApiUrl(this.videoId), collected.body).then(function (reply) {
      self.saving = false;
      button.disabled = false;
      if (reply.ok) {
        self.savedOnce = true;
        ["description", "category", "tags", "surgeons", "date_of_surgery"].forEach(function (name) {
          self.sent[name] = name in collected.body && !(Array.isArray(collected.body[name]) ? !collected.body[name].length : !collected.body[name]);
        });
        self.setSaveStatus(self.dirty ? "Saved, but you have changed something since: save again." : "Details saved.");
        if (!self.dirty) self.forgetKept();
        // For the panels other apps add to the form (videos.views.register_upload_panel).
        self.form.dispatchEvent(new CustomEvent("svl:details-saved", { bubbles: true, detail: { videoId: self.videoId } }));
        if (self.saveRequested) self.save();
        return;
      }
      self.dirty = true;
      if (!reply.status) {
        self.showErrors({ detail: "The server could not be reached, so the details were not saved. Check your connection and press “Save details” again." });
        self.setSaveStatus("The details were not saved.");
      } else if (reply.status === 400 && reply.data) {
        self.showErrors(reply.data);
        self.setSaveStatus("The details were not saved: please correct them.");
      } else {
        var message = window.svl.apiMessage(reply.data) || "The details could not be saved (error " + reply.status + ").";
        self.showErrors({ detail: message });
        self.setSaveStatus("The details were not saved.");
      }
    });
  };
})();
