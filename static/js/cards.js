/*
 * Video cards (templates/library/_video_card.html).
 *
 * - Storyboard preview: hovering or focusing a card's poster shows the scrub-preview sprite
 *   over it, stepping through the video (or following the pointer across the poster). The
 *   WebVTT cue file is fetched on the first hover only, once per card. With
 *   prefers-reduced-motion nothing steps by itself: one still frame, moved only by the pointer.
 * - Selection: on a page with the selection bar (templates/library/_selection_bar.html) the
 *   ticked cards are counted and the bar appears; static/js/playlists.js sends the form.
 *
 * Also the storyboard reader the watch page's scrub bar uses (window.svl.storyboard), so the
 * cue format is parsed in one place. Loaded with `defer` after app.js; safe to load twice.
 */
(function () {
  "use strict";

  if (!window.svl || window.svl.storyboard) return;

  var STEP_MS = 700;
  var STEPS = 12; // a hover shows about this many frames of the whole video

  function all(selector, scope) {
    return Array.prototype.slice.call((scope || document).querySelectorAll(selector));
  }

  function reducedMotion() {
    return Boolean(window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches);
  }

  // ------------------------------------------------------------- storyboard reader
  function vttTime(text) {
    return text.split(":").map(Number).reduce(function (total, part) { return total * 60 + part; }, 0);
  }

  /** Cues "00:00:04.000 --> 00:00:08.000" + "url#xywh=x,y,w,h", with url resolved and same-origin. */
  function parse(text, base) {
    var cues = [];
    var lines = text.replace(/\r\n?/g, "\n").split("\n");
    var timing = /^\s*((?:\d+:)?\d{1,2}:\d{2}(?:\.\d+)?)\s+-->\s+((?:\d+:)?\d{1,2}:\d{2}(?:\.\d+)?)/;
    for (var i = 0; i < lines.length; i += 1) {
      var match = timing.exec(lines[i]);
      if (!match) continue;
      var payload = (lines[i + 1] || "").trim();
      var hash = payload.lastIndexOf("#xywh=");
      if (hash === -1) continue;
      var box = payload.slice(hash + 6).split(",").map(Number);
      if (box.length !== 4 || box.some(isNaN)) continue;
      var url;
      try {
        url = new URL(payload.slice(0, hash), base);
      } catch (error) {
        continue;
      }
      if (url.origin !== window.location.origin) continue;
      cues.push({
        start: vttTime(match[1]), end: vttTime(match[2]), url: url.href,
        x: box[0], y: box[1], w: box[2], h: box[3],
      });
    }
    return cues;
  }

  var loaded = {};

  /** The cues of a storyboard.vtt URL (fetched once per URL); [] when there are none. */
  function load(url) {
    var base = new URL(url, window.location.href);
    if (!loaded[base.href]) {
      loaded[base.href] = fetch(base.href, { credentials: "same-origin", headers: { Accept: "text/vtt" } })
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.text();
        })
        .then(function (text) { return parse(text, base); })
        .catch(function () {
          delete loaded[base.href]; // a nicety: try again on the next hover
          return [];
        });
    }
    return loaded[base.href];
  }

  /** The cue showing at `time` (the last one past the end), or null. */
  function at(cues, time) {
    for (var i = 0; i < cues.length; i += 1) {
      if (time >= cues[i].start && time < cues[i].end) return cues[i];
    }
    return cues.length && time >= cues[cues.length - 1].end ? cues[cues.length - 1] : null;
  }

  window.svl.storyboard = { load: load, at: at, parse: parse };

  // ---------------------------------------------------------------- card previews
  /** The card carries the signed poster URL; the same token opens the storyboard beside it. */
  function storyboardUrl(value) {
    try {
      var url = new URL(value, window.location.href);
      url.pathname = url.pathname.replace(/\/poster\.jpg$/, "/storyboard.vtt");
      return /\/storyboard\.vtt$/.test(url.pathname) ? url.href : "";
    } catch (error) {
      return "";
    }
  }

  function initPreview(link) {
    var source = storyboardUrl(link.getAttribute("data-storyboard"));
    if (!source) return;
    var cues = null;
    var sheet = null;
    var overlay = null;
    var label = null;
    var bar = null;
    var active = false;
    var pointerDriven = false;
    var timer = null;
    var step = 0;

    function build() {
      overlay = document.createElement("span");
      overlay.className = "card-storyboard";
      overlay.setAttribute("aria-hidden", "true");
      overlay.hidden = true;
      label = document.createElement("span");
      label.className = "card-storyboard-time";
      bar = document.createElement("span");
      bar.className = "card-storyboard-bar";
      overlay.appendChild(label);
      overlay.appendChild(bar);
      link.appendChild(overlay);
    }

    function prepare() {
      return load(source).then(function (list) {
        if (cues) return;
        cues = list;
        if (!cues.length) return;
        sheet = cues.reduce(function (size, cue) {
          return { w: Math.max(size.w, cue.x + cue.w), h: Math.max(size.h, cue.y + cue.h) };
        }, { w: 0, h: 0 });
        build();
        return new Promise(function (resolve) { // show nothing until the sprite is in
          var image = new Image();
          image.onload = image.onerror = function () { resolve(); };
          image.src = cues[0].url;
        });
      });
    }

    function duration() {
      return cues[cues.length - 1].end || 1;
    }

    function show(cue) {
      // Cover the poster box with the tile, centred, like object-fit: cover.
      var width = link.clientWidth;
      var height = link.clientHeight;
      var scale = Math.max(width / cue.w, height / cue.h);
      var left = (width - cue.w * scale) / 2 - cue.x * scale;
      var top = (height - cue.h * scale) / 2 - cue.y * scale;
      overlay.style.backgroundImage = 'url("' + cue.url.replace(/"/g, "%22") + '")';
      overlay.style.backgroundSize = sheet.w * scale + "px " + sheet.h * scale + "px";
      overlay.style.backgroundPosition = left + "px " + top + "px";
      label.textContent = window.svl.clock(cue.start);
      bar.style.transform = "scaleX(" + Math.min(1, cue.end / duration()).toFixed(3) + ")";
      overlay.hidden = false;
    }

    function showFraction(fraction) {
      var cue = at(cues, Math.max(0, Math.min(0.999, fraction)) * duration());
      if (cue) show(cue);
    }

    function stopStepping() {
      window.clearInterval(timer);
      timer = null;
    }

    function start() {
      active = true;
      prepare().then(function () {
        if (!active || !cues || !cues.length) return;
        if (pointerDriven) return; // the pointer already placed a frame
        if (reducedMotion()) {
          showFraction(1 / 3);
          return;
        }
        var every = Math.max(1, Math.floor(cues.length / STEPS));
        step = 0;
        show(cues[0]);
        stopStepping();
        timer = window.setInterval(function () {
          step = (step + every) % cues.length;
          show(cues[step]);
        }, STEP_MS);
      });
    }

    function stop() {
      active = false;
      pointerDriven = false;
      stopStepping();
      if (overlay) overlay.hidden = true;
    }

    link.addEventListener("pointerenter", function (event) {
      if (event.pointerType === "touch") return; // a tap opens the video
      start();
    });
    link.addEventListener("pointermove", function (event) {
      if (!active || !cues || !cues.length || event.pointerType === "touch") return;
      var box = link.getBoundingClientRect();
      pointerDriven = true;
      stopStepping();
      showFraction(box.width ? (event.clientX - box.left) / box.width : 0);
    });
    link.addEventListener("pointerleave", function () {
      if (document.activeElement !== link) stop();
    });
    link.addEventListener("focus", function () {
      if (link.matches(":focus-visible")) start();
    });
    link.addEventListener("blur", stop);
  }

  // ---------------------------------------------------------------- selection
  function initSelection() {
    var bar = document.querySelector("[data-selection-bar]");
    if (!bar || !bar.id) return;
    var count = bar.querySelector("[data-selection-count]");
    var hint = bar.querySelector("[data-selection-hint]");
    var status = bar.querySelector("[data-add-status]");
    var clear = bar.querySelector("[data-selection-clear]");

    function boxes() {
      return all('input[data-card-select][form="' + bar.id + '"]');
    }

    function chosen() {
      var values = [];
      boxes().forEach(function (box) {
        if (box.checked && values.indexOf(box.value) === -1) values.push(box.value);
      });
      return values;
    }

    function update() {
      var n = chosen().length;
      count.textContent = n + (n === 1 ? " video selected" : " videos selected");
      bar.hidden = n === 0 && !(status && status.textContent);
    }

    if (hint) hint.hidden = true;
    bar.hidden = true;

    document.addEventListener("change", function (event) {
      var box = event.target;
      if (!box.matches || !box.matches("input[data-card-select]") || box.getAttribute("form") !== bar.id) return;
      // The same video may show twice on a page (recent and most viewed): tick both.
      boxes().forEach(function (other) {
        if (other !== box && other.value === box.value) other.checked = box.checked;
      });
      update();
    });

    if (clear) {
      clear.addEventListener("click", function () {
        boxes().forEach(function (box) { box.checked = false; });
        if (status) status.textContent = "";
        update();
      });
    }

    bar.addEventListener("svl:playlist-added", function (event) {
      var added = (event.detail && event.detail.added) || [];
      boxes().forEach(function (box) {
        if (added.indexOf(box.value) !== -1) box.checked = false;
      });
      update();
    });

    update();
  }

  function init() {
    all("[data-card-preview]").forEach(initPreview);
    initSelection();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
