// Tests that share one aem-guides-mock, each in a session of its own, with Node's own test runner and
// fetch (Node 18.13+, no packages): each test makes a session through the admin API (its scenario,
// its manual clock), runs its journey against the session's base URL (what a client under test is
// configured with), and deletes it. The two tests run at once and never see each other's jobs, clock
// or history.
//
//   node sessions.test.mjs http://127.0.0.1:4502
//
// The server may run any clock: each session has a manual one, moved by the test. Credentials:
// AEM_USER and AEM_PASSWORD (admin/admin); AEM_ADMIN_TOKEN if the admin API has a token.
import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, test } from "node:test";

const server = (process.argv[2] ?? "http://127.0.0.1:4502").replace(/\/$/, "");
const user = `${process.env.AEM_USER ?? "admin"}:${process.env.AEM_PASSWORD ?? "admin"}`;
const authorization = `Basic ${Buffer.from(user).toString("base64")}`;
const admin = process.env.AEM_ADMIN_TOKEN ? { "X-Admin-Token": process.env.AEM_ADMIN_TOKEN } : {};
const EPOCH_MS = 1767225600000; // where a session's manual clock starts

async function request(url, { method = "GET", body, headers = {} } = {}) {
  const init = { method, headers: { ...headers }, signal: AbortSignal.timeout(10_000) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url, init);
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

// A fresh session for the test `t`, deleted when the test ends: its API and its clock.
async function session(t, scenario = "default") {
  const name = `node-${t.name.replace(/[^A-Za-z0-9._-]+/g, "-").slice(0, 40)}-${randomUUID().slice(0, 8)}`;
  const made = await request(`${server}/__admin/sessions`, {
    method: "POST",
    headers: admin,
    body: { name, scenario, settings: { clock: "manual" }, ttl: "10m" },
  });
  assert.equal(made.status, 201, `POST /__admin/sessions: ${JSON.stringify(made.body)}`);
  t.after(() => request(`${server}/__admin/sessions/${name}`, { method: "DELETE", headers: admin }));
  const base = made.body.baseUrl; // http://host:4502/sessions/NAME
  const api = async (path, body) => {
    const method = body === undefined ? "GET" : "POST";
    return request(`${base}/bin/guides/v1/assets/process${path}`, { method, body, headers: { Authorization: authorization } });
  };
  const ok = async (path, body) => {
    const answer = await api(path, body);
    assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
    return answer.body;
  };
  const advance = async (seconds) => {
    const moved = await request(`${base}/__admin/clock/advance`, { method: "POST", headers: admin, body: { seconds } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    return moved.body.now;
  };
  return { api, ok, advance };
}

async function history(mock) {
  return (await mock.ok("/history")).executionHistory.map((item) => item.processingId);
}

describe("tests sharing one server, each in its own session", { concurrency: true }, () => {
  test("a job runs to SUCCESS on the session's clock", async (t) => {
    const mock = await session(t);
    const refused = await mock.api("", { type: "ASSET_PROCESSING" });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.violations[0].where, "body:/path");
    const { processingId: id } = await mock.ok("", { path: "/content/dam/22858", type: "ASSET_PROCESSING" });
    assert.equal(await mock.advance(60), EPOCH_MS + 60_000, "the other test's clock is not this one");
    const job = await mock.ok(`/status?processingId=${encodeURIComponent(id)}`);
    assert.deepEqual([job.status, job.triggeredCount], ["SUCCESS", 6]);
    const log = await mock.ok(`/logs?processingId=${encodeURIComponent(id)}&tail=1`);
    assert.match(log.lines[0], /completed \[status=SUCCESS\]/);
    assert.deepEqual(await history(mock), [id], "the history holds this test's job only");
  });

  test("a job is cancelled part-way and resumed", async (t) => {
    const mock = await session(t);
    const { processingId: id } = await mock.ok("", { path: "/content/dam/status-fetch1", type: "ASSET_PROCESSING" });
    const status = `/status?processingId=${encodeURIComponent(id)}`;
    let job = await mock.ok(status);
    for (let step = 0; step < 200 && job.triggeredCount < 2; step++) {
      await mock.advance(0.25);
      job = await mock.ok(status);
    }
    const cancelled = await mock.ok("/cancel", { processingId: id });
    assert.deepEqual([cancelled.status, cancelled.resumable], ["CANCELLED", true]);
    assert.ok(cancelled.triggeredCount < cancelled.migrationSet.totalFiles, "cancelled part-way");
    await mock.ok("/resume", { processingId: id });
    assert.equal(await mock.advance(60) > EPOCH_MS + 60_000, true);
    job = await mock.ok(status);
    assert.deepEqual([job.status, job.triggeredCount], ["SUCCESS", 7]);
    assert.deepEqual(await history(mock), [id], "the history holds this test's job only");
  });
});
