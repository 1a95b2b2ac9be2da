/* The customer connection page: join with the 4-digit code (and optionally the session number, which
 * never admits on its own: numbers are sequential), then the call runs in this page (customer/app.js,
 * window.ASCall) or, where this browser cannot send video, continues in the mobile client. The
 * customer's session token is kept in sessionStorage for the survey page and a reload. */
"use strict";

(function () {
  const STORE_KEY = "anysupport.customer";
  const POLL_MS = 3000;
  const STATE = AS.vocabulary.STATE;
  const $ = function (id) { return document.getElementById(id); };
  const form = $("join-form");
  const codeInput = $("code");
  const numberInput = $("number");
  const errorBox = $("join-error");
  const joinButton = $("join-button");
  let useNumber = false;
  let retryTimer = null;
  let pollTimer = null;
  let joined = loadJoined();
  let lastState = null;
  let lastError = null;

  function loadJoined() {
    try { return JSON.parse(window.sessionStorage.getItem(STORE_KEY) || "null"); } catch (e) { return null; }
  }

  function saveJoined(value) {
    try {
      if (value) window.sessionStorage.setItem(STORE_KEY, JSON.stringify(value));
      else window.sessionStorage.removeItem(STORE_KEY);
    } catch (e) { /* storage refused: the page still works until it is closed */ }
  }

  function setMode(number) {
    useNumber = number;
    $("number-field").hidden = !number;
    const toggle = $("toggle-number");
    toggle.dataset.t = number ? "use_code" : "use_number";
    toggle.textContent = AS.t(toggle.dataset.t);
    $("join-intro").dataset.t = number ? "number_intro" : "customer_intro";  // a sentence in both modes
    $("join-intro").textContent = AS.t($("join-intro").dataset.t);
    showError(null);
    (number ? numberInput : codeInput).focus();
  }

  /* error = {key} for our own texts, {message, retryAfter} for the API's; kept so a language switch
   * can redraw our own texts */
  function showError(error) {
    lastError = error;
    if (!error) { AS.say(errorBox, ""); return; }
    let text = error.key ? AS.t(error.key) : error.message;
    if (error.retryUntil) {
      const seconds = Math.max(0, Math.ceil((error.retryUntil - Date.now()) / 1000));
      text += " " + AS.t("retry_in", {seconds: seconds});
    }
    AS.say(errorBox, text, "error");
  }

  function blockUntil(until) {
    joinButton.disabled = true;
    window.clearInterval(retryTimer);
    retryTimer = window.setInterval(function () {
      if (Date.now() >= until) {
        window.clearInterval(retryTimer);
        joinButton.disabled = false;
        showError(null);
      } else if (lastError) {
        showError(lastError);
      }
    }, 1000);
  }

  async function join(event) {
    event.preventDefault();
    if (window.ASCall) window.ASCall.unlock();  // inside the tap: the agent's voice may play later
    const body = {language: AS.lang};
    if (useNumber) {
      const raw = numberInput.value.trim();
      if (!/^[0-9]{1,6}$/.test(raw) || parseInt(raw, 10) < 1) { showError({key: "number_format"}); return; }
      body.number = parseInt(raw, 10);
    }
    const code = codeInput.value.trim();
    if (!/^[0-9]{4}$/.test(code)) { showError({key: "code_format"}); return; }
    body.code = code;
    const name = $("customer-name").value.trim();
    if (name) body.name = name;
    joinButton.disabled = true;
    joinButton.textContent = AS.t("joining");
    const answer = await AS.api("POST", "/api/v1/join", body);
    joinButton.textContent = AS.t("join_button");
    joinButton.disabled = false;
    if (answer.status !== 200) {
      const error = {message: answer.data.message};
      if (answer.status === 429 && answer.data.retry_after) {
        error.retryUntil = Date.now() + answer.data.retry_after * 1000;
        blockUntil(error.retryUntil);
      }
      showError(error);
      return;
    }
    showError(null);
    joined = {
      token: answer.data.token,
      session_id: answer.data.session_id,
      ws_url: answer.data.ws_url,
      code: body.code || null,
      number: answer.data.session ? answer.data.session.number : body.number,
      agent_name: answer.data.session ? answer.data.session.agent_name : "",
      state: answer.data.state,
    };
    saveJoined(joined);
    begin();
  }

  /* In this page when the browser can (customer/app.js), else the app link. */
  function begin() {
    if (window.ASCall) window.ASCall.begin(joined);
    else showJoined();
  }

  /* anysupport://join?server=…&code=…&token=… — the code is already used by this page's join, so
   * the link also carries the customer token the mobile client continues the session with. */
  function appLink() {
    const params = new URLSearchParams();
    params.set("server", window.location.origin);
    if (joined.code) params.set("code", joined.code);
    params.set("session", joined.session_id);
    params.set("token", joined.token);
    if (joined.ws_url && /^wss?:\/\//.test(joined.ws_url)) params.set("ws", joined.ws_url);
    return "anysupport://join?" + params.toString();
  }

  /* reasonKey: why this browser cannot run the call itself (no WebCodecs, insecure origin). */
  function showJoined(reasonKey) {
    const reason = $("joined-reason");
    reason.dataset.t = reasonKey || "";
    AS.say(reason, reasonKey ? AS.t(reasonKey) : "", "error");
    $("join-view").hidden = true;
    $("joined-view").hidden = false;
    const link = appLink();
    $("app-link").href = link;
    $("app-command").textContent = "anysupport-mobile \"" + link + "\"";
    $("survey-link").href = "/survey#token=" + encodeURIComponent(joined.token);
    renderJoined();
    poll();
  }

  function renderJoined() {
    if (!joined) return;
    $("joined-agent").textContent = AS.t("joined_agent", {name: joined.agent_name || "-", number: joined.number});
    const state = lastState || joined.state || STATE.online;
    const stateBox = $("joined-state");
    stateBox.textContent = AS.t("state_" + state);
    stateBox.dataset.state = state;
    $("survey-link").classList.toggle("primary", state === STATE.expired);
  }

  async function poll() {
    window.clearTimeout(pollTimer);
    if (!joined) return;
    const answer = await AS.api("GET", "/api/v1/customer/session", undefined, joined.token);
    if (!joined) return;
    if (answer.status === 200) {
      lastState = answer.data.state;
      joined.agent_name = answer.data.agent_name;
      joined.number = answer.data.number;
      renderJoined();
      if (lastState === STATE.expired) { saveJoined(null); return; }  // over: a reload offers the code form
    } else if (answer.status === 401) {
      // the customer token is gone (expired or revoked): start over
      reset();
      return;
    }
    pollTimer = window.setTimeout(poll, POLL_MS);
  }

  /* The session is over: no reload of this tab goes back to it. */
  function forget() {
    joined = null;
    saveJoined(null);
  }

  function reset() {
    window.clearTimeout(pollTimer);
    joined = null;
    lastState = null;
    saveJoined(null);
    $("joined-view").hidden = true;
    $("join-view").hidden = false;
    codeInput.value = "";
    numberInput.value = "";
    setMode(false);
  }

  async function copyCommand() {
    const done = await AS.copy($("app-command"));
    $("copy-status").textContent = done ? AS.t("copied") : "";
  }

  codeInput.addEventListener("input", function () {
    const digits = codeInput.value.replace(/[^0-9]/g, "").slice(0, 4);
    if (digits !== codeInput.value) codeInput.value = digits;
  });
  numberInput.addEventListener("input", function () {
    const digits = numberInput.value.replace(/[^0-9]/g, "").slice(0, 6);
    if (digits !== numberInput.value) numberInput.value = digits;
  });
  form.addEventListener("submit", join);
  $("toggle-number").addEventListener("click", function () { setMode(!useNumber); });
  $("join-again").addEventListener("click", reset);
  $("copy-command").addEventListener("click", copyCommand);
  AS.onLanguage(function () {
    showError(lastError);
    const reason = $("joined-reason");
    if (reason.dataset.t) reason.textContent = AS.t(reason.dataset.t);
    renderJoined();
    const toggle = $("toggle-number");
    toggle.textContent = AS.t(toggle.dataset.t);
  });

  if (!window.isSecureContext) $("insecure-note").hidden = false;
  /* The call learnt where the session lives now (hello's or moved's ws_url): a reload goes there. */
  function saveWsUrl(wsUrl) {
    if (!joined || !wsUrl) return;
    joined.ws_url = wsUrl;
    saveJoined(joined);
  }

  window.ASCustomerPage = {showJoined: showJoined, reset: reset, forget: forget, saveWsUrl: saveWsUrl};
  // after the module scripts (customer/app.js) have run
  document.addEventListener("DOMContentLoaded", function () { if (joined && joined.token) begin(); });
})();
