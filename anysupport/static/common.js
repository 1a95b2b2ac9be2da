/* Shared by every AnySupport page: texts and the language switch, the protocol's vocabulary, DOM
 * building, REST calls.
 *
 * The server puts two JSON blocks in every page: the pages' text catalogue (anysupport/i18n/pages.json,
 * {key: {ko, en}}) and the protocol's vocabulary (anysupport/protocol/vocabulary.py page_data():
 * states, close codes, survey answers, guide directions, languages), here `AS.vocabulary`.
 *
 * Data from the server only ever reaches the page through textContent, attributes and form values
 * (never innerHTML), so a name or a phrase cannot become markup.
 */
"use strict";

const AS = (function () {
  const LANG_KEY = "anysupport.lang";
  const texts = JSON.parse(document.getElementById("as-texts").textContent);
  const vocabulary = deepFreeze(JSON.parse(document.getElementById("as-vocabulary").textContent));
  const LANGUAGES = vocabulary.LANGUAGES;
  const listeners = [];
  let lang = pickLanguage();

  function deepFreeze(value) {
    if (value && typeof value === "object") Object.values(value).forEach(deepFreeze);
    return Object.freeze(value);
  }

  function known(language) {
    return LANGUAGES.indexOf(language) >= 0;
  }

  function pickLanguage() {
    const asked = new URLSearchParams(window.location.search).get("lang");
    if (asked && known(asked)) return asked;
    let stored = null;
    try { stored = window.localStorage.getItem(LANG_KEY); } catch (e) { stored = null; }
    if (stored && known(stored)) return stored;
    const served = document.documentElement.lang;
    return known(served) ? served : LANGUAGES[0];
  }

  /* The text `key` in the current language (English for one it lacks; the key itself when there is no such
   * text), with {field} placeholders filled in: the same lookup as Catalogue.text in anysupport/i18n. */
  function t(key, fields) {
    const entry = Object.prototype.hasOwnProperty.call(texts, key) ? texts[key] : null;
    let text = entry ? (entry[lang] || entry.en) : key;
    if (fields) {
      text = text.replace(/\{(\w+)\}/g, function (whole, name) {
        return Object.prototype.hasOwnProperty.call(fields, name) ? String(fields[name]) : whole;
      });
    }
    return text;
  }

  function applyTexts(root) {
    (root || document).querySelectorAll("[data-t]").forEach(function (node) {
      node.textContent = t(node.dataset.t);
    });
    (root || document).querySelectorAll("[data-t-placeholder]").forEach(function (node) {
      node.placeholder = t(node.dataset.tPlaceholder);
    });
  }

  function setLanguage(next) {
    if (!known(next)) return;
    lang = next;
    try { window.localStorage.setItem(LANG_KEY, next); } catch (e) { /* private mode: keep it for this page */ }
    render();
    listeners.forEach(function (fn) { fn(lang); });
  }

  function render() {
    document.documentElement.lang = lang;
    applyTexts(document);
    const titleKey = document.body.dataset.title;
    const brand = document.getElementById("brand").textContent;
    if (titleKey) document.title = t(titleKey) + " · " + brand;
    document.querySelectorAll("[data-lang]").forEach(function (button) {
      button.setAttribute("aria-pressed", button.dataset.lang === lang ? "true" : "false");
    });
  }

  /* Build an element: el("p", {className: "x", dataset: {id: "1"}}, "text", child, ...). */
  function el(tag, props) {
    const node = document.createElement(tag);
    Object.keys(props || {}).forEach(function (name) {
      const value = props[name];
      if (name === "dataset") Object.assign(node.dataset, value);
      else if (name === "attrs") Object.keys(value).forEach(function (a) { node.setAttribute(a, value[a]); });
      else if (name === "on") Object.keys(value).forEach(function (ev) { node.addEventListener(ev, value[ev]); });
      else node[name] = value;
    });
    for (let i = 2; i < arguments.length; i++) {
      const child = arguments[i];
      if (child === null || child === undefined || child === false) continue;
      node.appendChild(typeof child === "string" || typeof child === "number"
        ? document.createTextNode(String(child)) : child);
    }
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /* Call the REST API: resolves to {status, data}; data is the JSON answer or {error, message}. */
  async function api(method, path, body, token) {
    const headers = {"Accept": "application/json", "Accept-Language": lang};
    if (token) headers.Authorization = "Bearer " + token;
    const init = {method: method, headers: headers, credentials: "omit", cache: "no-store"};
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, init);
    } catch (e) {
      return {status: 0, data: {error: "network_error", message: t("network_error")}};
    }
    let data = null;
    const type = response.headers.get("Content-Type") || "";
    if (response.status !== 204 && type.indexOf("application/json") === 0) {
      try { data = await response.json(); } catch (e) { data = null; }
    }
    if (!response.ok && (!data || !data.message)) {
      data = {error: "http_" + response.status, message: t("network_error") + " (HTTP " + response.status + ")"};
    }
    if (data && response.status === 429 && data.retry_after === undefined) {
      data.retry_after = parseInt(response.headers.get("Retry-After") || "0", 10) || undefined;
    }
    return {status: response.status, data: data};
  }

  /* Show a message (or hide the element when text is empty). */
  /* Copy a node's text: the Clipboard API where the page may use it, else select it and copy. */
  async function copy(node) {
    try {
      if (navigator.clipboard) { await navigator.clipboard.writeText(node.textContent); return true; }
    } catch (e) { /* refused: fall back to the selection */ }
    const range = document.createRange();
    range.selectNodeContents(node);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    return document.execCommand("copy");
  }

  function say(node, text, kind) {
    node.textContent = text || "";
    node.hidden = !text;
    if (kind) node.dataset.kind = kind; else delete node.dataset.kind;
  }

  document.querySelectorAll("[data-lang]").forEach(function (button) {
    button.addEventListener("click", function () { setLanguage(button.dataset.lang); });
  });
  render();

  return {
    t: t,
    el: el,
    clear: clear,
    api: api,
    say: say,
    copy: copy,
    applyTexts: applyTexts,
    vocabulary: vocabulary,
    get lang() { return lang; },
    onLanguage: function (fn) { listeners.push(fn); },
  };
})();
