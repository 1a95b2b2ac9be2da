/* The satisfaction survey after a session. The customer token comes in the URL fragment
 * (#token=…, never sent to any server) or from the customer page's sessionStorage. */
"use strict";

(function () {
  const CUSTOMER_KEY = "anysupport.customer";
  const TOKEN_KEY = "anysupport.survey_token";
  const $ = function (id) { return document.getElementById(id); };
  const form = $("survey-form");
  const notice = $("survey-notice");
  const errorBox = $("survey-error");
  let token = takeToken();
  let survey = null;
  let noticeKey = null;

  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  function takeToken() {
    const store = storage();
    const fragment = new URLSearchParams(window.location.hash.replace(/^#/, ""));
    const given = fragment.get("token");
    if (given) {
      if (store) store.setItem(TOKEN_KEY, given);
      // keep the token out of the address bar, history and bookmarks
      window.history.replaceState(null, "", window.location.pathname + window.location.search);
      return given;
    }
    if (!store) return null;
    const kept = store.getItem(TOKEN_KEY);
    if (kept) return kept;
    try {
      const customer = JSON.parse(store.getItem(CUSTOMER_KEY) || "null");
      return customer && customer.token ? customer.token : null;
    } catch (e) {
      return null;
    }
  }

  function forgetToken() {
    const store = storage();
    if (store) { store.removeItem(TOKEN_KEY); store.removeItem(CUSTOMER_KEY); }
  }

  function showNotice(key, text) {
    noticeKey = key;
    form.hidden = true;
    AS.say(notice, key ? AS.t(key) : text, key === "survey_thanks" ? "ok" : "info");
  }

  async function load() {
    if (!token) { showNotice("survey_no_token"); return; }
    const answer = await AS.api("GET", "/api/v1/survey?lang=" + encodeURIComponent(AS.lang));
    if (answer.status !== 200) { AS.say(errorBox, answer.data.message, "error"); return; }
    survey = answer.data;
    if (!survey.enabled) { showNotice("survey_disabled"); return; }
    render();
  }

  function render() {
    const chosen = form.querySelector("input[name=answer]:checked");
    const keep = chosen ? chosen.value : null;
    $("survey-question").textContent = survey.question;
    const box = $("survey-choices");
    AS.clear(box);
    survey.choices.forEach(function (choice) {
      const id = "answer-" + choice.value;
      box.appendChild(AS.el("label", {className: "choice", htmlFor: id},
        AS.el("input", {type: "radio", name: "answer", id: id, value: choice.value, checked: choice.value === keep}),
        AS.el("span", {}, choice.label)));
    });
    $("survey-feedback-field").hidden = !survey.feedback;
    $("survey-feedback-label").textContent = survey.feedback_prompt;
    form.hidden = false;
  }

  async function submit(event) {
    event.preventDefault();
    const chosen = form.querySelector("input[name=answer]:checked");
    if (!chosen) { AS.say(errorBox, AS.t("survey_pick"), "error"); return; }
    const body = {answer: chosen.value};
    const feedback = $("survey-feedback").value.trim();
    if (survey.feedback && feedback) body.feedback = feedback;
    $("survey-submit").disabled = true;
    const answer = await AS.api("POST", "/api/v1/customer/survey", body, token);
    $("survey-submit").disabled = false;
    if (answer.status === 204) {
      AS.say(errorBox, "");
      forgetToken();
      showNotice("survey_thanks");
    } else if (answer.status === 409) {
      forgetToken();
      showNotice(null, answer.data.message);
    } else {
      AS.say(errorBox, answer.data.message, "error");
    }
  }

  form.addEventListener("submit", submit);
  form.addEventListener("change", function () { AS.say(errorBox, ""); });
  AS.onLanguage(function () {
    if (noticeKey) showNotice(noticeKey);
    else if (survey) load();
  });
  load();
})();
