/*
 * Watch page and review page (templates/videos/watch.html, review_video.html, the player in
 * templates/videos/_player.html).
 *
 * Playable video: the controls are media-chrome web components around an <hls-video>
 * (hls-video-element driving hls.js, or Safari's own HLS), all from static/vendor/media-player.js,
 * which loads first. This file wires them to the library:
 *   - the source (data-master-url), the viewer's default quality, speed and autoplay, labels
 *     of the quality menu (the ladder's rung names), playback errors;
 *   - study tools: frame step, A–B loop, slow motion, copy link at the current time, theatre;
 *   - keyboard shortcuts for the whole page (media-chrome's own only work with focus inside the
 *     player, so they are turned off with `nohotkeys`) and their help dialog (?);
 *   - ?t= start times, resume across devices ("Start over"), progress saving, the view count
 *     (posted on the first `playing`, never on page load), the favourite toggle;
 *   - from a playlist (data-playlist-mode): the item's clip, then the next item (data-advance-url)
 *     or the "Next in playlist" notice; data-autostart plays at once; N opens the next item;
 *   - outside one, the countdown to the "Up next" video when this one ends (initUpNext), and
 *     ?autoplay=1 (how that video's page is opened) plays at once;
 *   - captions raised above the controls while they show (initCaptionPlacement);
 *   - a case still being processed (data-growing): plays what is ready while the rest is
 *     made, and becomes an ordinary player when it is done (initGrowing).
 * Not playable yet: polls the API and reloads the page once the start can play.
 *
 * Playlists and segments are same-origin; the session cookie (master playlist) and signed URLs
 * (everything else) authenticate them, so no headers are added here.
 */
