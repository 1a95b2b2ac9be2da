/* The camera-app view of the customer page (after the code): preview with the agent's drawings,
 * chat and direction arrows over it, the security code, the recording indicator, the agent's picture,
 * the menu, the survey at the end. customer.js hands the joined session over with ASCall.begin(). */

import {audioOutput, audioOutputs, unlockAudio, useAudioOutput} from "./audio.js";
import {CustomerCall} from "./call.js";
import {ChatWriters} from "./chat.js";
import {dimOutside, drawScene, pictureRect} from "./overlay.js";
import {detect} from "./support.js";
import {CLOSE, GUIDE_GLYPHS, LANGUAGES, PEER_HANDED_OVER, STATE} from "./vocabulary.js";

const $ = (id) => document.getElementById(id);
const GUIDE_MS = 6000;
let call = null;
let chatWriters = new ChatWriters();  // who wrote each chat line, once the call had a third participant
let found = null;
let statusKey = null;
let guideTimer = null;

function say(key, kind) {
  statusKey = key;
  AS.say($("call-status"), key ? AS.t(key) : "", kind);
}

function show(view) {
  for (const id of ["join-view", "joined-view", "permission-view", "call-view", "end-view"]) {
    const node = $(id);
    if (node) node.hidden = id !== view;
  }
  document.body.classList.toggle("in-call", view === "call-view");
}

/* Draw the scene over the preview, the canvas at the screen's pixel density. */
function redraw() {
  const canvas = $("overlay");
  const video = $("preview");
  const ratio = window.devicePixelRatio || 1;
  const w = Math.round(canvas.clientWidth * ratio), h = Math.round(canvas.clientHeight * ratio);
  if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, w, h);
  if (!call || !video.videoWidth) return;
  const q = call.sender.quality;
  const rect = pictureRect(w, h, video.videoWidth, video.videoHeight, q.width, q.height);
  dimOutside(ctx, rect);
  const drawn = drawScene(ctx, call.scene, rect, q.width, (id) => call.anchors.placement(id));
  window.anysupportOverlay = {drawn: drawn, rect: rect};  // what is on the screen, for the tests' probes
  drawFocus(ctx, rect);
}

/* A chat line shows over the picture for a while and then fades (the log's data-fade-ms), so lines
 * never hide the agent's drawing for long; at most CHAT_SHOWN are over the picture at once. The history
 * button opens every kept line (CHAT_KEPT) in a scrollable panel; a tap on the panel closes it. */
const CHAT_KEPT = 50;

/* In a call that had a third participant, an agent's or expert's line starts with its writer's name (its
 * role when it has none); the customer's own lines and a two-party call's stay as they were. */
function chatWriterLabel(line) {
  const writer = chatWriters.writer(line);
  if (!writer || chatWriters.isMine(line) || writer.role === "customer") return null;
  return AS.el("span", {className: "chat-writer"}, (writer.name || roleName(writer)) + ": ");
}

function addChat(line) {
  const log = $("chat-log");
  const item = AS.el("li", {className: "chat-" + line.from}, chatWriterLabel(line), line.text);
  item.chatLine = line;
  log.appendChild(item);
  while (log.children.length > CHAT_KEPT) log.removeChild(log.firstChild);
  window.setTimeout(() => item.classList.add("faded"), Number(log.dataset.fadeMs) || 8000);
  renderChatHistory();
}

/* A third participant joined: the lines already kept name their writers too (as the console's do). */
function nameChatLines() {
  for (const item of $("chat-log").children) {
    if (!item.chatLine || item.querySelector(".chat-writer")) continue;
    const label = chatWriterLabel(item.chatLine);
    if (label) item.prepend(label);
  }
}

function renderChatHistory() {
  const log = $("chat-log"), button = $("chat-history");
  const open = log.classList.contains("open");
  button.hidden = log.children.length === 0;
  button.setAttribute("aria-pressed", String(open));
  button.textContent = AS.t(open ? "chat_history_close" : "chat_history", {count: log.children.length});
  if (open) log.scrollTop = log.scrollHeight;
}

function toggleChatHistory(open) {
  $("chat-log").classList.toggle("open", open);
  renderChatHistory();
}

/* New keys mid-call (a reload, a node that died, a new exchange): the security code changed. Say so
 * prominently, with the new code, until the customer has had time to compare it (issue 18 #7). */
