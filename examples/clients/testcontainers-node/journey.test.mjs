// aem-guides-mock's image started by Testcontainers for Node, as a team's test suite starts it, and the
// client journey against it with Node's fetch: a start, polls to SUCCESS, the log, the history.
//
//   npm ci && AEM_MOCK_IMAGE=aem-guides-mock:dev npm test
//
// Testcontainers finds the engine as it always does (DOCKER_HOST, ~/.testcontainers.properties, the
// default socket). With podman: `podman system service --time=0 unix:///tmp/podman.sock &`, then
// DOCKER_HOST=unix:///tmp/podman.sock TESTCONTAINERS_RYUK_DISABLED=true (Ryuk, the reaper, is an image
// from Docker Hub: where no registry is reachable it cannot start, and stop() removes the container).
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { GenericContainer, Wait } from "testcontainers";

const IMAGE = process.env.AEM_MOCK_IMAGE ?? "aem-guides-mock:dev";
const TOKEN = "testcontainers-admin-token";
const BASE = "/bin/guides/v1/assets/process";
const AUTH = { Authorization: `Basic ${Buffer.from("admin:admin").toString("base64")}` };

let container;
let url;

before(async () => {
  const began = performance.now();
  container = await new GenericContainer(IMAGE)
    .withExposedPorts(4502)
    .withEnvironment({
      AEM_GUIDES_MOCK_ADMIN_TOKEN: TOKEN, // the admin API beyond loopback (a port mapping) needs it
      AEM_GUIDES_MOCK_CLOCK: "per-poll:250ms", // each status poll moves the job on: no waiting
    })
    .withLabels({ "aem-guides-mock.run": process.env.AEM_MOCK_RUN ?? "manual" }) // what to clean up after a crash
    .withWaitStrategy(Wait.forHttp("/__admin/health", 4502).forStatusCode(200))
    .withStartupTimeout(60_000)
    .start();
  url = `http://${container.getHost()}:${container.getMappedPort(4502)}`;
  console.log(`# ${IMAGE} started and healthy in ${Math.round(performance.now() - began)} ms at ${url}`);
});

after(async () => {
  if (container) {
    const began = performance.now();
    await container.stop({ timeout: 10_000 }); // SIGTERM, then removed
    console.log(`# stopped and removed in ${Math.round(performance.now() - began)} ms`);
  }
});

async function call(path, { body, headers = AUTH } = {}) {
  const init = { method: body === undefined ? "GET" : "POST", headers: { ...headers } };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(url + path, { ...init, signal: AbortSignal.timeout(10_000) });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function ok(path, body) {
  const answer = await call(BASE + path, { body });
  assert.equal(answer.status, 200, `${path}: ${JSON.stringify(answer.body)}`);
  return answer.body;
}

test("the health probe answers anyone, the admin API only with the token", async () => {
  assert.deepEqual((await call("/__admin/health", { headers: {} })).body, { status: "ok" });
  assert.equal((await call("/__admin/clock", { headers: {} })).status, 401);
  const clock = await call("/__admin/clock", { headers: { "X-Admin-Token": TOKEN } });
  assert.equal(clock.status, 200, JSON.stringify(clock.body));
});

test("a job is started and polled to SUCCESS; its log and the history follow", async () => {
  const refused = await call(BASE, { body: { type: "ASSET_PROCESSING" } });
  assert.equal(refused.status, 400);
  assert.match(refused.body.message, /path/);
  const { processingId } = await ok("", { path: "/content/dam/22858", type: "ASSET_PROCESSING" });
  let status;
  for (let poll = 0; poll < 100; poll += 1) {
    status = await ok(`/status?processingId=${processingId}`);
    if (["SUCCESS", "FAILED", "CANCELLED"].includes(status.status)) break;
  }
  assert.equal(status.status, "SUCCESS", JSON.stringify(status));
  assert.equal(status.triggeredCount, 6);
  const { lines } = await ok(`/logs?processingId=${processingId}&offset=0&limit=1000`);
  assert.ok(lines.length > 0, "the job's log is empty");
  const { executionHistory } = await ok("/history");
  assert.equal(executionHistory[0].processingId, processingId);
});
