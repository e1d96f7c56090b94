/*
 * The player's libraries, bundled by esbuild into static/vendor/media-player.js (Makefile
 * `vendor`): media-chrome's controls (web components) and <hls-video> from
 * hls-video-element, which drives hls.js. static/js/player.js wires them to the library.
 * The CSP shim must run first: it has to see every custom element being defined.
 */
import "./csp-styles.js";
import "media-chrome";
import "media-chrome/menu";
import "hls-video-element";
