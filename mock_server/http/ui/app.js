// aem-guides-mock dashboard: live updates over server-sent events, buttons that call the JSON
// admin API. Values are written with textContent only: nothing a client sent is parsed as HTML.
"use strict";
(function () {
  const body = document.body;
  const root = body.dataset.root || "";       // the way to /__admin/ui/
  const admin = root + "../";                 // the way to /__admin/
  const byId = (id) => document.getElementById(id);

  function say(text) { const m = byId("message"); if (m) { m.textContent = text; } }

  function time(ms) {  // in UTC, and says so
    return typeof ms === "number" && ms > 0
      ? new Date(ms).toISOString().slice(0, 19).replace("T", " ") + " UTC" : "";
  }

  function button(action, label, enabled, data) {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.action = action;
    Object.assign(b.dataset, data || {});
    b.textContent = label;
    b.disabled = !enabled;
    return b;
  }

  function progress(job) {  // the assets done of the total: a bar once counted, and the figures
    const span = document.createElement("span");
    const total = job.migrationSet ? job.migrationSet.totalFiles : 0;
    if (total) {
      const bar = document.createElement("progress");
      bar.max = total;
      bar.value = Math.min(job.triggeredCount, total);
      span.append(bar, " ");
    }
    const count = document.createElement("span");
    count.className = "count";
    count.textContent = job.triggeredCount + " / " + total;
    span.appendChild(count);
    return span;
  }

  function actions(job, withId) {  // Cancel and Resume, enabled as the job's lifecycle allows
    const data = withId ? { id: job.processingId } : {};
    return [button("cancel", "Cancel", job.cancellable, data), " ", button("resume", "Resume", job.resumable, data)];
  }

  function cell(row, text, className) {
    const td = document.createElement("td");
    td.textContent = text === undefined || text === null ? "" : String(text);
    if (className) { td.className = className; }
    row.appendChild(td);
    return td;
  }

  function jobRow(job) {
    const row = document.createElement("tr");
    row.dataset.id = job.processingId;
    const link = document.createElement("a");
    link.href = root + "jobs/" + encodeURIComponent(job.processingId);
    link.textContent = job.processingId;
    cell(row, "").appendChild(link);
    cell(row, job.path);
    cell(row, job.status, "status " + job.status);
    cell(row, "", "progress").appendChild(progress(job));
    cell(row, job.comments, "comment");
    cell(row, time(job.startedAt));
    cell(row, time(job.completedAt));
    cell(row, job.createdBy);
    cell(row, "").append(...actions(job, true));
    return row;
  }

  function showJobs(jobs) {
    const tbody = byId("jobs-body");
    if (!tbody) { return; }
    tbody.replaceChildren(...jobs.map(jobRow));
    const none = byId("no-jobs");
    if (none) { none.hidden = jobs.length > 0; }
  }

  async function showJob(jobs) {
    let job = jobs.find((j) => j.processingId === body.dataset.job);
    if (!job) {  // older than the newest jobs the stream carries: ask the admin API
      try {
        const answer = await fetch(admin + "jobs/" + encodeURIComponent(body.dataset.job));
        if (!answer.ok) { return; }
        job = await answer.json();
      } catch (error) {
        return;
      }
    }
    const values = {
      status: job.status, path: job.path, triggeredCount: job.triggeredCount,
      totalFiles: job.migrationSet ? job.migrationSet.totalFiles : "",
      createdBy: job.createdBy, startedAt: time(job.startedAt),
      completedAt: time(job.completedAt), comments: job.comments,
    };
    for (const [name, value] of Object.entries(values)) {
      const el = document.querySelector('[data-field="' + name + '"]');
      if (el) { el.textContent = value === undefined || value === null ? "" : String(value); }
    }
    const bar = byId("job-progress");
    if (bar) { bar.replaceChildren(progress(job)); }
    const buttons = byId("job-actions");
    if (buttons) { buttons.replaceChildren(...actions(job, false)); }
    const seen = job.status + "/" + job.triggeredCount;
    if (seen !== lastSeen) { lastSeen = seen; refreshLog(); }
  }

  let lastSeen = "";
  async function refreshLog() {  // the page of the log this page shows, through the admin API
    const query = "?offset=" + body.dataset.offset + "&limit=" + body.dataset.limit;
    try {
      const answer = await fetch(admin + "jobs/" + encodeURIComponent(body.dataset.job) + "/logs" + query);
      if (!answer.ok) { return; }
      const page = await answer.json();
      byId("log").textContent = page.lines.join("\n");
      const first = page.offset + 1;
      byId("log-range").textContent = page.lines.length
        ? "lines " + first + " to " + (page.offset + page.lines.length) + " of " + page.total
        : "no lines here (" + page.total + " in all)";
    } catch (error) {
      say("the log could not be read: " + error);
    }
  }

  function showNewer(recorded) {  // the journal page stays as loaded (it is filtered): say what came since
    const newer = byId("newer");
    const count = recorded - Number(body.dataset.recorded);
    if (!newer || count <= 0) { return; }
    newer.textContent = count + " newer exchange(s): show them";
    newer.hidden = false;
  }

  function show(state) {
    byId("clock").textContent = state.clock;
    byId("scenario-name").textContent = state.scenario;
    document.querySelectorAll('[data-field="clock"]').forEach((el) => { el.textContent = state.clock; });
    if (body.dataset.page === "jobs") { showJobs(state.jobs); }
    if (body.dataset.page === "job") { showJob(state.jobs); }
    if (body.dataset.page === "journal") { showNewer(state.journal); }
  }

  function sessionRow(session) {
    const row = document.createElement("tr");
    row.dataset.name = session.name;
    const link = document.createElement("a");
    link.href = session.default ? "./" : "../../sessions/" + encodeURIComponent(session.name) + "/__admin/ui/";
    link.textContent = session.name;
    cell(row, "").appendChild(link);
    cell(row, session.scenario);
    cell(row, time(session.clock.now) + " (" + session.clock.kind + ")");
    cell(row, session.jobs, "jobs");
    cell(row, session.idleSeconds === null ? "— (never expires)"
      : time(Date.now() - session.idleSeconds * 1000) + " (" + Math.round(session.idleSeconds) + " s ago)");
    cell(row, session.expiresInSeconds === null ? "" : Math.round(session.expiresInSeconds) + " s");
    cell(row, "").append(button("session-reset", "Reset", true, { name: session.name }), " ",
      button("session-delete", "Delete", !session.default, { name: session.name }));
    return row;
  }

  async function refreshSessions() {  // the sessions page: the admin API's list, every 2 s
    try {
      const answer = await fetch(admin + "sessions");
      if (!answer.ok) { return; }
      const listing = await answer.json();
      byId("sessions-body").replaceChildren(...listing.sessions.map(sessionRow));
      byId("session-count").textContent = listing.count;
    } catch (error) {
      say("the sessions could not be read: " + error);
    }
  }

  async function post(path, payload, method) {
    try {
      const answer = await fetch(admin + path, {
        method: method || "POST", headers: { "Content-Type": "application/json" },
        body: method === "DELETE" ? undefined : JSON.stringify(payload || {}),
      });
      const data = await answer.json().catch(() => ({}));
      say(answer.ok ? "" : answer.status + ": " + (data.message || answer.statusText));
      return data;
    } catch (error) {
      say("the mock did not answer: " + error);
      return {};
    }
  }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-action]");
    if (!button) { return; }
    const action = button.dataset.action;
    if (action === "advance") {
      const payload = button.dataset.to ? { to: button.dataset.to } : { seconds: Number(button.dataset.seconds) };
      post("clock/advance", payload);
    } else if (action === "cancel" || action === "resume") {
      post("jobs/" + encodeURIComponent(button.dataset.id || body.dataset.job) + "/" + action);
    } else if (action === "reset") {
      post("reset");
    } else if (action === "session-reset" || action === "session-delete") {
      const name = encodeURIComponent(button.dataset.name);
      const done = action === "session-reset" ? post("sessions/" + name + "/reset")
        : post("sessions/" + name, null, "DELETE");
      done.then(refreshSessions);
    }
  });

  function list(text) {  // a comma-separated field: its items, the empty ones left out
    return text.split(",").map((item) => item.trim()).filter((item) => item);
  }

  const form = byId("start-form");
  if (form) {  // the API's start body, the optional fields sent only when filled in
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const field = (name) => form.elements[name].value.trim();
      const start = { path: field("path"), type: field("type") };
      if (field("excludedPaths")) { start.excludedPaths = list(field("excludedPaths")); }
      const filter = {};
      if (field("fileTypes")) { filter.fileTypes = list(field("fileTypes")); }
      for (const name of ["startTime", "endTime"]) {
        if (field(name)) { filter[name] = Number(field(name)); }
      }
      if (Object.keys(filter).length) { start.filter = filter; }
      post("jobs", start).then((job) => { if (job.processingId) { say("started " + job.processingId); } });
    });
  }

  if (body.dataset.page === "sessions") {
    refreshSessions();
    window.setInterval(refreshSessions, 2000);
  }

  // Live once a state arrives (not on "open": a stream with no place opens too). When every place
  // is taken, the server says so in a "busy" event and ends the stream; the browser comes back
  // after the stream's "retry:" delay, and the page says meanwhile why it is not live.
  if (window.EventSource) {
    const live = byId("live");
    const events = new EventSource(admin + "events");
    let waiting = false;
    events.addEventListener("state", (event) => {
      live.textContent = "live";
      if (waiting) { waiting = false; say(""); }
      show(JSON.parse(event.data));
    });
    events.addEventListener("busy", (event) => {
      let message = event.data;
      try { message = JSON.parse(event.data).message; } catch (error) { /* shown as sent */ }
      waiting = true;
      live.textContent = "waiting for a place";
      say(message);
    });
    events.addEventListener("error", () => { if (!waiting) { live.textContent = "reconnecting…"; } });
    window.addEventListener("pagehide", () => events.close());
  }
})();