(function () {
  "use strict";

  var root = document.getElementById("watch-app");
  if (!root) return;

  var svl = window.svl;
  var POLL_MS = 2000;
  var SLOW_PRESETS = [0.5, 0.25];
  var MIN_RATE = 0.25;
  var MAX_RATE = 2;

  // ------------------------------------------------------------------ helpers
  var clock = svl.clock;

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

  /** "0.5" → "0.5×", 1 → "1×". */
  function rateLabel(rate) {
    return String(Math.round(rate * 100) / 100) + "\u00d7";
  }

  function formatDurations() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-duration]"), function (element) {
      if (element === root) return;
      element.textContent = clock(element.getAttribute("data-duration"));
    });
  }

  formatDurations();

  var apiUrl = root.getAttribute("data-api-url");

  /** "progress/" → /api/v1/videos/<uuid>/progress/ */
  function subUrl(path) {
    return new URL(path, new URL(apiUrl, window.location.href)).pathname;
  }

  function csrfToken() {
    return (svl.csrfToken && svl.csrfToken()) || root.getAttribute("data-csrf") || "";
  }

  // The caller's state for this video (is_favorite, resume position), fetched once.
  var detail = apiUrl
    ? svl.api("GET", apiUrl).then(function (reply) { return reply.ok ? reply.data : null; })
    : Promise.resolve(null);

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
      svl.api(was ? "DELETE" : "PUT", url).then(function (reply) {
        show(reply.ok && reply.data ? Boolean(reply.data.is_favorite) : was);
        button.disabled = false;
      });
    });
  }

  // --------------------------------------------------------------- processing
  function initProcessing() {
    var panel = root.querySelector("[data-processing]");
    if (!panel || !panel.hasAttribute("data-poll")) return;
    var initial = root.getAttribute("data-status");
    var statusText = panel.querySelector("[data-status-text]");
    var progress = panel.querySelector("[data-progress]");
    var progressText = panel.querySelector("[data-progress-text]");
    var failure = panel.querySelector("[data-failure]");

    function poll() {
      svl.api("GET", apiUrl).then(function (reply) {
        if (reply.status === 404 || reply.status === 403) {
          statusText.textContent = "This video is no longer available to you.";
          return;
        }
        if (!reply.ok || !reply.data) {
          window.setTimeout(poll, POLL_MS * 3); // offline or a server hiccup: try again later
          return;
        }
        var data = reply.data;
        var percent = Math.max(0, Math.min(100, Number(data.progress) || 0));
        var left = svl.timeLeft(data.processing_eta_seconds);
        if (progress) progress.value = percent;
        if (progressText) progressText.textContent = percent + "%" + (left ? " \u00b7 " + left : "");
        if (statusText.textContent !== data.status_display) statusText.textContent = data.status_display;

        // Nobody is watching yet, so a reload is fine: as soon as the start plays (a long case's
        // first chunk), or the video is ready.
        if (data.playable) {
          statusText.textContent = "Ready to play. Loading the player…";
          window.location.reload();
          return;
        }
        if (data.status === "failed") {
          if (progress) progress.setAttribute("data-state", "error");
          failure.textContent = data.failure_reason || "Processing failed.";
          failure.hidden = false;
          return;
        }
        if (data.settled && data.status !== initial) {
          window.location.reload();
          return;
        }
        window.setTimeout(poll, POLL_MS);
      });
    }

    window.setTimeout(poll, POLL_MS);
  }

  // ------------------------------------------------------------------ player
  function initPlayer() {
    var masterUrl = root.getAttribute("data-master-url");
    var prefs = svl.readJson("player-preferences", {}) || {};
    var player = root.querySelector("[data-player]");
    var controller = player.querySelector("[data-controller]");
    var errorBox = root.querySelector("[data-player-error]");
    var live = root.querySelector("[data-player-live]");
    var toastBox = player.querySelector("[data-player-toast]");
    var query = new URLSearchParams(window.location.search);
    var toastTimer = null;

    /** Tell screen readers (the polite live region under the player). */
    function say(message) {
      live.textContent = "";
      window.setTimeout(function () { live.textContent = message; }, 30);
    }

    /** Show a short message over the picture (seen in full screen too) and say it. */
    function notify(message) {
      toastBox.textContent = message;
      toastBox.hidden = false;
      window.clearTimeout(toastTimer);
      toastTimer = window.setTimeout(function () { toastBox.hidden = true; }, 2200);
      say(message);
    }

    function showError(message) {
      errorBox.textContent = message;
      errorBox.hidden = false;
    }

    var growing = initGrowing(player, notify, showError);

    /** The video's length: while a case is processed, the whole recording's (the media says Infinity). */
    function duration() {
      if (isFinite(video.duration) && video.duration > 0) return video.duration;
      return growing.total() || null;
    }

    function seekTo(time) {
      var end = duration();
      video.currentTime = growing.clamp(Math.max(0, end === null ? time : Math.min(end, time)));
    }

    /** Ask media-chrome's controller for something (the same events its own buttons send). */
    function request(name, detail) {
      controller.dispatchEvent(new CustomEvent(name, { bubbles: true, composed: true, detail: detail }));
    }

    // Every video here is on-demand, a case whose playlist still grows included: media-chrome
    // reads media.streamType before guessing "live" from an Infinity duration (its state
    // mediator's mediaStreamType), and hls-video-element has none of its own. Live would mean
    // a live edge to jump to on play and no duration on the time display.
    video.streamType = "on-demand";

    // The seek bar, the seek buttons and media-chrome's range keys all ask the controller to
    // seek (mediaseekrequest); past what is processed, ask for the last processed seconds instead.
    controller.addEventListener("mediaseekrequest", function (event) {
      var wanted = Number(event.detail);
      if (!growing.active() || !isFinite(wanted)) return;
      var allowed = growing.clamp(wanted);
      if (allowed === wanted) return;
      event.stopImmediatePropagation();
      request("mediaseekrequest", allowed);
    }, true);

    // A view (and a viewing session for the audit) starts when playback starts, never when
    // the page or the playlist loads: opening a page is not watching.
    if (apiUrl) {
      video.addEventListener("playing", function reportView() {
        video.removeEventListener("playing", reportView);
        svl.api("POST", subUrl("views/"));
      });
    }

    initQualityNames(player);

    // ------------------------------------------------------------- speed
    function setRate(rate) {
      rate = Math.max(0.0625, Math.min(16, Number(rate) || 1));
      video.defaultPlaybackRate = rate;
      video.playbackRate = rate;
    }
    var preferredRate = Number(prefs.speed) || 1;
    video.addEventListener("loadedmetadata", function onMeta() {
      video.removeEventListener("loadedmetadata", onMeta);
      setRate(preferredRate);
    });
    // Keep the chosen speed for a new source (it resets playbackRate to defaultPlaybackRate).
    video.addEventListener("ratechange", function () {
      if (video.defaultPlaybackRate !== video.playbackRate) video.defaultPlaybackRate = video.playbackRate;
    });

    // ------------------------------------------------------------ source
    video.addEventListener("error", function () {
      if (video.api) return; // hls.js reports its own errors below
      var error = video.error;
      showError("Playback failed: " + (error && error.message ? error.message : "the video could not be loaded. Reload the page to try again."));
    });
    // hls.js's configuration (hls-video-element passes `config` to new Hls() when src is set).
    if (growing.active()) video.config = growing.hlsConfig();
    video.src = masterUrl;
    // hls-video creates its hls.js instance in a microtask after `src` is set; this one runs next.
    Promise.resolve().then(function () { attachHls(video.api); });

    function attachHls(hls) {
      growing.attach(hls);
      if (!hls) {
        if (!video.canPlayType("application/vnd.apple.mpegurl") && !window.MediaSource) {
          showError("Playback failed: this browser cannot play streaming video. Use a current version of Firefox, Chrome, Edge or Safari.");
        }
        return; // Safari plays HLS itself and picks the quality
      }
      var Events = hls.constructor.Events;
      var ErrorTypes = hls.constructor.ErrorTypes;
      var recovered = false;

      function applyQualityPreference() {
        var wanted = String(prefs.quality || "auto");
        if (wanted === "auto") return;
        var names = renditionNames(player);
        var levels = hls.levels || [];
        for (var index = 0; index < levels.length; index += 1) {
          var level = levels[index];
          if (names[level.width + "x" + level.height] === wanted) {
            request("mediarenditionrequest", String(index));
            return;
          }
        }
      }

      if (hls.levels && hls.levels.length) {
        applyQualityPreference();
      } else {
        hls.once(Events.MANIFEST_PARSED, function () { applyQualityPreference(); });
      }

      hls.on(Events.ERROR, function (event, data) {
        if (!data.fatal) return;
        if (data.type === ErrorTypes.MEDIA_ERROR && !recovered) {
          recovered = true;
          hls.recoverMediaError();
          return;
        }
        var code = data.response && data.response.code;
        var reason;
        if (data.type === ErrorTypes.NETWORK_ERROR) {
          reason = code === 401 || code === 403
            ? "your viewing link has expired. Reload the page to continue."
            : "the video could not be loaded" + (code ? " (server error " + code + ")" : "") + ". Check your connection and reload the page.";
        } else if (data.type === ErrorTypes.MEDIA_ERROR) {
          reason = "this browser could not decode the video (" + data.details + ").";
        } else {
          reason = "an unexpected error occurred (" + data.details + ").";
        }
        showError("Playback failed: " + reason);
        hls.stopLoad();
      });
    }

    // -------------------------------------------------------- start time
    var start = parseStart(query.get("t"));
    if (!query.has("t") && clip) start = clip.start;
    if (start > 0) {
      video.addEventListener("loadedmetadata", function onMeta() {
        video.removeEventListener("loadedmetadata", onMeta);
        var end = duration();
        if (end === null || start < end) video.currentTime = growing.clamp(start);
      });
    }

    // ------------------------------------------------- progress and resume
    // A playlist item starts where its clip does, never where the viewer last stopped.
    initProgress(query.has("t") || Boolean(clip), notify, duration, seekTo);

    // ------------------------------------------------------- study tools
    var loop = initLoop(notify, seekTo);
    if (clip) initClip(say, loop);
    initUpNext(player, say, loop);
    if (!clip && query.get("autoplay") === "1") {
      // Arrived from the Up next countdown: play, and keep the address free of it (reload, copy).
      autostart(say);
      query.delete("autoplay");
      var rest = query.toString();
      window.history.replaceState(window.history.state, "", window.location.pathname + (rest ? "?" + rest : "") + window.location.hash);
    }
    var frames = initFrameStep(notify, seekTo);
    var slow = initSlowMotion(notify, setRate);
    initCopyLink(notify);
    var theatre = initTheatre();
    var help = initHelp();
    initCaptionsItem(player);
    initCaptionPlacement(player, controller);
    initNarrowLayout(player, controller);

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
      seekTo(video.currentTime + delta);
      say((delta < 0 ? "Back " : "Forward ") + Math.abs(delta) + " seconds, at " + spokenTime(video.currentTime));
    }

    function stepRate(delta) {
      var rate = Math.max(MIN_RATE, Math.min(MAX_RATE, Math.round((video.playbackRate + delta) * 4) / 4));
      setRate(rate);
      notify("Speed " + rateLabel(rate));
    }

    function setVolume(delta) {
      video.muted = false;
      video.volume = Math.max(0, Math.min(1, Math.round((video.volume + delta) * 20) / 20));
      notify("Volume " + Math.round(video.volume * 100) + "%");
    }

    function toggleFullscreen() {
      request(controller.hasAttribute("mediaisfullscreen") ? "mediaexitfullscreenrequest" : "mediaenterfullscreenrequest");
    }

    function togglePip() {
      request(controller.hasAttribute("mediaispip") ? "mediaexitpiprequest" : "mediaenterpiprequest");
    }

    /** Keys the focused element uses itself: a media-chrome control lists them in keysUsed. */
    function keyBelongsTo(target, key) {
      if (!target || !target.closest) return false;
      if (target.closest("input, textarea, select, [contenteditable]:not([contenteditable='false'])")) return true;
      if (target.closest("media-settings-menu, media-chrome-menu, [role='menu']")) return true;
      var used = target.keysUsed || [];
      if (typeof used === "string") used = used.split(" "); // the controller's keysused attribute
      if (used.map(function (k) { return k === "Space" ? " " : k; }).indexOf(key) !== -1) return true;
      // Buttons, links and summaries act on Space and Enter themselves.
      if ((key === " " || key === "Enter") && target.closest("button, a[href], summary, [role='button']")) return true;
      return false;
    }

    document.addEventListener("keydown", function (event) {
      if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
      var key = event.key;
      if (help.isOpen()) return; // the dialog is modal; Esc closes it
      if (keyBelongsTo(event.target, key)) return;
      var insidePlayer = player.contains(event.target);

      switch (key) {
        case " ":
        case "Spacebar":
        case "k":
        case "K":
          togglePlay();
          break;
        case "ArrowLeft":
          seekBy(-5);
          break;
        case "ArrowRight":
          seekBy(5);
          break;
        case "j":
        case "J":
          seekBy(-10);
          break;
        case "l":
        case "L":
          seekBy(10);
          break;
        case ",":
          frames.step(-1);
          break;
        case ".":
          frames.step(1);
          break;
        case "a":
        case "A":
          loop.cycle();
          break;
        case "s":
        case "S":
          slow.cycle();
          break;
        case "<":
          stepRate(-0.25);
          break;
        case ">":
          stepRate(0.25);
          break;
        case "ArrowUp":
        case "ArrowDown":
          if (!insidePlayer) return; // elsewhere they scroll the page
          setVolume(key === "ArrowUp" ? 0.05 : -0.05);
          break;
        case "m":
        case "M":
          video.muted = !video.muted;
          say(video.muted ? "Muted" : "Sound on");
          break;
        case "c":
        case "C":
          request("mediatogglesubtitlesrequest");
          break;
        case "f":
        case "F":
          toggleFullscreen();
          break;
        case "t":
        case "T":
          if (!theatre.available) return;
          theatre.toggle();
          break;
        case "p":
        case "P":
          togglePip();
          break;
        case "n":
        case "N":
          if (!clip || !clip.nextUrl) return;
          window.location.assign(clip.nextUrl);
          break;
        case "?":
          help.open();
          break;
        default:
          if (/^[0-9]$/.test(key) && duration() !== null) {
            seekTo((duration() * Number(key)) / 10);
            break;
          }
          return;
      }
      event.preventDefault();
    });
  }

  // ----------------------------------------------------------- growing case
  /**
   * A case still being processed (#watch-app[data-growing], issue #14) plays while the rest of
   * it is encoded: its variant playlists are HLS EVENT playlists (no ENDLIST) that grow a chunk
   * at a time, which hls.js (and Safari) take for a live stream. Kept an on-demand player:
   *   - hls.js starts at 0, not near the live edge (hlsConfig), and ?t=, resume and the seek
   *     bar work as usual within what is ready;
   *   - the media's duration is Infinity with a seekable range up to what is ready
   *     (liveDurationInfinity), so the browser itself never seeks into what is not there and
   *     playback that reaches the end of the ready part waits for the next chunk, which
   *     hls.js finds by reloading the playlist every target duration (6 s);
   *   - media-chrome shows the recording's whole length (the controller's defaultduration,
   *     used while the media's is not finite) and stays on-demand (video.streamType);
   *   - the seek bar shades the processed part (--player-ready on .player[data-growing]) from
   *     the API's ready_seconds, polled, and hls.js's own playlist edge, whichever is further;
   *     the note under the player says "Processing: 42% · about 6 min left";
   *   - a seek past the processed part (seek bar, buttons, keys, ?t=, resume) lands a couple
   *     of seconds before its end and says so (clamp);
   *   - when the playlist gets ENDLIST, hls.js stops treating it as live and sets the real
   *     duration; the note goes and the player is an ordinary one, with no reload. The API
   *     saying the job is done does the same (and, on the review page, reveals
   *     [data-when-processed] and hides [data-while-processing]). If processing fails,
   *     loading stops and the reason is shown.
   * For other videos every method is inert.
   */
  function initGrowing(player, notify, showError) {
    var MARGIN = 2; // seconds before the end of the ready part that a clamped seek lands on
    var POLL_EVERY_MS = POLL_MS * 2;
    var active = root.hasAttribute("data-growing");
    var following = active && Boolean(apiUrl);
    var length = Number(root.getAttribute("data-duration")) || 0;
    var ready = Number(root.getAttribute("data-ready-seconds")) || 0;
    var note = root.querySelector("[data-growing-note]");
    var text = root.querySelector("[data-growing-text]");
    var readyText = root.querySelector("[data-growing-ready]");
    var badge = root.querySelector("[data-status-badge]");
    var hls = null;

    function paint() {
      if (!active) return;
      var share = length > 0 ? Math.min(100, (ready / length) * 100) : 0;
      player.style.setProperty("--player-ready", share.toFixed(2) + "%");
      if (readyText) {
        readyText.textContent = "Plays up to " + clock(ready) + (length ? " of " + clock(length) : "") +
          " so far; the rest of the timeline fills in as it is processed.";
      }
    }

    function grow(seconds) {
      if (Number(seconds) > ready) {
        ready = Number(seconds);
        paint();
      }
    }

    /** The note, the shading and the clamp go: an ordinary on-demand player from now on. */
    function complete() {
      if (!active) return;
      active = false;
      ready = length;
      root.removeAttribute("data-growing");
      player.removeAttribute("data-growing");
      player.style.removeProperty("--player-ready");
      if (note) note.hidden = true;
      notify("Processing finished: the whole recording plays.");
    }

    /** The API says the job is over: done (the status changes) or failed. */
    function settle(data) {
      following = false;
      if (badge && data.status_display) {
        badge.textContent = data.status_display;
        badge.hidden = data.status === "published";
      }
      if (!data.playable) {
        active = false;
        if (hls) hls.stopLoad();
        if (note) note.hidden = true;
        showError("Processing failed: " + (data.failure_reason || "no reason recorded") + " What was shown can no longer be played.");
        return;
      }
      Array.prototype.forEach.call(root.querySelectorAll("[data-when-processed]"), function (element) { element.hidden = false; });
      Array.prototype.forEach.call(root.querySelectorAll("[data-while-processing]"), function (element) { element.hidden = true; });
      complete();
    }

    function show(data) {
      if (Number(data.duration) > 0) length = Number(data.duration);
      var percent = Math.max(0, Math.min(100, Number(data.progress) || 0));
      var left = svl.timeLeft(data.processing_eta_seconds);
      if (text) text.textContent = "Processing: " + percent + "%" + (left ? " \u00b7 " + left : "");
      grow(data.ready_seconds);
    }

    function poll() {
      svl.api("GET", apiUrl).then(function (reply) {
        if (!following) return;
        if (reply.status === 404 || reply.status === 403) return; // no longer ours to see
        if (reply.ok && reply.data) {
          if (reply.data.settled) {
            settle(reply.data);
            return;
          }
          show(reply.data);
        }
        window.setTimeout(poll, reply.ok ? POLL_EVERY_MS : POLL_EVERY_MS * 3);
      });
    }

    if (active) {
      player.setAttribute("data-growing", "");
      paint();
      if (following) poll();
      // Safari plays HLS itself (no start position to configure): begin at 0 rather than near
      // the live edge. Registered before the ?t= and resume handlers, which then move on from 0.
      video.addEventListener("loadedmetadata", function onMeta() {
        video.removeEventListener("loadedmetadata", onMeta);
        if (!video.api && video.currentTime > 0) video.currentTime = 0;
      });
    }

    return {
      active: function () { return active; },
      /** The whole recording's length in seconds (0 when unknown). */
      total: function () { return length; },
      /**
       * hls.js's configuration for a growing case (hls-video-element passes it to new Hls()):
       * start at 0 like on-demand media (a live stream starts liveSyncDurationCount target
       * durations before its edge); an Infinity duration with a seekable range up to the edge
       * (hls-video-element's default, relied on above); never speed up to catch up with the
       * edge (a viewer far behind it is the normal case here). hls.js's default
       * liveMaxLatencyDurationCount (Infinity) already means it never jumps forward to it.
       */
      hlsConfig: function () {
        return { startPosition: 0, liveDurationInfinity: true, maxLiveSyncPlaybackRate: 1 };
      },
      /** Follow hls.js's own view of the playlist (null: the browser plays HLS itself). */
      attach: function (instance) {
        hls = instance;
        if (!active || !hls) return;
        hls.on(hls.constructor.Events.LEVEL_UPDATED, function (event, data) {
          if (!active) return;
          grow(data.details.edge);
          if (!data.details.live) complete(); // ENDLIST: hls.js has set the real duration
        });
      },
      /** ``time``, or a little before the end of the processed part if it is further (and why). */
      clamp: function (time) {
        if (!active || time <= ready - MARGIN) return time;
        notify("Processed up to " + clock(ready) + " so far; the rest follows as it is ready.");
        return Math.max(0, ready - MARGIN);
      },
    };
  }

  // ----------------------------------------------------------- quality menu
  /** "720p=1280x720 480p=854x480" (data-renditions) → {"1280x720": "720p", …}. */
  function renditionNames(player) {
    var names = {};
    (player.getAttribute("data-renditions") || "").split(" ").forEach(function (pair) {
      var parts = pair.split("=");
      if (parts.length === 2) names[parts[1]] = parts[0];
    });
    return names;
  }

  /** The quality menu says the ladder's rung names ("720p"), as the rest of the site does. */
  function initQualityNames(player) {
    var Menu = window.customElements && window.customElements.get("media-rendition-menu");
    if (!Menu || Menu.svlNamed) return;
    var names = renditionNames(player);
    var original = Menu.formatRendition;
    Menu.formatRendition = function (rendition, options) {
      var name = names[rendition.width + "x" + rendition.height];
      if (!name) return original.call(this, rendition, options);
      if (options && options.showBitrate && rendition.bitrate) {
        name += " (" + (rendition.bitrate / 1e6).toFixed(1) + " Mbps)";
      }
      return this.formatMenuItemText(name, rendition);
    };
    Menu.svlNamed = true;
  }

  /** The Captions entry of the settings menu shows only when the video has captions. */
  function initCaptionsItem(player) {
    var item = player.querySelector("[data-captions-item]");
    if (!item || !video.textTracks) return;
    function update() {
      var any = Array.prototype.some.call(video.textTracks, function (track) {
        return track.kind === "subtitles" || track.kind === "captions";
      });
      item.hidden = !any;
    }
    video.textTracks.addEventListener("addtrack", update);
    video.textTracks.addEventListener("removetrack", update);
    update();
  }

  /**
   * On a player narrower than the whole bar (a phone, or beside the playlist or the review
   * form) the study tools leave the bottom bar for a bar at the top, rather than wrapping into
   * a second row under the picture's edge; the CSS container queries in styles.css hide the
   * less needed controls below 720 and 576 px. Our own observer, not media-chrome's breakpoint
   * attributes: those can keep a stale width after a quick series of resizes (full screen,
   * theatre).
   */
  function initNarrowLayout(player, controller) {
    var NARROW = 960;
    var tools = player.querySelector(".player-tools");
    var bottom = player.querySelector(".player-bar");
    var top = player.querySelector("[data-topbar]");
    var anchor = bottom && bottom.querySelector("media-settings-menu-button");
    if (!tools || !bottom || !top || !anchor || !window.ResizeObserver) return;

    function place(width) {
      var narrow = width < NARROW;
      var focused = tools.contains(document.activeElement) ? document.activeElement : null;
      if (narrow && tools.parentNode !== top) {
        top.appendChild(tools);
      } else if (!narrow && tools.parentNode !== bottom) {
        bottom.insertBefore(tools, anchor);
      }
      if (focused && document.activeElement !== focused) focused.focus();
      top.hidden = !narrow;
    }

    new ResizeObserver(function (entries) {
      place(entries[entries.length - 1].contentRect.width);
    }).observe(controller);
    place(controller.getBoundingClientRect().width);
  }

  // ------------------------------------------------------- caption placement
  /**
   * Captions are drawn by the browser (the native text tracks of the <video> inside <hls-video>)
   * at the bottom of the picture, which is where media-chrome's seek bar and control bar sit
   * while they show. So while the controls show, each cue left at its default place (line
   * "auto") is raised above them, and it drops back when they hide (the controller's
   * userinactive attribute while playing; paused, the controls stay).
   *
   * ::cue cannot move a cue, and Chromium has no VTTCue.lineAlign, so a cue is raised by whole
   * lines: a negative VTTCue.line (snap-to-lines) puts the cue's first line that many lines up
   * from the bottom, the rest of it below. Browsers size cue text at 5 % of the picture's
   * shorter side (Chromium's TextTrackContainer) and a line box is at least 1.1 times that, so
   * the controls' height over that lower bound, plus the cue's own lines (its line breaks, and
   * wrapping measured in the same font), raises it clear of them, at most a fraction of a line
   * too far. A cue the browser is showing is re-added to be drawn at its new place. Positions an
   * author gave in the caption file are left alone.
   */
  function initCaptionPlacement(player, controller) {
    var tracks = video.textTracks;
    if (!tracks || !window.MutationObserver) return;
    var bars = player.querySelectorAll(".player-seek, .player-bar");
    var pen = document.createElement("canvas").getContext("2d");
    var movable = new WeakMap(); // cue → whether the file left it at the default place
    var layout = null; // while the controls show: {raise, font, width}; null: cues at their default place

    function isCaption(track) {
      return track.kind === "captions" || track.kind === "subtitles";
    }

    function controlsShown() {
      return !controller.hasAttribute("userinactive") || controller.hasAttribute("mediapaused");
    }

    /** The shorter side of the picture as painted in the element (object-fit: contain). */
    function pictureSide(box) {
      var width = box.width;
      var height = box.height;
      if (video.videoWidth > 0 && video.videoHeight > 0) {
        var ratio = video.videoWidth / video.videoHeight;
        width = Math.min(box.width, box.height * ratio);
        height = Math.min(box.height, box.width / ratio);
      }
      return Math.min(width, height);
    }

    function measure() {
      if (!controlsShown()) return null;
      var box = video.getBoundingClientRect();
      var top = box.bottom;
      Array.prototype.forEach.call(bars, function (bar) {
        var rect = bar.getBoundingClientRect();
        if (rect.height > 0) top = Math.min(top, rect.top);
      });
      var font = pictureSide(box) * 0.05;
      var covered = box.bottom - top;
      if (!(covered > 0) || !(font > 0)) return null;
      return { raise: Math.ceil(covered / (font * 1.1)), font: font, width: box.width };
    }

    /** The lines ``cue`` takes on screen: its line breaks, and its lines' wrapping (a little early). */
    function linesOf(cue) {
      pen.font = layout.font + "px sans-serif";
      var room = layout.width * (typeof cue.size === "number" ? cue.size / 100 : 1) * 0.9;
      return String(cue.text || "")
        .replace(/<[^>]*>/g, "")
        .split("\n")
        .reduce(function (total, part) {
          return total + Math.max(1, Math.ceil(pen.measureText(part).width / room));
        }, 0);
    }

    function place(track) {
      if (!isCaption(track) || track.mode !== "showing" || !track.cues) return;
      var shown = Array.prototype.slice.call(track.activeCues || []);
      Array.prototype.forEach.call(track.cues, function (cue) {
        if (!movable.has(cue)) movable.set(cue, cue.line === "auto" && cue.snapToLines !== false);
        if (!movable.get(cue)) return;
        var line = layout ? -(layout.raise + linesOf(cue)) : "auto";
        if (cue.line === line) return;
        cue.line = line;
        // Chromium keeps drawing a cue on screen where it was until it is shown anew.
        if (shown.indexOf(cue) !== -1) {
          track.removeCue(cue);
          track.addCue(cue);
        }
      });
    }

    function update() {
      layout = measure();
      Array.prototype.forEach.call(tracks, place);
    }

    function watch(track) {
      // A track's cues arrive after it is first shown: place them when the first one is.
      if (isCaption(track)) track.addEventListener("cuechange", function () { place(track); });
    }

    new MutationObserver(update).observe(controller, { attributes: true, attributeFilter: ["userinactive", "mediapaused"] });
    if (window.ResizeObserver) new ResizeObserver(update).observe(controller);
    tracks.addEventListener("change", update);
    tracks.addEventListener("addtrack", function (event) {
      watch(event.track);
      update();
    });
    Array.prototype.forEach.call(tracks, watch);
    update();
  }

  // ------------------------------------------------------------- frame step
  /**
   * , and . step one frame back or forward (pausing first). The ladder keeps the source's frame
   * rate up to 60 fps (videos/transcoding.py); each step lands in the middle of the frame, so
   * rounding never shows the same picture twice.
   */
  function initFrameStep(notify, seekTo) {
    var player = root.querySelector("[data-player]");
    var source = Number(player.getAttribute("data-frame-rate")) || 30;
    var fps = Math.min(source, 60);

    function step(direction) {
      if (!video.paused) video.pause();
      var frame = Math.floor(video.currentTime * fps + 0.001) + direction;
      frame = Math.max(0, frame);
      seekTo((frame + 0.5) / fps);
      var seconds = Math.floor(video.currentTime);
      var hundredths = String(Math.floor((video.currentTime % 1) * 100)).padStart(2, "0");
      notify("Frame " + (frame + 1) + " · " + clock(seconds) + "." + hundredths);
    }

    Array.prototype.forEach.call(player.querySelectorAll("[data-frame-step]"), function (button) {
      button.addEventListener("click", function () { step(Number(button.getAttribute("data-frame-step"))); });
    });
    return { step: step };
  }

  // ---------------------------------------------------------------- A–B loop
  /**
   * A first press marks A at the current time, the second marks B and plays A→B over and over,
   * the third stops looping. Checked every animation frame while playing, so the jump back
   * happens within a frame of B rather than up to a quarter second later (timeupdate's pace).
   */
  function initLoop(notify, seekTo) {
    var button = root.querySelector("[data-loop]");
    var label = root.querySelector("[data-loop-label]");
    var state = { a: null, b: null };
    var ticking = false;

    function active() {
      return state.a !== null && state.b !== null;
    }

    function render() {
      if (state.a === null) {
        label.textContent = "A\u2013B";
        button.setAttribute("aria-label", "Loop from A to B: set A here");
        button.removeAttribute("data-state");
      } else if (state.b === null) {
        label.textContent = "A " + clock(state.a);
        button.setAttribute("aria-label", "Loop from A to B: set B here (A is at " + clock(state.a) + ")");
        button.setAttribute("data-state", "a");
      } else {
        label.textContent = clock(state.a) + "\u2013" + clock(state.b);
        button.setAttribute("aria-label", "Stop looping " + clock(state.a) + " to " + clock(state.b));
        button.setAttribute("data-state", "loop");
      }
    }

    function check() {
      if (active() && !video.seeking && video.currentTime >= state.b) seekTo(state.a);
    }

    function tick() {
      check();
      if (active() && !video.paused) {
        window.requestAnimationFrame(tick);
      } else {
        ticking = false;
      }
    }

    function startTicking() {
      if (ticking || !active() || video.paused) return;
      ticking = true;
      window.requestAnimationFrame(tick);
    }

    function cycle() {
      var now = video.currentTime;
      if (state.a === null) {
        state.a = now;
        notify("Loop: A at " + clock(now) + ". Press A again at the end.");
      } else if (state.b === null) {
        if (Math.abs(now - state.a) < 0.2) {
          notify("Loop: B must be later than A.");
          return;
        }
        state.b = Math.max(now, state.a);
        state.a = Math.min(now, state.a);
        seekTo(state.a);
        notify("Looping " + clock(state.a) + " to " + clock(state.b));
        startTicking();
      } else {
        state.a = state.b = null;
        notify("Loop off");
      }
      render();
    }

    button.addEventListener("click", cycle);
    video.addEventListener("play", startTicking);
    video.addEventListener("timeupdate", check);
    video.addEventListener("ended", function () {
      if (!active()) return;
      seekTo(state.a);
      var playing = video.play();
      if (playing && playing.catch) playing.catch(function () {});
    });
    render();
    return { cycle: cycle, active: active };
  }

  // ------------------------------------------------------------ slow motion
  /** S (or the button) goes ½×, ¼×, then back to the speed the viewer had. */
  function initSlowMotion(notify, setRate) {
    var button = root.querySelector("[data-slow]");
    var label = root.querySelector("[data-slow-label]");
    var normal = null;

    function render() {
      var rate = video.playbackRate;
      var on = SLOW_PRESETS.indexOf(rate) !== -1;
      label.textContent = on ? rateLabel(rate) : "";
      button.setAttribute("aria-label", on ? "Slow motion: " + rateLabel(rate) + " (press for the next step)" : "Slow motion");
      button.toggleAttribute("data-state", on);
    }

    function cycle() {
      var rate = video.playbackRate;
      var index = SLOW_PRESETS.indexOf(rate);
      if (index === -1) {
        normal = rate;
        setRate(SLOW_PRESETS[0]);
      } else if (index < SLOW_PRESETS.length - 1) {
        setRate(SLOW_PRESETS[index + 1]);
      } else {
        setRate(normal && SLOW_PRESETS.indexOf(normal) === -1 ? normal : 1);
      }
      notify(SLOW_PRESETS.indexOf(video.playbackRate) !== -1 ? "Slow motion " + rateLabel(video.playbackRate) : "Speed " + rateLabel(video.playbackRate));
    }

    button.addEventListener("click", cycle);
    video.addEventListener("ratechange", render);
    render();
    return { cycle: cycle };
  }

  // -------------------------------------------------------------- copy link
  /** The watch page's address with ?t= at the current second (no playlist: it may be private). */
  function initCopyLink(notify) {
    var player = root.querySelector("[data-player]");
    var button = player.querySelector("[data-copy-time]");
    if (!button) return;

    button.addEventListener("click", function () {
      var seconds = Math.floor(video.currentTime || 0);
      var url = new URL(player.getAttribute("data-watch-url"), window.location.href);
      url.searchParams.set("t", String(seconds));
      window.svl.copyText(url.href, player).then(
        function () { notify("Link to " + clock(seconds) + " copied"); },
        function () { notify("Could not copy; the link is " + url.href); }
      );
    });
  }

  // ----------------------------------------------------------------- theatre
  /**
   * Theatre mode: the player area takes the whole row and the player the whole window width
   * (styles: .player[data-theatre]); remembered on this device. --player-viewport is the window
   * width without the scroll bar, which CSS's vw units would include.
   */
  function initTheatre() {
    var player = root.querySelector("[data-player]");
    var button = player.querySelector("[data-theatre-toggle]");
    var area = root.querySelector("[data-player-area]");
    var KEY = "svl.player.theatre";
    if (!button || !area) {
      if (button) button.hidden = true;
      return { available: false };
    }

    function measure() {
      root.style.setProperty("--player-viewport", document.documentElement.clientWidth + "px");
    }

    function set(on, remember) {
      root.toggleAttribute("data-theatre", on);
      button.setAttribute("aria-pressed", String(on));
      measure();
      if (remember) {
        try {
          window.localStorage.setItem(KEY, on ? "1" : "0");
        } catch (error) { /* private mode: not remembered */ }
      }
    }

    var saved = null;
    try {
      saved = window.localStorage.getItem(KEY);
    } catch (error) { /* private mode */ }
    set(saved === "1", false);
    window.addEventListener("resize", measure);
    button.addEventListener("click", function () { set(!root.hasAttribute("data-theatre"), true); });
    return {
      available: true,
      toggle: function () { set(!root.hasAttribute("data-theatre"), true); },
    };
  }

  // -------------------------------------------------------------------- help
  /** The shortcut list: a modal <dialog> (Esc closes it), opened with ? or its button. */
  function initHelp() {
    var dialog = root.querySelector("[data-help]");
    var opener = root.querySelector("[data-help-open]");
    var close = root.querySelector("[data-help-close]");

    function isOpen() {
      return Boolean(dialog && dialog.open);
    }

    function open() {
      if (!dialog || dialog.open) return;
      dialog.showModal();
    }

    if (dialog) {
      close.addEventListener("click", function () { dialog.close(); });
      // A click on the backdrop (outside the box) closes it too.
      dialog.addEventListener("click", function (event) {
        if (event.target === dialog) dialog.close();
      });
      dialog.addEventListener("keydown", function (event) {
        if (event.key === "?") {
          event.preventDefault();
          dialog.close();
        }
      });
    }
    if (opener) opener.addEventListener("click", open);
    return { open: open, isOpen: isOpen };
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
   * the end of the video, then moves on (advanceUrl) or says what comes next. An A–B loop
   * the viewer set takes precedence.
   */
  function initClip(say, loop) {
    var notice = root.querySelector("[data-clip-notice]");
    var noticeText = root.querySelector("[data-clip-notice-text]");
    var last = 0;
    var finished = false;

    function finish() {
      if (finished || loop.active()) return;
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
    if (clip.autostart) autostart(say);
  }

  /** Start playing as soon as the media can (play-all, or the next video after a countdown). */
  function autostart(say) {
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

  // ----------------------------------------------------------------- up next
  /**
   * Outside a playlist the watch page's "Up next" section ([data-up-next]) names the next video.
   * When this one ends, a countdown over the picture says "Next: <title> in 8 s" with Play now
   * and Cancel (Esc cancels too), and the screen reader hears it once; at 0 the next video's
   * page opens and plays (?autoplay=1). Playing or seeking again cancels it. The "Autoplay
   * next" switch beside Up next turns it off on this device (localStorage); until it is used
   * here it follows the account's "autoplay next" preference (on by default). A playlist has
   * its own next item (initClip), and a video with nothing up next gets no countdown.
   */
  function initUpNext(player, say, loop) {
    var COUNTDOWN = 8;
    var KEY = "svl.player.autoplayNext";
    var section = root.querySelector("[data-up-next]");
    var box = player.querySelector("[data-next-countdown]");
    var toggle = section && section.querySelector("[data-autoplay-next]");
    var url = section && section.getAttribute("data-up-next-url");
    if (clip || !section || !url || !box) return;
    var title = section.getAttribute("data-up-next-title") || "the next video";
    var seconds = box.querySelector("[data-next-seconds]");
    var playNow = box.querySelector("[data-next-now]");
    var cancelButton = box.querySelector("[data-next-cancel]");
    var left = 0;
    var timer = null;

    function stored() {
      try {
        return window.localStorage.getItem(KEY);
      } catch (error) {
        return null; // private mode: the account's preference
      }
    }

    function enabled() {
      var saved = stored();
      if (saved === "1" || saved === "0") return saved === "1";
      var prefs = svl.readJson("player-preferences", {}) || {};
      return prefs.autoplay !== false;
    }

    function counting() {
      return timer !== null;
    }

    function go() {
      stop();
      var next = new URL(url, window.location.href);
      next.searchParams.set("autoplay", "1");
      window.location.assign(next.href);
    }

    function stop() {
      window.clearInterval(timer);
      timer = null;
      box.hidden = true;
    }

    function cancel() {
      if (!counting()) return;
      var focused = box.contains(document.activeElement);
      stop();
      say("Autoplay cancelled. " + title + " stays in Up next.");
      if (focused) {
        var play = player.querySelector("media-play-button");
        if (play) play.focus();
      }
    }

    function start() {
      if (counting() || !enabled() || loop.active()) return;
      left = COUNTDOWN;
      seconds.textContent = String(left);
      box.hidden = false;
      say("Next: " + title + ", in " + COUNTDOWN + " seconds. Press Escape or Cancel to stay.");
      timer = window.setInterval(function () {
        left -= 1;
        if (left <= 0) {
          go();
          return;
        }
        seconds.textContent = String(left);
      }, 1000);
    }

    box.querySelector("[data-next-title]").textContent = title;
    playNow.addEventListener("click", go);
    cancelButton.addEventListener("click", cancel);
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || !counting()) return;
      event.preventDefault();
      cancel();
    });
    video.addEventListener("ended", start);
    video.addEventListener("play", cancel);
    video.addEventListener("seeking", function () {
      if (!video.ended) cancel();
    });

    if (toggle) {
      toggle.checked = enabled();
      toggle.addEventListener("change", function () {
        try {
          window.localStorage.setItem(KEY, toggle.checked ? "1" : "0");
        } catch (error) { /* private mode: for this page only */ }
        if (!toggle.checked) cancel();
      });
    }
  }

  // ---------------------------------------------------------------- progress
  /**
   * Saves the position every ~10 s while playing, on pause/end, after a seek (debounced) and
   * on page hide (sendBeacon: it cannot set headers, so the CSRF token travels as a form field).
   * Nothing is saved before loadedmetadata. Without ?t=, resumes where the viewer left off.
   */
  function initProgress(hasStartTime, notify, duration, seekTo) {
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

    function save(force) {
      if (!ready) return;
      var position = Math.max(0, video.currentTime || 0);
      if (!force && lastSaved !== null && Math.abs(position - lastSaved) < 0.5) return;
      lastSaved = position;
      svl.api("PUT", url, { position: position, duration: duration() });
    }

    function beacon() {
      if (!ready || !navigator.sendBeacon) return;
      var position = Math.max(0, video.currentTime || 0);
      if (lastSaved !== null && Math.abs(position - lastSaved) < 0.5) return;
      var form = new FormData();
      form.append("position", String(position));
      if (duration() !== null) form.append("duration", String(duration()));
      form.append("csrfmiddlewaretoken", csrfToken());
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
        seekTo(position); // a case still being processed: no further than what is ready
        position = video.currentTime;
        lastSaved = position;
        if (notice && noticeText) {
          noticeText.textContent = "Resumed at " + clock(position);
          notice.hidden = false;
        }
        notify("Resumed at " + clock(position));
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
})();
