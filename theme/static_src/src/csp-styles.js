/*
 * media-chrome and hls-video-element build every shadow root from an HTML string that carries
 * its own <style> elements. The site's CSP has no 'unsafe-inline' for styles (config/settings.py),
 * so Chromium would refuse those sheets: the controls would render unstyled, and media-chrome,
 * which also edits those sheets to draw the seek bar, would break.
 *
 * Every such string comes from the element class's static getTemplateHTML(). Before the
 * library defines its elements, this wraps customElements.define so that each class's
 * getTemplateHTML() stamps the page's CSP nonce on its <style> tags. The nonce reaches us as
 * the nonce of the <script> that loads this bundle (templates/videos/_player_scripts.html sets
 * it from request.csp_nonce, which also puts it in the style-src of that response only);
 * HTMLScriptElement.nonce can be read by scripts, never by injected markup or CSS.
 */
const script = document.currentScript;
const nonce = script && script.nonce ? script.nonce : "";
const STYLE_TAG = /<style(?![^>]*\snonce=)(?=[\s>])/g;
const WRAPPED = Symbol("svl-nonce");

function stamp(html) {
  return typeof html === "string" ? html.replace(STYLE_TAG, `<style nonce="${nonce}"`) : html;
}

function wrap(constructor) {
  const original = constructor && constructor.getTemplateHTML;
  if (typeof original !== "function" || original[WRAPPED]) return;
  const wrapped = function (...args) {
    return stamp(original.apply(this, args));
  };
  wrapped[WRAPPED] = true;
  constructor.getTemplateHTML = wrapped;
}

if (nonce && window.customElements) {
  const registry = window.customElements;
  const define = registry.define.bind(registry);
  registry.define = function (name, constructor, options) {
    wrap(constructor);
    return define(name, constructor, options);
  };
}