const CODE_CHANGED_MS = 20000;
const noticeTimers = new Map();  // notice box id → its hiding timer
const noticeTexts = new Map();  // notice box id → its text in the current language (made again on a change)

/* A notice at the top, shown for a while (the box's data-show-ms, else CODE_CHANGED_MS): a changed code, a
 * new agent, who joined or left. Its text follows the page's language while it is shown. */
function showNotice(id, text, onHide) {
  const box = $(id);
  noticeTexts.set(id, text);
  box.textContent = text();
  box.hidden = false;
  window.clearTimeout(noticeTimers.get(id));
  noticeTimers.set(id, window.setTimeout(() => {
    box.hidden = true;
    if (onHide) onHide();
  }, Number(box.dataset.showMs) || CODE_CHANGED_MS));
}

function codeChanged(code) {
  $("sas-changed").dataset.code = code;
  $("sas-badge").classList.add("changed");
  showNotice("sas-changed", () => AS.t("sas_changed", {code: code}), () => $("sas-badge").classList.remove("changed"));
}

/* Another agent took the call over: say who, as prominently and as long as a changed code (the new
 * code follows with the new agent's key exchange). Nobody joins a call unseen. */
function agentChanged(name) {
  $("agent-changed").dataset.name = name || "";
  showNotice("agent-changed", () => AS.t("agent_changed", {name: name || ""}));
}

/* Who is present (issue 21): each participant's name and role, and for each agent this page has its own
 * key with (version 2), that pair's security code. Nobody is present unseen. */
function roleName(p) {
  if (p.role === "guest") return AS.t(p.rights === "view" ? "people_guest_view" : "people_guest");
  return AS.t("people_" + p.role);
}

function renderPeople() {
  const list = $("people");
  if (!call) return;
  const people = call.people;
  list.setAttribute("aria-label", AS.t("people_title"));
  list.replaceChildren(...people.map((p) => {
    const item = document.createElement("li");
    item.dataset.index = String(p.index);
    item.classList.toggle("away", p.present === false);
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = p.name || "";
    const role = document.createElement("span");
    role.className = "role";
    role.textContent = roleName(p) + (p.present === false ? " · " + AS.t("people_away") : "");
    item.append(name, role);
    const code = p.index !== call.participantIndex ? call.pairCode(p.index) : null;
    if (code) {
      const badge = document.createElement("span");
      badge.className = "code";
      badge.textContent = AS.t("sas_label") + " " + code;
      item.append(badge);
    }
    return item;
  }));
  list.hidden = people.length === 0;
  // the notices at the top (a changed code, a new agent) go below the list, never over it
  $("stage").style.setProperty("--people-h", (list.hidden ? 0 : list.offsetHeight) + "px");
}

/* A notice on every join and leave, as prominent as a changed code. */
function peopleChanged(joined, left) {
  if (!joined.length && !left.length) return;
  showNotice("people-changed", () => joined.map((p) => AS.t("people_joined", {name: p.name || "", role: roleName(p)}))
    .concat(left.map((p) => AS.t("people_left", {name: p.name || "", role: roleName(p)}))).join(" "));
}

/* The point the agent asked the camera to focus on, as a ring for a moment (solid when the camera took
 * it, dashed when it could not). */
const FOCUS_MS = 1500;
let focusRing = null;

function showFocus(focus) {
  focusRing = {x: focus.x, y: focus.y, applied: focus.applied, until: performance.now() + FOCUS_MS};
  redraw();
  window.setTimeout(redraw, FOCUS_MS + 20);
}

function drawFocus(ctx, rect) {
  if (!focusRing || performance.now() > focusRing.until) { focusRing = null; return; }
  const r = Math.max(18, Math.min(rect.w, rect.h) * 0.08);
  ctx.save();
  ctx.strokeStyle = focusRing.applied ? "#ffeb3b" : "#ffffff";
  ctx.lineWidth = 3;
  if (!focusRing.applied) ctx.setLineDash([6, 6]);
  ctx.beginPath();
  ctx.arc(rect.x + focusRing.x * rect.w, rect.y + focusRing.y * rect.h, r, 0, 2 * Math.PI);
  ctx.stroke();
  ctx.restore();
}

