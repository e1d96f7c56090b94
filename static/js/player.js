/*
 * Watch page (templates/videos/watch.html).
 *
 * Playable video: hls.js (or Safari's native HLS) on a <video> with native controls, plus a
 * quality menu, a speed menu, keyboard shortcuts, ?t= start times and an extra scrub bar
 * (<input type="range">) that shows storyboard thumbnails from a WebVTT sprite map.
 * Progress is saved to the library API (and resumed on the next visit); a favourite toggle
 * sits by the title. Not playable yet: polls the API and reloads the page when the video is ready.
 *
 * Opened from a playlist (data-playlist-mode) it plays the item's clip: it starts at
 * data-clip-start (unless ?t= says otherwise; no resume), stops at data-clip-end or the end,
 * then goes to data-advance-url (play-all, or the viewer's "autoplay next") or shows the
 * "Next in playlist" notice. data-autostart starts playback on load (muted if the browser
 * refuses sound without a click). N opens the next item.
 *
 * Playlists and segments are same-origin; the session cookie (master playlist) and signed
 * URLs (everything else) authenticate them, so no headers are added here.
 */
(function () {
  "use strict";

  var root = document.getElementById("watch-app");
  if (!root) return;

  var POLL_MS = 2000;
  var SEEK_STEP = 10;
  var PLAYABLE = ["processed", "published"];
  var SETTLED = ["processed", "published", "failed", "rejected", "archived"];

  // ------------------------------------------------------------------ helpers
  var readJson = window.svl.readJson;

  var clock = window.svl.clock;

  function spokenTime(seconds) {
    seconds = Math.max(0, Math.floor(Number(seconds) || 0));
    var h = Math.floor(seconds / 3600);
    var m = Math.floor((seconds % 3600) / 60);
    var s = seconds % 60;
    var parts = [];
    if (h) parts.push(h + (h === 1 ? " hour" : " hours"));
    if (m) parts.push(m + (m === 1 ? " minute" : " minutes"));
    if (s || !parts.length) parts.push(s + (s === 1 ? " second" : " seconds"));
    return parts.join(" ");
  }

  /** ?t=90, ?t=90s, ?t=1m30s, ?t=1:30 or ?t=1:02:03 → seconds (NaN when unreadable). */
  function parseStart(value) {
    if (!value) return NaN;
    value = String(value).trim();
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
    if (/^\d+(:\d{1,2}){1,2}$/.test(value)) {
      return value.split(":").reduce(function (total, part) { return total * 60 + Number(part); }, 0);
    }
    var match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(value);
    if (match && (match[1] || match[2] || match[3])) {
      return Number(match[1] || 0) * 3600 + Number(match[2] || 0) * 60 + Number(match[3] || 0);
    }
    return NaN;
  }

  function formatDurations() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-duration]"), function (element) {
      if (element === root) return;
      element.textContent = clock(element.getAttribute("data-duration"));
    });
  }

  formatDurations();

  var apiUrl = root.getAttribute("data-api-url");
  var csrfToken = root.getAttribute("data-csrf") || "";

  /** Same-origin JSON request; resolves to the parsed body, or null on any failure. */
  function api(method, url, body) {
    var headers = { Accept: "application/json" };
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    })
      .then(function (response) { return response.ok ? response.json() : null; })
      .catch(function () { return null; });
  }

  /** "progress/" → /api/v1/videos/<uuid>/progress/ */
  function subUrl(path) {
    return new URL(path, new URL(apiUrl, window.location.href)).pathname;
  }

  // The caller's state for this video (is_favorite, resume position), fetched once.
  var detail = apiUrl ? api("GET", apiUrl) : Promise.resolve(null);

  var video = root.querySelector("[data-video]");
  var clip = readClip();
  if (video && root.getAttribute("data-master-url")) {
    initPlayer();
  } else {
    initProcessing();
  }
  initFavorite();

  // ---------------------------------------------------------------- favourite
  function initFavorite() {
    var button = root.querySelector("[data-favorite]");
    if (!button || !apiUrl) return;
    var url = subUrl("favorite/");

    function show(on) {
      button.setAttribute("aria-pressed", String(on));
      // A toggle keeps one label; aria-pressed (and the star) carry the state.
      button.textContent = "";
      var star = document.createElement("span");
      star.setAttribute("aria-hidden", "true");
      star.textContent = on ? "\u2605 " : "\u2606 ";
      button.appendChild(star);
      button.appendChild(document.createTextNode("Favourite"));
    }

    button.disabled = true;
    button.hidden = false;
    detail.then(function (data) {
      show(Boolean(data && data.is_favorite));
      button.disabled = false;
    });

    button.addEventListener("click", function () {
      var was = button.getAttribute("aria-pressed") === "true";
      button.disabled = true;
      show(!was); // optimistic; put back if the server says no
      api(was ? "DELETE" : "PUT", url).then(function (data) {
        show(data ? Boolean(data.is_favorite) : was);
        button.disabled = false;
      });
    });
  }

  // --------------------------------------------------------------- processing
  function initProcessing() {
    var panel = root.querySelector("[data-processing]");
    if (!panel || !panel.hasAttribute("data-poll")) return;
    var apiUrl = root.getAttribute("data-api-url");
    var initial = root.getAttribute("data-status");
    var statusText = panel.querySelector("[data-status-text]");
    var progress = panel.querySelector("[data-progress]");
    var progressText = panel.querySelector("[data-progress-text]");
    var failure = panel.querySelector("[data-failure]");

    function poll() {
      window.svl.getJson(apiUrl)
        .then(function (data) {
          if (!data) {
            statusText.textContent = "This video is no longer available to you.";
            return;
          }
          var percent = Math.max(0, Math.min(100, Number(data.progress) || 0));
          if (progress) progress.value = percent;
          if (progressText) progressText.textContent = percent + "%";
          if (statusText.textContent !== data.status_display) statusText.textContent = data.status_display;

          if (PLAYABLE.indexOf(data.status) !== -1) {
            statusText.textContent = "Ready. Loading the player…";
            window.location.reload();
            return;
          }
          if (data.status === "failed") {
            if (progress) progress.setAttribute("data-state", "error");
            failure.textContent = data.failure_reason || "Processing failed.";
            failure.hidden = false;
            return;
          }
          if (SETTLED.indexOf(data.status) !== -1 && data.status !== initial) {
            window.location.reload();
            return;
          }
          window.setTimeout(poll, POLL_MS);
        })
        .catch(function () {
          window.setTimeout(poll, POLL_MS * 3);
        });
    }

    window.setTimeout(poll, POLL_MS);
  }

  // ------------------------------------------------------------------ player
  function initPlayer() {
    var masterUrl = root.getAttribute("data-master-url");
    var storyboardUrl = root.getAttribute("data-storyboard-url");
    var prefs = readJson("player-preferences", {}) || {};
    var wrapper = root.querySelector("[data-player]");
    var errorBox = root.querySelector("[data-player-error]");
    var live = root.querySelector("[data-player-live]");
    var qualityField = root.querySelector("[data-quality-field]");
    var quality = root.querySelector("[data-quality]");
    var speed = root.querySelector("[data-speed]");
    var hls = null;

    // A view (and a viewing session for the audit) starts when playback starts, never when
    // the page or the playlist loads: opening a page is not watching.
    if (apiUrl) {
      video.addEventListener("playing", function reportView() {
        video.removeEventListener("playing", reportView);
        api("POST", subUrl("views/"));
      });
    }

    function say(message) {
      live.textContent = "";
      window.setTimeout(function () { live.textContent = message; }, 30);
    }

    function showError(message) {
      errorBox.textContent = message;
      errorBox.hidden = false;
    }

    // ------------------------------------------------------------- speed
    function applySpeed(value) {
      var rate = Number(value) || 1;
      video.defaultPlaybackRate = rate;
      video.playbackRate = rate;
    }
    var wanted = String(prefs.speed || "1");
    if (!Array.prototype.some.call(speed.options, function (option) { return option.value === wanted; })) wanted = "1";
    speed.value = wanted;
    applySpeed(wanted);
    speed.addEventListener("change", function () { applySpeed(speed.value); });
    video.addEventListener("ratechange", function () {
      var current = String(video.playbackRate);
      if (Array.prototype.some.call(speed.options, function (option) { return option.value === current; })) speed.value = current;
    });
    // A new source resets playbackRate to defaultPlaybackRate; keep the chosen one.
    video.addEventListener("loadedmetadata", function () { applySpeed(speed.value); });

    // ------------------------------------------------------------ source
    if (window.Hls && window.Hls.isSupported()) {
      var Hls = window.Hls;
      hls = new Hls({ enableWorker: true });
      var autoOption = quality.querySelector('option[value="-1"]');
      var recovered = false;

      hls.on(Hls.Events.MANIFEST_PARSED, function () {
        var levels = hls.levels.map(function (level, index) { return { index: index, height: level.height, bitrate: level.bitrate }; });
        levels.sort(function (a, b) { return b.height - a.height || b.bitrate - a.bitrate; });
        var heights = {};
        levels.forEach(function (level) { heights[level.height] = (heights[level.height] || 0) + 1; });
        levels.forEach(function (level) {
          var option = document.createElement("option");
          option.value = String(level.index);
          option.textContent = level.height ? level.height + "p" : "Level " + (level.index + 1);
          if (heights[level.height] > 1 && level.bitrate) option.textContent += " (" + Math.round(level.bitrate / 1000) + " kbps)";
          quality.appendChild(option);
        });
        var preferred = String(prefs.quality || "auto");
        var match = preferred === "auto" ? null : levels.filter(function (level) { return level.height + "p" === preferred; })[0];
        if (match) {
          hls.currentLevel = match.index;
          quality.value = String(match.index);
        } else {
          quality.value = "-1";
        }
        if (levels.length < 2) quality.disabled = levels.length === 0;
      });

      hls.on(Hls.Events.LEVEL_SWITCHED, function (event, data) {
        var level = hls.levels[data.level];
        var label = level && level.height ? level.height + "p" : "";
        autoOption.textContent = hls.autoLevelEnabled && label ? "Auto (" + label + ")" : "Auto";
      });

      hls.on(Hls.Events.ERROR, function (event, data) {
        if (!data.fatal) return;
        if (data.type === Hls.ErrorTypes.MEDIA_ERROR && !recovered) {
          recovered = true;
          hls.recoverMediaError();
          return;
        }
        var code = data.response && data.response.code;
        var reason;
        if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
          reason = code === 401 || code === 403
            ? "your viewing link has expired. Reload the page to continue."
            : "the video could not be loaded" + (code ? " (server error " + code + ")" : "") + ". Check your connection and reload the page.";
        } else if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
          reason = "this browser could not decode the video (" + data.details + ").";
        } else {
          reason = "an unexpected error occurred (" + data.details + ").";
        }
        showError("Playback failed: " + reason);
        hls.destroy();
        hls = null;
      });

      quality.addEventListener("change", function () {
        if (!hls) return;
        var level = Number(quality.value);
        hls.currentLevel = level;
        if (level === -1) autoOption.textContent = "Auto";
        say(level === -1 ? "Quality: automatic" : "Quality: " + quality.options[quality.selectedIndex].textContent);
      });

      hls.loadSource(masterUrl);
      hls.attachMedia(video);
    } else if (video.canPlayType("application/vnd.apple.mpegurl")) {
      // Safari plays HLS itself and picks the quality; the menu would do nothing there.
      qualityField.hidden = true;
      video.src = masterUrl;
      video.addEventListener("error", function () {
        var error = video.error;
        showError("Playback failed: " + (error && error.message ? error.message : "the video could not be loaded. Reload the page to try again."));
      });
    } else {
      qualityField.hidden = true;
      showError("Playback failed: this browser cannot play streaming video. Use a current version of Firefox, Chrome, Edge or Safari.");
    }

    // -------------------------------------------------------- start time
    var query = new URLSearchParams(window.location.search);
    var start = parseStart(query.get("t"));
    if (!query.has("t") && clip) start = clip.start;
    if (start > 0) {
      video.addEventListener("loadedmetadata", function onMeta() {
        video.removeEventListener("loadedmetadata", onMeta);
        if (!isFinite(video.duration) || start < video.duration) video.currentTime = start;
      });
    }

    // ------------------------------------------------- progress and resume
    // A playlist item starts where its clip does, never where the viewer last stopped.
    initProgress(query.has("t") || Boolean(clip));

    // --------------------------------------------------------- playlist
    if (clip) initClip(say);

    // --------------------------------------------------------- shortcuts
    function togglePlay() {
      if (video.paused || video.ended) {
        var playing = video.play();
        if (playing && playing.catch) playing.catch(function () {});
      } else {
        video.pause();
      }
    }

    function seekBy(delta) {
      var duration = isFinite(video.duration) ? video.duration : Infinity;
      video.currentTime = Math.max(0, Math.min(duration, video.currentTime + delta));
      say((delta < 0 ? "Back " : "Forward ") + Math.abs(delta) + " seconds, at " + spokenTime(video.currentTime));
    }

    function toggleFullscreen() {
      var current = document.fullscreenElement || document.webkitFullscreenElement;
      if (current) {
        (document.exitFullscreen || document.webkitExitFullscreen).call(document);
        return;
      }
      var request = wrapper.requestFullscreen || wrapper.webkitRequestFullscreen;
      if (request) {
        var result = request.call(wrapper);
        if (result && result.catch) result.catch(function () {});
      } else if (video.webkitEnterFullscreen) {
        video.webkitEnterFullscreen(); // iPhone: only the video element itself can go full screen
      }
    }

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      var target = event.target;
      if (target && target.closest && target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])")) return;
      var onControl = target && target.closest && target.closest("button, a[href], summary");
      var key = event.key;
      // Buttons and links act on space themselves, and so do the native controls of a focused
      // <video> (handling it here too would play and pause again at once).
      if ((key === " " || key === "Spacebar") && (onControl || target === video)) return;

      switch (key) {
        case " ":
        case "Spacebar":
        case "k":
        case "K":
          togglePlay();
          break;
        case "ArrowLeft":
          seekBy(-SEEK_STEP);
          break;
        case "ArrowRight":
          seekBy(SEEK_STEP);
          break;
        case "f":
        case "F":
          toggleFullscreen();
          break;
        case "m":
        case "M":
          video.muted = !video.muted;
          say(video.muted ? "Muted" : "Sound on");
          break;
        case "n":
        case "N":
          if (!clip || !clip.nextUrl) return;
          window.location.assign(clip.nextUrl);
          break;
        default:
          return;
      }
      event.preventDefault();
    });

    // -------------------------------------------------------- scrub bar
    initScrubber(storyboardUrl);
  }

  // ---------------------------------------------------------------- playlist
  /** The playlist item this page plays (null outside a playlist). */
  function readClip() {
    if (!root.hasAttribute("data-playlist-mode")) return null;
    function seconds(name) {
      var value = root.getAttribute(name);
      return value === null || value === "" || isNaN(Number(value)) ? null : Number(value);
    }
    return {
      start: seconds("data-clip-start") || 0,
      end: seconds("data-clip-end"),
      nextUrl: root.getAttribute("data-next-url") || "",
      nextTitle: root.getAttribute("data-next-title") || "",
      advanceUrl: root.getAttribute("data-advance-url") || "",
      autostart: root.hasAttribute("data-autostart"),
    };
  }

  /**
   * Plays the clip: stops when playback crosses its end (a seek past it does not count) or at
   * the end of the video, then moves on (advanceUrl) or says what comes next.
   */
  function initClip(say) {
    var notice = root.querySelector("[data-clip-notice]");
    var noticeText = root.querySelector("[data-clip-notice-text]");
    var last = 0;
    var finished = false;

    function finish() {
      if (finished) return;
      finished = true;
      if (!video.paused) video.pause(); // also saves the position
      if (clip.advanceUrl) {
        say(clip.nextTitle ? "Next: " + clip.nextTitle : "Next video");
        window.location.assign(clip.advanceUrl);
        return;
      }
      var text = clip.nextUrl ? "End of this item. Next in playlist: " + clip.nextTitle + "." : "End of the playlist.";
      if (notice && noticeText) {
        noticeText.textContent = text;
        notice.hidden = false;
      } else {
        say(text);
      }
    }

    video.addEventListener("timeupdate", function () {
      var now = video.currentTime;
      if (clip.end !== null && !video.seeking && last < clip.end && now >= clip.end) finish();
      last = now;
    });
    video.addEventListener("seeking", function () {
      last = video.currentTime;
      if (clip.end === null || video.currentTime < clip.end) {
        finished = false;
        if (notice) notice.hidden = true;
      }
    });
    video.addEventListener("ended", finish);

    if (!clip.autostart) return;
    video.addEventListener("loadedmetadata", function onMeta() {
      video.removeEventListener("loadedmetadata", onMeta);
      var playing = video.play();
      if (!playing || !playing.catch) return;
      playing.catch(function (error) {
        if (!error || error.name !== "NotAllowedError") return;
        // Browsers may refuse sound until the viewer has clicked on this page: play muted.
        video.muted = true;
        var again = video.play();
        if (again && again.catch) again.catch(function () {});
        say("Playing without sound. Press M to turn the sound on.");
      });
    });
  }

  // ---------------------------------------------------------------- progress
  /**
   * Saves the position every ~10 s while playing, on pause/end, after a seek (debounced) and
   * on page hide (sendBeacon: it cannot set headers, so the CSRF token travels as a form field).
   * Nothing is saved before loadedmetadata. Without ?t=, resumes where the viewer left off.
   */
  function initProgress(hasStartTime) {
    if (!apiUrl) return;
    var url = subUrl("progress/");
    var SAVE_EVERY_MS = 10000;
    var SEEK_DEBOUNCE_MS = 1500;
    var ready = video.readyState >= 1;
    var lastSaved = null;
    var seekTimer = null;
    var notice = root.querySelector("[data-resume-notice]");
    var noticeText = root.querySelector("[data-resume-text]");
    var startOver = root.querySelector("[data-start-over]");

    function duration() {
      return isFinite(video.duration) && video.duration > 0 ? video.duration : null;
    }

    function save(force) {
      if (!ready) return;
      var position = Math.max(0, video.currentTime || 0);
      if (!force && lastSaved !== null && Math.abs(position - lastSaved) < 0.5) return;
      lastSaved = position;
      api("PUT", url, { position: position, duration: duration() });
    }

    function beacon() {
      if (!ready || !navigator.sendBeacon) return;
      var position = Math.max(0, video.currentTime || 0);
      if (lastSaved !== null && Math.abs(position - lastSaved) < 0.5) return;
      var form = new FormData();
      form.append("position", String(position));
      if (duration() !== null) form.append("duration", String(duration()));
      form.append("csrfmiddlewaretoken", csrfToken);
      if (navigator.sendBeacon(url, form)) lastSaved = position;
    }

    video.addEventListener("loadedmetadata", function () { ready = true; });
    window.setInterval(function () {
      if (!video.paused && !video.ended) save(false);
    }, SAVE_EVERY_MS);
    video.addEventListener("pause", function () { save(false); });
    video.addEventListener("ended", function () { save(false); });
    video.addEventListener("seeked", function () {
      window.clearTimeout(seekTimer);
      seekTimer = window.setTimeout(function () { save(false); }, SEEK_DEBOUNCE_MS);
    });
    window.addEventListener("pagehide", beacon);
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") beacon();
    });

    if (startOver) {
      startOver.addEventListener("click", function () {
        video.currentTime = 0;
        save(true);
        notice.hidden = true;
      });
    }

    if (hasStartTime) return; // ?t= always wins
    detail.then(function (data) {
      var position = data && Number(data.position);
      if (!(position > 0)) return;
      function resume() {
        // The viewer already moved (or the saved spot is past the end): leave them be.
        if (video.currentTime > 1 || (duration() !== null && position >= duration())) return;
        video.currentTime = position;
        lastSaved = position;
        if (notice && noticeText) {
          noticeText.textContent = "Resumed at " + clock(position);
          notice.hidden = false;
        }
      }
      if (video.readyState >= 1) {
        resume();
      } else {
        video.addEventListener("loadedmetadata", function onMeta() {
          video.removeEventListener("loadedmetadata", onMeta);
          resume();
        });
      }
    });
  }

  // --------------------------------------------------------------- scrubber
  function initScrubber(storyboardUrl) {
    var scrub = root.querySelector("[data-scrub]");
    var range = root.querySelector("[data-seek]");
    var currentLabel = root.querySelector("[data-time-current]");
    var totalLabel = root.querySelector("[data-time-total]");
    var preview = root.querySelector("[data-preview]");
    var previewImage = root.querySelector("[data-preview-image]");
    var previewTime = root.querySelector("[data-preview-time]");
    if (!scrub || !range) return;

    var cues = [];
    var dragging = false;
    var hovering = false;
    var duration = Number(root.getAttribute("data-duration")) || 0;

    function knownDuration() {
      return isFinite(video.duration) && video.duration > 0 ? video.duration : duration;
    }

    function setDuration() {
      var total = knownDuration();
      if (total > 0) {
        range.max = String(total);
        totalLabel.textContent = clock(total);
      }
    }

    function paint(time) {
      var total = knownDuration();
      var fraction = total > 0 ? Math.max(0, Math.min(1, time / total)) : 0;
      range.style.setProperty("--played", (fraction * 100).toFixed(3) + "%");
      currentLabel.textContent = clock(time);
      range.setAttribute("aria-valuetext", spokenTime(time) + " of " + spokenTime(total));
    }

    function sync() {
      if (dragging) return;
      range.value = String(video.currentTime);
      paint(video.currentTime);
    }

    setDuration();
    paint(0);
    video.addEventListener("loadedmetadata", setDuration);
    video.addEventListener("durationchange", setDuration);
    video.addEventListener("timeupdate", sync);
    video.addEventListener("seeked", sync);

    // ---------------------------------------------------------- preview
    function cueAt(time) {
      return window.svl.storyboard ? window.svl.storyboard.at(cues, time) : null;
    }

    function showPreview(time) {
      var total = knownDuration();
      if (!(total > 0)) return;
      var cue = cueAt(time);
      var width = 64;
      if (cue) {
        previewImage.hidden = false;
        previewImage.style.width = cue.w + "px";
        previewImage.style.height = cue.h + "px";
        previewImage.style.backgroundImage = 'url("' + cue.url.replace(/"/g, "%22") + '")';
        previewImage.style.backgroundPosition = -cue.x + "px " + -cue.y + "px";
        width = cue.w + 4;
      } else {
        previewImage.hidden = true;
      }
      previewTime.textContent = clock(time);
      preview.hidden = false;

      // Centre the tile over the point in the bar, kept inside the player.
      var barBox = range.getBoundingClientRect();
      var box = scrub.getBoundingClientRect();
      var x = barBox.left - box.left + (Math.max(0, Math.min(1, time / total)) * barBox.width);
      var left = Math.max(4, Math.min(box.width - width - 4, x - width / 2));
      preview.style.width = width + "px";
      preview.style.left = left + "px";
    }

    function hidePreview() {
      if (dragging || hovering || document.activeElement === range) return;
      preview.hidden = true;
    }

    function timeAtPointer(event) {
      var box = range.getBoundingClientRect();
      var fraction = box.width ? (event.clientX - box.left) / box.width : 0;
      return Math.max(0, Math.min(1, fraction)) * knownDuration();
    }

    range.addEventListener("pointerenter", function () { hovering = true; });
    range.addEventListener("pointermove", function (event) {
      if (!dragging) showPreview(timeAtPointer(event));
    });
    range.addEventListener("pointerleave", function () {
      hovering = false;
      hidePreview();
    });
    range.addEventListener("pointerdown", function () { dragging = true; });
    function endDrag() {
      if (!dragging) return;
      dragging = false;
      sync();
      hidePreview();
    }
    range.addEventListener("pointerup", endDrag);
    range.addEventListener("pointercancel", endDrag);
    document.addEventListener("pointerup", endDrag);

    range.addEventListener("input", function () {
      var time = Number(range.value);
      paint(time);
      showPreview(time);
      if (!dragging) video.currentTime = time; // keyboard: seek at once
    });
    range.addEventListener("change", function () {
      video.currentTime = Number(range.value);
    });
    range.addEventListener("focus", function () { showPreview(Number(range.value)); });
    range.addEventListener("blur", function () {
      preview.hidden = true;
    });
    range.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        preview.hidden = true;
      }
    });

    // --------------------------------------------------------- storyboard
    // The cue reader is shared with the cards (static/js/cards.js, loaded first).
    if (!storyboardUrl || !window.svl.storyboard) return;
    window.svl.storyboard.load(storyboardUrl).then(function (list) {
      cues = list;
      if (cues.length) {
        var image = new Image(); // warm the cache so the first hover shows a picture
        image.src = cues[0].url;
      }
    });
  }
})();
