/* The administrator pages: agents, records and statistics, trouble types, the survey, default canned
 * phrases, site settings, and the live sessions with 참관 (supervise).
 * Logs in through the REST API and keeps the bearer token in sessionStorage (no cookies). */
"use strict";

(function () {
  const TOKEN_KEY = "anysupport.admin";
  const TAB_KEY = "anysupport.admin_tab";
  const CHOICES = AS.vocabulary.SATISFACTION;
  const $ = function (id) { return document.getElementById(id); };
  const el = AS.el;
  const t = AS.t;
  let session = loadSession();   // {token, agent}
  let agents = [];
  let editingAgent = null;        // login being edited, or null when adding
  let types = [];                 // flat list
  let typeTree = [];
  let selectedType = null;        // id
  let phrases = [];
  let statusMessage = null;       // {key, fields} or {text}
  let statusTimer = null;
  let loginError = null;

  // -- session ---------------------------------------------------------------------------------------
  function loadSession() {
    try { return JSON.parse(window.sessionStorage.getItem(TOKEN_KEY) || "null"); } catch (e) { return null; }
  }

  function saveSession(value) {
    try {
      if (value) window.sessionStorage.setItem(TOKEN_KEY, JSON.stringify(value));
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage refused: the login lasts as long as the page */ }
  }

  async function call(method, path, body) {
    const answer = await AS.api(method, path, body, session && session.token);
    if (answer.status === 401 && session) {
      endSession({key: "session_expired"});
    }
    return answer;
  }

  function showLoginError(error) {
    loginError = error;
    const text = !error ? "" : error.key ? t(error.key) : error.text;
    AS.say($("login-error"), text, "error");
  }

  async function login(event) {
    event.preventDefault();
    // a web login is not a console: it does not collide with the admin's own open console
    const body = {login: $("login-id").value.trim(), password: $("login-password").value, client: "web"};
    if (!body.login || !body.password) return;
    $("login-button").disabled = true;
    const answer = await AS.api("POST", "/api/v1/auth/login", body);
    $("login-button").disabled = false;
    if (answer.status !== 200) {
      let text = answer.data.message;
      if (answer.status === 429 && answer.data.retry_after && text.indexOf(String(answer.data.retry_after)) < 0) {
        text += " " + t("retry_in", {seconds: answer.data.retry_after});
      }
      showLoginError({text: text});
      return;
    }
    if (answer.data.agent.role !== "admin") {
      // an agent's login must not linger: give the token back at once
      await AS.api("POST", "/api/v1/auth/logout", undefined, answer.data.token);
      $("login-password").value = "";
      showLoginError({key: "admin_required"});
      return;
    }
    $("login-password").value = "";
    showLoginError(null);
    session = {token: answer.data.token, agent: answer.data.agent};
    saveSession(session);
    enter();
  }

  async function logout() {
    if (session) await AS.api("POST", "/api/v1/auth/logout", undefined, session.token);
    endSession(null);
  }

  function endSession(error) {
    session = null;
    saveSession(null);
    $("admin-view").hidden = true;
    $("who").hidden = true;
    $("logout").hidden = true;
    $("login-view").hidden = false;
    showLoginError(error);
    $("login-id").focus();
  }

  function enter() {
    $("login-view").hidden = true;
    $("admin-view").hidden = false;
    $("who").hidden = false;
    $("logout").hidden = false;
    $("who").textContent = t("logged_in_as", {name: session.agent.name, login: session.agent.login});
    let tab = "agents";
    try { tab = window.sessionStorage.getItem(TAB_KEY) || "agents"; } catch (e) { tab = "agents"; }
    showTab(tab);
  }

  // -- tabs and status ---------------------------------------------------------------------------------
  const loaders = {agents: loadAgents, records: loadRecords, types: loadTypes, survey: loadSurvey, phrases: loadPhrases,
    site: loadSite, live: loadLive};

  function showTab(name) {
    if (!loaders[name]) name = "agents";
    document.querySelectorAll("[data-tab]").forEach(function (b) {
      b.setAttribute("aria-selected", b.dataset.tab === name ? "true" : "false");
    });
    document.querySelectorAll("[data-panel]").forEach(function (p) { p.hidden = p.dataset.panel !== name; });
    try { window.sessionStorage.setItem(TAB_KEY, name); } catch (e) { /* not remembered */ }
    status(null);
    loaders[name]();
  }

  /* The status line under the tabs: our texts by key (redrawn on a language switch) or an API message. */
  function status(message, kind) {
    statusMessage = message ? Object.assign({kind: kind || "ok"}, message) : null;
    window.clearTimeout(statusTimer);
    drawStatus();
  }

  function drawStatus() {
    const m = statusMessage;
    AS.say($("status"), !m ? "" : m.key ? t(m.key, m.fields) : m.text, m ? m.kind : null);
    if (m && m.secret) showSecret($("status"), m);
  }

  /* A generated password inside its sentence: in a monospace box (I, l and 1 told apart) with a copy
   * button, so it is passed on exactly. */
  function showSecret(node, m) {
    const value = m.fields[m.secret];
    const marker = "\u0000";
    const parts = t(m.key, Object.assign({}, m.fields, {[m.secret]: marker})).split(marker);
    const code = document.createElement("code");
    code.className = "secret";
    code.id = "generated-password";
    code.textContent = value;
    const button = document.createElement("button");
    button.type = "button";
    button.className = "copy-secret";
    button.textContent = t("copy");
    button.addEventListener("click", async function () {
      button.textContent = (await AS.copy(code)) ? t("copied") : t("copy");
    });
    node.replaceChildren(parts[0], code, " ", button, parts.slice(1).join(value));
  }

  function failed(answer) {
    if (answer.status === 401) return;
    status({text: answer.data.message}, "error");
  }

  // -- agents ----------------------------------------------------------------------------------------
  async function loadAgents() {
    const answer = await call("GET", "/api/v1/admin/agents");
    if (answer.status !== 200) { failed(answer); return; }
    agents = answer.data.agents;
    drawAgents();
  }

  function drawAgents() {
    const body = $("agents-table").querySelector("tbody");
    AS.clear(body);
    if (!agents.length) {
      body.appendChild(el("tr", {}, el("td", {colSpan: 6, className: "empty"}, t("agents_empty"))));
    }
    agents.forEach(function (agent) {
      const me = session && agent.login === session.agent.login;
      body.appendChild(el("tr", {dataset: {login: agent.login}, className: agent.disabled ? "disabled" : ""},
        el("td", {className: "mono"}, agent.login),
        el("td", {}, agent.name),
        el("td", {className: "num"}, agent.number === null || agent.number === undefined ? "" : String(agent.number)),
        el("td", {}, t(agent.role === "admin" ? "role_admin" : "role_agent")),
        el("td", {}, t(agent.disabled ? "status_disabled" : "status_active")),
        el("td", {className: "row-actions"},
          el("button", {type: "button", className: "agent-edit", on: {click: function () { editAgent(agent); }}}, t("edit")),
          me ? null : el("button", {type: "button", className: "agent-toggle",
            on: {click: function () { setDisabled(agent, !agent.disabled); }}}, t(agent.disabled ? "enable" : "disable")),
          el("button", {type: "button", className: "agent-reset", on: {click: function () { resetPassword(agent); }}},
            t("reset_password")),
          me ? null : el("button", {type: "button", className: "agent-delete danger",
            on: {click: function () { deleteAgent(agent); }}}, t("delete")))));
    });
  }

  function editAgent(agent) {
    editingAgent = agent ? agent.login : null;
    $("agent-login").value = agent ? agent.login : "";
    $("agent-login").disabled = !!agent;
    $("agent-name").value = agent ? agent.name : "";
    $("agent-number").value = agent && agent.number ? String(agent.number) : "";
    $("agent-role").value = agent ? agent.role : "agent";
    $("agent-password").value = "";
    $("agent-password-field").hidden = !!agent;
    $("agent-cancel").hidden = !agent;
    drawAgentForm();
    if (agent) $("agent-name").focus();
  }

  function drawAgentForm() {
    const title = $("agent-form-title");
    title.textContent = editingAgent ? t("agent_edit_title", {login: editingAgent}) : t("agent_add_title");
    if (!editingAgent) title.dataset.t = "agent_add_title"; else delete title.dataset.t;
    const submit = $("agent-submit");
    submit.dataset.t = editingAgent ? "save" : "add";
    submit.textContent = t(submit.dataset.t);
  }

  async function submitAgent(event) {
    event.preventDefault();
    const body = {name: $("agent-name").value.trim(), role: $("agent-role").value};
    const number = $("agent-number").value.trim();
    if (number) body.number = parseInt(number, 10);
    let answer;
    if (editingAgent) {
      answer = await call("PATCH", "/api/v1/admin/agents/" + encodeURIComponent(editingAgent), body);
    } else {
      body.login = $("agent-login").value.trim();
      const password = $("agent-password").value;
      if (password) body.password = password;
      answer = await call("POST", "/api/v1/admin/agents", body);
    }
    if (answer.status !== 200 && answer.status !== 201) { failed(answer); return; }
    const login = answer.data.agent.login;
    if (answer.data.password) {
      status({key: "password_generated", fields: {login: login, password: answer.data.password}, secret: "password"});
    } else {
      status({key: editingAgent ? "agent_saved" : "agent_created", fields: {login: login}});
    }
    editAgent(null);
    await loadAgents();
  }

  async function setDisabled(agent, disabled) {
    const answer = await call("PATCH", "/api/v1/admin/agents/" + encodeURIComponent(agent.login), {disabled: disabled});
    if (answer.status !== 200) { failed(answer); return; }
    status({key: "agent_saved", fields: {login: agent.login}});
    await loadAgents();
  }

  async function resetPassword(agent) {
    const answer = await call("POST", "/api/v1/admin/agents/" + encodeURIComponent(agent.login) + "/password", {});
    if (answer.status !== 200) { failed(answer); return; }
    status({key: "password_generated", fields: {login: agent.login, password: answer.data.password}, secret: "password"});
  }

  async function deleteAgent(agent) {
    if (!window.confirm(t("confirm_delete_agent", {login: agent.login}))) return;
    const answer = await call("DELETE", "/api/v1/admin/agents/" + encodeURIComponent(agent.login));
    if (answer.status !== 204) { failed(answer); return; }
    if (editingAgent === agent.login) editAgent(null);
    status({key: "agent_deleted", fields: {login: agent.login}});
    await loadAgents();
  }

  // -- trouble types ---------------------------------------------------------------------------------
  async function loadTypes() {
    const answer = await call("GET", "/api/v1/admin/trouble-types");
    if (answer.status !== 200) { failed(answer); return; }
    types = answer.data.trouble_types;
    typeTree = answer.data.tree;
    if (selectedType && !types.some(function (x) { return x.id === selectedType; })) selectedType = null;
    drawTypes();
  }

  function typeById(id) {
    return types.find(function (x) { return x.id === id; }) || null;
  }

  function drawTypes() {
    const holder = $("types-tree");
    AS.clear(holder);
    if (!typeTree.length) {
      holder.appendChild(el("p", {className: "empty"}, t("types_empty")));
    } else {
      holder.appendChild(drawTypeLevel(typeTree));
    }
    fillParentSelect($("type-add-parent"), null, $("type-add-parent").value);
    const chosen = selectedType && typeById(selectedType);
    $("type-edit-fields").hidden = !chosen;
    $("type-pick").hidden = !!chosen;
    if (chosen) {
      fillParentSelect($("type-edit-parent"), chosen.id, chosen.parent_id || "");
    }
  }

  function drawTypeLevel(nodes) {
    const list = el("ul", {attrs: {role: "group"}});
    nodes.forEach(function (node) {
      const button = el("button", {type: "button", className: "type-node", dataset: {id: node.id},
        attrs: {"aria-pressed": node.id === selectedType ? "true" : "false"},
        on: {click: function () { selectType(node.id); }}}, node.name);
      const item = el("li", {className: node.retired ? "retired" : ""}, button,
        node.retired ? el("span", {className: "badge"}, t("type_retired")) : null);
      if (node.children && node.children.length) item.appendChild(drawTypeLevel(node.children));
      list.appendChild(item);
    });
    return list;
  }

  /* Options: top level, then every active type as an indented path; `moving` and its subtree are
   * left out (a type cannot move under itself). */
  function fillParentSelect(select, moving, value) {
    AS.clear(select);
    select.appendChild(el("option", {value: ""}, t("type_top")));
    (function walk(nodes, depth) {
      nodes.forEach(function (node) {
        if (node.id === moving) return;
        if (!node.retired) {
          select.appendChild(el("option", {value: node.id}, "\u00a0\u00a0".repeat(depth) + node.name));
        }
        walk(node.children || [], depth + 1);
      });
    })(typeTree, 0);
    select.value = value || "";
    if (select.value !== (value || "")) select.value = "";
  }

  function selectType(id) {
    selectedType = id;
    const chosen = typeById(id);
    drawTypes();
    if (chosen) {
      $("type-edit-name").value = chosen.name;
      $("type-edit-name").focus();
    }
  }

  async function addType(event) {
    event.preventDefault();
    const name = $("type-add-name").value.trim();
    if (!name) return;
    const parent = $("type-add-parent").value || null;
    $("type-add").disabled = true;
    const answer = await call("POST", "/api/v1/admin/trouble-types", {name: name, parent_id: parent});
    $("type-add").disabled = false;
    if (answer.status !== 201) { failed(answer); return; }
    if ($("type-add-name").value.trim() === name) $("type-add-name").value = "";
    status({key: "type_added", fields: {name: answer.data.name}});
    await loadTypes();
  }

  async function saveType(event) {
    event.preventDefault();
    const chosen = typeById(selectedType);
    if (!chosen) return;
    const changes = {};
    const name = $("type-edit-name").value.trim();
    const parent = $("type-edit-parent").value || null;
    if (name && name !== chosen.name) changes.name = name;
    if (parent !== (chosen.parent_id || null)) changes.parent_id = parent;
    if (!Object.keys(changes).length) { status({key: "type_saved", fields: {name: chosen.name}}); return; }
    const answer = await call("PATCH", "/api/v1/admin/trouble-types/" + chosen.id, changes);
    if (answer.status !== 200) { failed(answer); return; }
    status({key: "type_saved", fields: {name: answer.data.name}});
    await loadTypes();
  }

  async function deleteType() {
    const chosen = typeById(selectedType);
    if (!chosen) return;
    if (!window.confirm(t("confirm_delete_type", {name: chosen.name}))) return;
    const answer = await call("DELETE", "/api/v1/admin/trouble-types/" + chosen.id);
    if (answer.status !== 200) { failed(answer); return; }
    const retired = answer.data.result === "retired";
    status({key: retired ? "type_retired_msg" : "type_deleted", fields: {name: chosen.name}}, retired ? "info" : "ok");
    if (!retired) selectedType = null;
    await loadTypes();
  }

  // -- survey ----------------------------------------------------------------------------------------
  async function loadSurvey() {
    const answer = await call("GET", "/api/v1/admin/survey");
    if (answer.status !== 200) { failed(answer); return; }
    const s = answer.data;
    $("survey-enabled").checked = !!s.enabled;
    $("survey-question-ko").value = s.question.ko || "";
    $("survey-question-en").value = s.question.en || "";
    CHOICES.forEach(function (value) {
      const choice = s.choices.find(function (c) { return c.value === value; }) || {label: {}};
      $("survey-" + value + "-ko").value = choice.label.ko || "";
      $("survey-" + value + "-en").value = choice.label.en || "";
    });
    $("survey-feedback").checked = !!s.feedback;
    const prompt = s.feedback_prompt || {};
    $("survey-prompt-ko").value = prompt.ko || "";
    $("survey-prompt-en").value = prompt.en || "";
    drawPreview();
  }

  function surveyFromForm() {
    const both = function (id) { return {ko: $(id + "-ko").value.trim(), en: $(id + "-en").value.trim()}; };
    return {
      enabled: $("survey-enabled").checked,
      question: both("survey-question"),
      choices: CHOICES.map(function (value) { return {value: value, label: both("survey-" + value)}; }),
      feedback: $("survey-feedback").checked,
      feedback_prompt: both("survey-prompt"),
    };
  }

  function drawPreview() {
    const s = surveyFromForm();
    const lang = $("preview-lang").value;
    $("preview-off").hidden = s.enabled;
    $("survey-preview").classList.toggle("off", !s.enabled);
    $("preview-question").textContent = s.question[lang];
    const box = $("preview-choices");
    AS.clear(box);
    s.choices.forEach(function (choice) {
      box.appendChild(el("label", {className: "choice"},
        el("input", {type: "radio", name: "preview-answer", value: choice.value}),
        el("span", {}, choice.label[lang])));
    });
    $("preview-feedback").hidden = !s.feedback;
    $("preview-prompt").textContent = s.feedback_prompt[lang];
  }

  async function saveSurvey(event) {
    event.preventDefault();
    const answer = await call("PUT", "/api/v1/admin/survey", surveyFromForm());
    if (answer.status !== 200) { failed(answer); return; }
    status({key: "survey_saved"});
    await loadSurvey();
  }

  // -- default canned phrases ------------------------------------------------------------------------
  async function loadPhrases() {
    const answer = await call("GET", "/api/v1/admin/phrases");
    if (answer.status !== 200) { failed(answer); return; }
    phrases = answer.data.phrases;
    drawPhrases();
  }

  function drawPhrases() {
    const body = $("phrases-table").querySelector("tbody");
    AS.clear(body);
    if (!phrases.length) body.appendChild(el("tr", {}, el("td", {colSpan: 3, className: "empty"}, t("phrases_empty"))));
    phrases.forEach(function (phrase) {
      const text = el("input", {value: phrase.text, maxLength: 500, className: "phrase-text",
        attrs: {"aria-label": t("phrase_text")}});
      const shortcut = el("input", {value: phrase.shortcut || "", maxLength: 20, className: "phrase-shortcut",
        attrs: {"aria-label": t("phrase_shortcut")}});
      body.appendChild(el("tr", {dataset: {id: phrase.id}},
        el("td", {className: "grow"}, text),
        el("td", {}, shortcut),
        el("td", {className: "row-actions"},
          el("button", {type: "button", className: "phrase-save", on: {click: function () {
            savePhrase(phrase, text.value.trim(), shortcut.value.trim());
          }}}, t("save")),
          el("button", {type: "button", className: "phrase-delete danger", on: {click: function () {
            deletePhrase(phrase);
          }}}, t("delete")))));
    });
  }

  async function savePhrase(phrase, text, shortcut) {
    const answer = await call("PATCH", "/api/v1/admin/phrases/" + phrase.id, {text: text, shortcut: shortcut || null});
    if (answer.status !== 200) { failed(answer); return; }
    status({key: "phrase_saved"});
    await loadPhrases();
  }

  async function deletePhrase(phrase) {
    const answer = await call("DELETE", "/api/v1/admin/phrases/" + phrase.id);
    if (answer.status !== 204) { failed(answer); return; }
    status({key: "phrase_deleted"});
    await loadPhrases();
  }

  async function addPhrase(event) {
    event.preventDefault();
    const body = {text: $("phrase-add-text").value.trim()};
    const shortcut = $("phrase-add-shortcut").value.trim();
    if (!body.text) return;
    if (shortcut) body.shortcut = shortcut;
    $("phrase-add").disabled = true;
    const answer = await call("POST", "/api/v1/admin/phrases", body);
    $("phrase-add").disabled = false;
    if (answer.status !== 201) { failed(answer); return; }
    if ($("phrase-add-text").value.trim() === body.text) {
      $("phrase-add-text").value = "";
      $("phrase-add-shortcut").value = "";
    }
    status({key: "phrase_added"});
    await loadPhrases();
  }

  // -- records and statistics --------------------------------------------------------------------------
  // Every agent's records (an admin's scope), the three statistics tables and the workbook, over the
  // same period and agent; days and times in the server's zone (GET /api/v1/me time_zone), as the
  // workbook and the console show them.
  const RECENT = 100;
  let zone = null;           // the server's time zone
  let recordsOpened = false;  // the first showing fills in the current month
  let records = null;         // {stats, list, total}

  function zoneToday() {
    // en-CA formats a date as YYYY-MM-DD
    return new Intl.DateTimeFormat("en-CA", {timeZone: zone || undefined}).format(new Date());
  }

  function zoneTime(iso) {
    if (!iso) return "";
    const parts = new Intl.DateTimeFormat("en-CA", {timeZone: zone || undefined, year: "numeric", month: "2-digit",
      day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23"}).formatToParts(new Date(iso));
    const p = {};
    parts.forEach(function (part) { p[part.type] = part.value; });
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute;
  }

  function recordsQuery() {
    const q = new URLSearchParams();
    if (!$("records-whole").checked) {
      q.set("from", $("records-from").value);
      q.set("to", $("records-to").value);
    }
    if ($("records-agent").value) q.set("agent", $("records-agent").value);
    q.set("lang", AS.lang);
    return q;
  }

  function periodChosen() {
    return $("records-whole").checked || ($("records-from").value && $("records-to").value);
  }

  async function loadRecords() {
    if (!zone || !recordsOpened) {
      const [me, list] = await Promise.all([call("GET", "/api/v1/me"), call("GET", "/api/v1/admin/agents")]);
      if (me.status !== 200) { failed(me); return; }
      if (list.status === 200) agents = list.data.agents;
      zone = me.data.time_zone;
    }
    if (!recordsOpened) {
      recordsOpened = true;
      const today = zoneToday();
      $("records-from").value = today.slice(0, 8) + "01";
      $("records-to").value = today;
    }
    drawRecordsForm();
    await showRecords();
  }

  function drawRecordsForm() {
    $("records-intro").textContent = t("records_intro", {zone: zone || ""});
    const select = $("records-agent");
    const chosen = select.value;
    AS.clear(select);
    select.appendChild(el("option", {value: ""}, t("records_all_agents")));
    agents.forEach(function (agent) {
      select.appendChild(el("option", {value: agent.login}, agent.name + " (" + agent.login + ")"));
    });
    select.value = chosen;
    $("records-from").disabled = $("records-to").disabled = $("records-whole").checked;
  }

  async function showRecords(event) {
    if (event) event.preventDefault();
    if (!periodChosen()) { status({key: "records_bad_period"}, "error"); return; }
    const q = recordsQuery();
    const stats = await call("GET", "/api/v1/records/stats?" + q);
    if (stats.status !== 200) { failed(stats); return; }
    const total = stats.data.total;
    q.set("limit", String(RECENT));
    q.set("skip", String(Math.max(0, total - RECENT)));  // the list is oldest first: its last page
    const list = await call("GET", "/api/v1/records?" + q);
    if (list.status !== 200) { failed(list); return; }
    records = {stats: stats.data, list: list.data.records.slice().reverse(), total: total};
    drawRecords();
  }

  function labelOf(table, key) {
    const row = records.stats[table].rows.find(function (r) { return r.key === key; });
    return row ? row.label : "";
  }

  function drawRecords() {
    if (!records) return;
    const total = records.total;
    $("records-total").textContent = t(total === 1 ? "records_total_one" : "records_total", {n: total});
    const box = $("records-stats");
    AS.clear(box);
    ["trouble_type", "resolution", "satisfaction"].forEach(function (name) {
      const table = records.stats[name];
      const body = el("tbody", {});
      // the last row, 전체, has no key of its own
      table.rows.concat([Object.assign({isTotal: true}, table.total)]).forEach(function (row) {
        body.appendChild(el("tr", {className: row.isTotal ? "total" : "", dataset: {key: row.isTotal ? "all" : row.key}},
          el("td", {}, row.label),
          el("td", {className: "num"}, String(row.count)),
          el("td", {className: "num"}, (row.ratio * 100).toFixed(1) + "%")));
      });
      box.appendChild(el("table", {className: "grid stat", id: "stats-" + name},
        el("thead", {}, el("tr", {}, el("th", {}, table.title), el("th", {}, t("stat_count")), el("th", {}, t("stat_ratio")))),
        body));
    });
    $("records-recent-title").textContent = t("records_recent", {shown: records.list.length, n: total});
    const rows = $("records-table").querySelector("tbody");
    AS.clear(rows);
    if (!records.list.length) rows.appendChild(el("tr", {}, el("td", {colSpan: 7, className: "empty"}, t("records_empty"))));
    records.list.forEach(function (r) {
      rows.appendChild(el("tr", {dataset: {session: r.session_id}},
        el("td", {className: "num"}, zoneTime(r.started_at)),
        el("td", {}, r.agent_name || r.agent_login || ""),
        el("td", {}, r.customer_name || ""),
        el("td", {}, r.trouble_type_name || labelOf("trouble_type", "unspecified")),
        el("td", {}, labelOf("resolution", r.resolution || "unchecked")),
        el("td", {}, labelOf("satisfaction", r.satisfaction || "no_answer")),
        el("td", {className: "row-actions"}, el("button", {type: "button", className: "record-edit",
          on: {click: function () { editRecord(r.session_id); }}}, t("record_edit")))));
    });
  }

  // -- one record, edited: saves are conditional on the version loaded (If-Match); when someone else
  // saved in between (412 record_changed) their version is taken in, this admin's edits stay on top,
  // and the changed fields are named (issue 18 #5, as the console's form does)
  const RECORD_FIELDS = ["customer_name", "email", "phone", "content", "resolution"];
  const RESOLUTION_KEYS = ["solved", "pending", "onsite_needed"];
  let editing = null;  // {sessionId, base: the fields as loaded, version, record}

  function recordFields(record) {
    const out = {};
    RECORD_FIELDS.forEach(function (name) {
      const v = record[name];
      out[name] = v === undefined || v === "" ? null : v;
    });
    return out;
  }

  function formFields() {
    const out = {};
    RECORD_FIELDS.forEach(function (name) {
      const v = $("record-" + name).value.trim();
      out[name] = v === "" ? null : v;
    });
    return out;
  }

  function fillRecordForm(fields) {
    RECORD_FIELDS.forEach(function (name) { $("record-" + name).value = fields[name] || ""; });
  }

  function drawRecordForm() {
    if (!editing) return;
    const select = $("record-resolution");
    const chosen = select.value;
    AS.clear(select);
    select.appendChild(el("option", {value: ""}, t("record_resolution_none")));
    RESOLUTION_KEYS.forEach(function (key) {
      select.appendChild(el("option", {value: key}, records ? labelOf("resolution", key) : key));
    });
    select.value = chosen;
    $("record-form-title").textContent = t("record_edit_title", {customer: editing.record.customer_name || "-",
      started: zoneTime(editing.record.started_at)});
  }

  async function editRecord(sessionId) {
    const answer = await call("GET", "/api/v1/sessions/" + sessionId + "/record");
    if (answer.status !== 200) { failed(answer); return; }
    editing = {sessionId: sessionId, base: recordFields(answer.data), version: answer.data.version, record: answer.data};
    $("record-form").hidden = false;
    drawRecordForm();
    fillRecordForm(editing.base);
    AS.say($("record-form-note"), "");
    $("record-customer_name").focus();
  }

  async function saveRecord(event) {
    event.preventDefault();
    if (!editing) return;
    const mine = formFields();
    $("record-save").disabled = true;
    const response = await fetch("/api/v1/sessions/" + editing.sessionId + "/record", {
      method: "PUT", credentials: "omit", cache: "no-store",
      headers: {"Authorization": "Bearer " + session.token, "Accept": "application/json", "Accept-Language": AS.lang,
                "Content-Type": "application/json", "If-Match": '"' + editing.version + '"'},
      body: JSON.stringify(mine)});
    $("record-save").disabled = false;
    let data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (response.status === 412 && data && data.record) {
      // someone else saved first: their fields in, ours on top, and say which changed
      const theirs = recordFields(data.record);
      const changed = RECORD_FIELDS.filter(function (name) { return theirs[name] !== editing.base[name]; });
      const merged = {};
      RECORD_FIELDS.forEach(function (name) {
        merged[name] = mine[name] !== editing.base[name] ? mine[name] : theirs[name];
      });
      editing = {sessionId: editing.sessionId, base: theirs, version: data.record.version, record: data.record};
      fillRecordForm(merged);
      drawRecordForm();
      const labels = {customer_name: t("col_customer"), email: t("record_email"), phone: t("record_phone"),
        content: t("record_content"), resolution: t("col_resolution")};
      AS.say($("record-form-note"), t("record_changed_by_other",
        {fields: changed.map(function (n) { return labels[n]; }).join(", ") || "-"}), "error");
      return;
    }
    if (response.status === 401) { endSession({key: "session_expired"}); return; }
    if (!response.ok) {
      AS.say($("record-form-note"), (data && data.message) || t("network_error"), "error");
      return;
    }
    editing = {sessionId: editing.sessionId, base: recordFields(data), version: data.version, record: data};
    AS.say($("record-form-note"), "");
    status({key: "record_saved"});
    await showRecords();
  }

  /* The workbook of the period, fetched with the admin's token (no cookie to send) and saved under the
   * server's file name; the bytes received so far show while the server builds it. */
  async function exportRecords() {
    if (!periodChosen()) { status({key: "records_bad_period"}, "error"); return; }
    const button = $("records-export"), progress = $("records-progress");
    button.disabled = true;
    progress.hidden = false;
    progress.removeAttribute("value");
    status({key: "records_exporting", fields: {size: ""}});
    try {
      const response = await fetch("/api/v1/records/export.xlsx?" + recordsQuery(), {
        headers: {"Authorization": "Bearer " + session.token, "Accept-Language": AS.lang}, credentials: "omit",
        cache: "no-store"});
      if (!response.ok) {
        let data = null;
        try { data = await response.json(); } catch (e) { data = null; }
        if (response.status === 401) endSession({key: "session_expired"});
        else status({text: (data && data.message) || t("network_error")}, "error");
        return;
      }
      const size = parseInt(response.headers.get("Content-Length") || "0", 10);
      if (size) progress.max = size;
      const reader = response.body.getReader();
      const chunks = [];
      let received = 0;
      for (;;) {
        const {done, value} = await reader.read();
        if (done) break;
        chunks.push(value);
        received += value.length;
        if (size) progress.value = received;
        status({key: "records_exporting", fields: {size: (received / 1e6).toFixed(1) + " MB"}});
      }
      const disposition = response.headers.get("Content-Disposition") || "";
      const match = /filename\*?=(?:UTF-8'')?"?([^";]+)"?/i.exec(disposition);
      const name = match ? decodeURIComponent(match[1]) : "AnySupport-records.xlsx";
      const url = URL.createObjectURL(new Blob(chunks, {type: response.headers.get("Content-Type") || ""}));
      const link = el("a", {href: url, download: name});
      document.body.appendChild(link);
      link.click();
      link.remove();
      window.setTimeout(function () { URL.revokeObjectURL(url); }, 60000);
      status({key: "records_exported", fields: {file: name}});
    } catch (e) {
      status({key: "network_error"}, "error");
    } finally {
      button.disabled = false;
      progress.hidden = true;
    }
  }

  // -- site --------------------------------------------------------------------------------------------
  let currentUrl = "";

  async function loadSite() {
    const [site, shown] = await Promise.all([call("GET", "/api/v1/admin/site"), AS.api("GET", "/api/v1/site")]);
    if (site.status !== 200) { failed(site); return; }
    $("site-url").value = site.data.public_url || "";
    $("site-brand").value = site.data.brand_name || "";
    currentUrl = shown.status === 200 ? shown.data.public_url : "";
    drawSite();
  }

  function drawSite() {
    $("site-current").textContent = currentUrl ? t("site_current", {url: currentUrl}) : "";
  }

  async function saveSite(event) {
    event.preventDefault();
    const answer = await call("PUT", "/api/v1/admin/site",
      {public_url: $("site-url").value.trim(), brand_name: $("site-brand").value.trim()});
    if (answer.status !== 200) { failed(answer); return; }
    status({key: "site_saved"});
    await loadSite();
  }

  // -- live sessions: 참관 (supervise; docs/api.md "/api/v1/admin/live-sessions") ---------------------------
  let live = {sessions: [], console_open: false};

  async function loadLive() {
    const answer = await call("GET", "/api/v1/admin/live-sessions");
    if (answer.status !== 200) { failed(answer); return; }
    live = answer.data;
    drawLive();
  }

  function drawLive() {
    const body = $("live-table").querySelector("tbody");
    AS.clear(body);
    // the call opens in the administrator's console: without one open, say so and offer nothing to press
    $("live-console-closed").hidden = live.console_open;
    if (!live.sessions.length) {
      body.appendChild(el("tr", {}, el("td", {colSpan: 6, className: "empty"}, t("live_empty"))));
    }
    live.sessions.forEach(function (s) {
      let action;
      if (s.supervising) action = el("span", {className: "supervising"}, t("supervising_now"));
      else if (s.state !== "connected") action = null;
      else if (!s.group_capable) action = el("span", {className: "muted"}, t("supervise_not_capable"));
      else action = el("button", {type: "button", className: "supervise", title: t("supervise_tip"),
        disabled: !live.console_open, on: {click: function () { supervise(s); }}}, t("supervise"));
      body.appendChild(el("tr", {dataset: {id: s.id}},
        el("td", {}, s.agent_name + " (" + s.agent_login + ")"),
        el("td", {}, s.customer),
        el("td", {}, t("live_state_" + s.state)),
        el("td", {}, new Date(s.since).toLocaleString(AS.lang === "ko" ? "ko-KR" : "en-GB")),
        el("td", {className: "num"}, String(s.participants)),
        el("td", {className: "row-actions"}, action)));
    });
  }

  async function supervise(s) {
    const answer = await call("POST", "/api/v1/admin/sessions/" + encodeURIComponent(s.id) + "/supervise");
    if (answer.status !== 201) { failed(answer); await loadLive(); return; }
    status({key: "supervise_started", fields: {number: s.number}});
    await loadLive();
  }

  // -- wiring ------------------------------------------------------------------------------------------
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  document.querySelectorAll("[data-tab]").forEach(function (b) {
    b.addEventListener("click", function () { showTab(b.dataset.tab); });
  });
  $("agent-form").addEventListener("submit", submitAgent);
  $("agent-cancel").addEventListener("click", function () { editAgent(null); });
  $("type-add-form").addEventListener("submit", addType);
  $("type-edit-form").addEventListener("submit", saveType);
  $("type-delete").addEventListener("click", deleteType);
  $("survey-form").addEventListener("submit", saveSurvey);
  $("survey-form").addEventListener("input", drawPreview);
  $("survey-form").addEventListener("change", drawPreview);
  $("preview-lang").addEventListener("change", drawPreview);
  $("phrase-add-form").addEventListener("submit", addPhrase);
  $("site-form").addEventListener("submit", saveSite);
  $("live-refresh").addEventListener("click", loadLive);
  $("records-form").addEventListener("submit", showRecords);
  $("records-export").addEventListener("click", exportRecords);
  $("record-form").addEventListener("submit", saveRecord);
  $("record-close").addEventListener("click", function () { editing = null; $("record-form").hidden = true; });
  $("records-whole").addEventListener("change", function () { drawRecordsForm(); showRecords(); });
  // an error is about what was typed: once the person edits a field to correct it, it goes
  $("admin-view").addEventListener("input", function () {
    if (statusMessage && statusMessage.kind === "error") status(null);
  });
  $("login-form").addEventListener("input", function () { if (loginError) showLoginError(null); });

  AS.onLanguage(function (lang) {
    showLoginError(loginError);
    drawStatus();
    if (session) $("who").textContent = t("logged_in_as", {name: session.agent.name, login: session.agent.login});
    drawAgents();
    drawAgentForm();
    if (recordsOpened) { drawRecordsForm(); showRecords(); drawRecordForm(); }  // the tables' titles come in the asked language
    drawTypes();
    drawPhrases();
    drawSite();
    drawLive();
    $("preview-lang").value = lang;
    drawPreview();
  });
  $("preview-lang").value = AS.lang;

  if (session && session.token) enter(); else endSession(null);
})();