function showGuide(direction) {
  const box = $("guide");
  box.dataset.direction = direction;
  box.querySelector(".guide-arrow").textContent = GUIDE_GLYPHS[direction] || "";
  box.querySelector(".guide-text").textContent = AS.t("guide_" + direction);
  box.hidden = false;
  window.clearTimeout(guideTimer);
  guideTimer = window.setTimeout(() => { box.hidden = true; }, GUIDE_MS);
}

let lastAgentCode = null;  // the agent's code last shown: a different one is announced (pair_keys)

function renderMenu() {
  if (!call) return;
  const caps = call.capabilities();
  const flash = $("menu-flash");
  flash.disabled = !caps.flash;
  flash.setAttribute("aria-pressed", call.camera.flash ? "true" : "false");
  flash.title = caps.flash ? "" : AS.t("flash_unavailable");
  $("menu-switch").disabled = caps.cameras.length < 2;
  const video = $("menu-video");
  video.dataset.t = call.sender.enabled ? "menu_video_off" : "menu_video_on";
  video.textContent = AS.t(video.dataset.t);
  $("sas-badge").textContent = call.sas ? AS.t("sas_label") + " " + call.sas : "";
  if (call.sas) lastAgentCode = call.sas;
  $("sas-badge").hidden = !call.sas;
  $("sas-badge").title = AS.t("sas_hint");
  $("recording-badge").hidden = !call.recording;
  $("voice-badge").hidden = !(call.agentVideo && call.agentVoice && caps.audio);
  // the session's agent's picture, or an invited expert's while the agent shows none (call.pictureFrom)
  $("agent-video").hidden = !(call.pictureFrom !== null && call.stats.agent_frames > 0);
  renderPeople();
}

/* 소리 출력: where the browser can move the sound (AudioContext.setSinkId, more than one output), the
 * customer picks the output in a sheet; elsewhere the button is hidden (a page cannot force the
 * loudspeaker, and the agent's viewer says so from capabilities.speakerphone false). */
async function refreshOutputs() {
  let outputs = [];
  try { outputs = await audioOutputs(); } catch (e) { outputs = []; }
  $("menu-speaker").hidden = outputs.length === 0;
  const list = $("output-list");
  AS.clear(list);
  const current = audioOutput();
  outputs.forEach((device, i) => {
    const button = AS.el("button", {type: "button", className: "output"},
      device.label || AS.t("output_unnamed", {n: i + 1}));
    button.setAttribute("aria-pressed", String(device.deviceId === current));
    button.addEventListener("click", async () => {
      try {
        await useAudioOutput(device.deviceId);
        $("output-sheet").hidden = true;
        say(null);
      } catch (e) {
        say("output_failed", "error");
      }
      refreshOutputs();
    });
    list.appendChild(button);
  });
  return outputs;
}

function permissionProblem(name) {
  const key = name === "NotAllowedError" || name === "SecurityError" ? "permission_denied"
    : name === "NotFoundError" || name === "OverconstrainedError" ? "camera_missing" : "camera_failed";
  $("permission-text").dataset.t = key;
  $("permission-text").textContent = AS.t(key);
  show("permission-view");
}

function endView(detail) {
  show("end-view");
  const reason = detail && detail.expire_reason;
  const closed = {lost: "connection_lost", ["closed_" + CLOSE.replaced]: "replaced_elsewhere",
                  ["closed_" + CLOSE.kicked]: "token_revoked"};
  const key = reason ? "end_" + reason : closed[detail && detail.reason] || "state_expired";
  const text = $("end-reason");
  text.dataset.t = AS.t(key) === key ? "state_expired" : key;
  text.textContent = AS.t(text.dataset.t);
}

function showSurvey(survey) {
  endView({expire_reason: call.endReason});
  const form = $("call-survey");
  form.hidden = false;
  $("call-survey-question").textContent = survey.question;
  const choices = $("call-survey-choices");
  AS.clear(choices);
  survey.choices.forEach((choice, i) => {
    const id = "call-choice-" + i;
    choices.appendChild(AS.el("p", {className: "choice"},
      AS.el("input", {type: "radio", name: "call-answer", value: choice.value, id: id}),
      AS.el("label", {htmlFor: id}, choice.label)));
  });
  $("call-feedback-field").hidden = !survey.feedback;
  // the administrator's prompt, as the admin page's preview shows it (the same text the survey page uses)
  $("call-feedback-label").textContent = survey.feedback_prompt || AS.t("feedback_placeholder");
}

