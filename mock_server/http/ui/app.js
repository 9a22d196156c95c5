// aem-guides-mock dashboard: live updates over server-sent events, buttons that call the JSON
// admin API. Values are written with textContent only: nothing a client sent is parsed as HTML.
"use strict";
(function () {
  const body = document.body;
  const root = body.dataset.root || "";       // the way to /__admin/ui/
  const admin = root + "../";                 // the way to /__admin/
  const byId = (id) => document.getElementById(id);

  function say(text) { const m = byId("message"); if (m) { m.textContent = text; } }

  function time(ms) {
    return typeof ms === "number" && ms > 0 ? new Date(ms).toISOString().slice(0, 19).replace("T", " ") : "";
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
    const total = job.migrationSet ? job.migrationSet.totalFiles : 0;
    cell(row, job.triggeredCount + " / " + total);
    cell(row, time(job.startedAt));
    cell(row, time(job.completedAt));
    cell(row, job.createdBy);
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

  async function post(path, payload) {
    try {
      const answer = await fetch(admin + path, {
        method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(payload || {}),
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
      post("jobs/" + encodeURIComponent(body.dataset.job) + "/" + action);
    }
  });

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
