/*
 * Upload page: the list of files. Chosen files (picker, drop zone, or dropped anywhere on the
 * page) are checked (type, size, empty, already in the list) and queued; at most two upload
 * at a time. Leaving the page while something would be lost asks first. Loaded last: see
 * upload-item.js for how the page's scripts fit together.
 */
(function () {
  "use strict";

  var upload = window.svl.upload;
  if (!upload) return;

  var MAX_PARALLEL = 2;

  var app = upload.app;
  var config = upload.config;
  var Item = upload.Item;
  var dropzone = app.querySelector("[data-dropzone]");
  var fileInput = app.querySelector("[data-file-input]");
  var pickButton = app.querySelector("[data-pick]");
  var queue = app.querySelector("[data-queue]");
  var list = app.querySelector("[data-list]");
  var announcer = app.querySelector("[data-announce]");

  var items = [];

  function announce(message) {
    // Clearing first makes screen readers repeat an identical message.
    announcer.textContent = "";
    window.setTimeout(function () { announcer.textContent = message; }, 50);
  }

  function extensionOf(name) {
    var dot = name.lastIndexOf(".");
    return dot > 0 ? name.slice(dot + 1).toLowerCase() : "";
  }

  /** Start waiting uploads while fewer than MAX_PARALLEL are running. */
  function pump() {
    var running = items.filter(function (item) { return item.state === "uploading" || item.state === "starting"; }).length;
    items.forEach(function (item) {
      if (running < MAX_PARALLEL && item.state === "waiting") {
        running += 1;
        item.start();
      }
    });
  }

  upload.pump = pump;

  Item.prototype.remove = function () {
    window.clearTimeout(this.pollTimer);
    var index = items.indexOf(this);
    if (index !== -1) items.splice(index, 1);
    this.element.remove();
    queue.hidden = items.length === 0;
    announce(this.file.name + " removed from the list.");
    pickButton.focus();
  };

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
      if (config.extensions.length && config.extensions.indexOf(ext) === -1) {
        item.invalid("Only " + config.extensions.map(function (e) { return e.toUpperCase(); }).join(", ") + " files can be uploaded" +
          (ext ? "; this one is " + ext.toUpperCase() + "." : "; this file has no extension."));
        refused += 1;
      } else if (file.size === 0) {
        item.invalid("The file is empty.");
        refused += 1;
      } else if (file.size > config.maxBytes) {
        item.invalid("The file is " + upload.formatBytes(file.size) + ", more than the " + config.maxLabel + " limit.");
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