function wire() {
  call.addEventListener("state", (e) => {
    const state = e.detail.state;
    if (state === STATE.online) say("state_online");
    else if (state === STATE.connected) say(call.sas ? null : "call_securing");
    renderMenu();
  });
  call.addEventListener("keys", (e) => {
    // version-1 keys: their code is the one shown unless the call speaks (or is about to speak) version 2,
    // where only the pairs' codes are; a code never shown is never announced as changed
    const shown = call.sas === e.detail.sas_display;
    say(call.sas ? null : "call_securing");
    renderMenu();
    if (e.detail.generation > 1 && shown) codeChanged(e.detail.sas_display);
  });
  call.addEventListener("key_failed", (e) => say(e.detail.code === "rekey_limit" ? "rekey_limited" : "key_failed", "error"));
  call.addEventListener("connection", (e) => say(e.detail.status === "reconnecting" ? "reconnecting" : null));
  call.addEventListener("peer", (e) => {
    if (e.detail.peer !== "agent") return;
    if (e.detail.status === PEER_HANDED_OVER) {
      agentChanged(e.detail.name);
      return;
    }
    say(e.detail.status === "reconnecting" ? "agent_reconnecting" : null);
  });
  call.addEventListener("participants", (e) => {
    chatWriters.learn(e.detail.participants, e.detail.you);
    nameChatLines();
    renderMenu();
    peopleChanged(e.detail.joined, e.detail.left);
  });
  call.addEventListener("pair_keys", (e) => {
    // version 2 replaces the pair's code with the session's agent (the call switched, or the agent's
    // client started again): announced as any changed code
    const shown = lastAgentCode;
    if (e.detail.peer === call.agentIndex && statusKey === "call_securing") say(null);
    renderMenu();
    if (e.detail.peer === call.agentIndex && shown && shown !== e.detail.sas_display) codeChanged(e.detail.sas_display);
  });
  call.addEventListener("camera_state", () => { renderMenu(); redraw(); });
  call.addEventListener("paused", (e) => say(e.detail.hidden ? "paused_hidden" : null));
  call.addEventListener("camera", (e) => {
    // the customer's own stop stands (videoAfter): a request is said by "video_request" instead
    if (e.detail.command === "video" && call.videoPausedBy !== "customer") say(e.detail.on ? null : "paused_agent");
    renderMenu();
  });
  call.addEventListener("video_request", () => {
    say("video_requested");
    $("menu-video").classList.add("attention");
  });
  call.addEventListener("ws_url", (e) => window.ASCustomerPage.saveWsUrl(e.detail.ws_url));
  call.addEventListener("chat", (e) => addChat(e.detail));
  call.addEventListener("guide", (e) => showGuide(e.detail.direction));
  call.addEventListener("focus", (e) => showFocus(e.detail));
  call.addEventListener("annotation", redraw);
  call.addEventListener("anchors", redraw);
  call.addEventListener("recording", renderMenu);
  call.addEventListener("agent_video", renderMenu);
  call.addEventListener("agent_frame", renderMenu);
  call.addEventListener("picture", renderMenu);
  call.addEventListener("survey", (e) => showSurvey(e.detail));
  call.addEventListener("survey_saved", () => {
    $("call-survey").hidden = true;
    AS.say($("call-survey-done"), AS.t("survey_thanks"));
    forgetIfDone();
  });
  call.addEventListener("ended", (e) => {
    if ($("end-view").hidden) endView(e.detail);
    else if (!call.survey) endView(e.detail);
    forgetIfDone();
  });
  $("preview").addEventListener("resize", redraw);
  $("preview").addEventListener("loadedmetadata", redraw);
  window.addEventListener("resize", redraw);
}

/* A session that is over (ended, its survey answered or never asked) is no longer kept for this tab:
 * a reload then opens the code form instead of the end screen again. Until then a reload brings the
 * survey back. */
function forgetIfDone() {
  if (call && call.done()) window.ASCustomerPage.forget();
}

/* "다른 인증번호로 접속" on the end screen: leave this session (an unanswered survey is skipped) and
 * start over at the code form. */
function joinAgain() {
  if (call) call.close();  // its "ended" handler runs with the call still set
  call = null;
  window.anysupportCall = null;
  window.ASCustomerPage.reset();
  show("join-view");
}

async function begin(joined) {
  found = found || await detect();
  if (!found.secure) { window.ASCustomerPage.showJoined("insecure_origin"); return; }
  if (!found.camera) { window.ASCustomerPage.showJoined("camera_missing"); return; }
  if (!found.video_encode) {
    // an encoder that claims H.264 but gave nothing usable on the test frame is named as such
    window.ASCustomerPage.showJoined(found.video_encode_output === "none" ? "encoder_unusable" : "no_webcodecs");
    return;
  }
  if (!found.webcrypto) { window.ASCustomerPage.showJoined("no_webcrypto"); return; }
  show("call-view");
  say("call_camera");
  call = new CustomerCall(joined, found, $("preview"), $("agent-video"));
  chatWriters = new ChatWriters();
  window.anysupportCall = call;  // for the browser's console and the tests' probes
  wire();
  const problem = await call.openCamera();
  if (problem) { permissionProblem(problem); return; }
  $("voice-note").hidden = call.capabilities().audio;
  say(joined.state === STATE.connected ? "call_securing" : "state_online");
  call.start();
  renderMenu();
  refreshOutputs();  // after the camera and microphone permission, so the outputs have names
}

function setup() {
  $("permission-retry").addEventListener("click", () => {
    if (!call) return;
    show("call-view");
    call.openCamera().then((problem) => {
      if (problem) { permissionProblem(problem); return; }
      call.start();
      renderMenu();
    });
  });
  $("permission-app").addEventListener("click", () => {
    if (call) call.stopMedia();
    window.ASCustomerPage.showJoined($("permission-text").dataset.t);
    show("joined-view");
  });
  $("menu-flash").addEventListener("click", () => call && call.setFlash(!call.camera.flash));
  $("menu-switch").addEventListener("click", () => call && call.switchCamera());
  $("menu-video").addEventListener("click", () => {
    if (!call) return;
    call.setVideo(!call.sender.enabled, "customer");
    $("menu-video").classList.remove("attention");
    say(call.sender.enabled ? null : "paused_self");
    renderMenu();
  });
  $("menu-lang").addEventListener("click", () => {
    const next = LANGUAGES[(LANGUAGES.indexOf(AS.lang) + 1) % LANGUAGES.length];
    const button = document.querySelector("[data-lang=" + next + "]");
    if (button) button.click();
  });
  $("menu-end").addEventListener("click", () => {
    if (call && window.confirm(AS.t("confirm_end"))) call.end();
  });
  $("menu-speaker").addEventListener("click", async () => {
    await refreshOutputs();
    $("output-sheet").hidden = false;
  });
  $("output-close").addEventListener("click", () => { $("output-sheet").hidden = true; });
  if (navigator.mediaDevices && navigator.mediaDevices.addEventListener) {
    navigator.mediaDevices.addEventListener("devicechange", refreshOutputs);
  }
  $("chat-history").addEventListener("click", () => toggleChatHistory(!$("chat-log").classList.contains("open")));
  $("chat-log").addEventListener("click", () => toggleChatHistory(false));
  $("chat-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const input = $("chat-input");
    const text = input.value.trim();
    if (text && call && call.sendChat(text)) input.value = "";
  });
  $("end-join-again").addEventListener("click", joinAgain);
  $("call-survey").addEventListener("submit", (event) => {
    event.preventDefault();
    const picked = document.querySelector("input[name=call-answer]:checked");
    if (!picked) { AS.say($("call-survey-error"), AS.t("survey_pick"), "error"); return; }
    AS.say($("call-survey-error"), "");
    call.answerSurvey(picked.value, $("call-feedback").value.trim());
  });
  AS.onLanguage(() => {
    if (statusKey) say(statusKey);
    renderMenu();
    for (const [id, text] of noticeTexts) if (!$(id).hidden) $(id).textContent = text();
    renderChatHistory();
    const guide = $("guide");
    if (!guide.hidden) guide.querySelector(".guide-text").textContent = AS.t("guide_" + guide.dataset.direction);
  });
}

setup();
window.ASCall = {begin: begin, unlock: unlockAudio};
