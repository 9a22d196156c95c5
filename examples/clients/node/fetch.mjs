// The client journey with Node's built-in fetch (Node 18+): start, poll, page the log and tail it,
// the ZIP (read with yauzl) and its JSON form, cancel and resume from the checkpoint, history, and one
// refused request.
//
//   node fetch.mjs http://127.0.0.1:4502
//
// Run it against `aem-guides-mock serve --clock per-poll:100ms`: each status poll moves the mock's
// clock, so the journey is the same on every run. Credentials: AEM_USER and AEM_PASSWORD (admin/admin).
// Exits 1 naming the first thing that differed from what the contract promises.
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import yauzl from "yauzl";

const api = `${(process.argv[2] ?? "http://127.0.0.1:4502").replace(/\/$/, "")}/bin/guides/v1/assets/process`;
const user = `${process.env.AEM_USER ?? "admin"}:${process.env.AEM_PASSWORD ?? "admin"}`;
const authorization = `Basic ${Buffer.from(user).toString("base64")}`;
const DONE = new Set(["SUCCESS", "FAILED", "CANCELLED"]);

class Mismatch extends Error {
  name = "Mismatch";
}

function expect(what, got, wanted) {
  if (!isDeepStrictEqual(got, wanted)) {
    throw new Mismatch(`${what}: expected ${JSON.stringify(wanted)}, got ${JSON.stringify(got)}`);
  }
}

function check(what, condition, got) {
  if (!condition) throw new Mismatch(`${what}: got ${JSON.stringify(got)}`);
}

async function call(path, { body, headers = {} } = {}) {
  const init = { headers: { Authorization: authorization, ...headers }, signal: AbortSignal.timeout(10_000) };
  if (body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  return fetch(api + path, init);
}

async function json(path, options) {
  const response = await call(path, options);
  if (!response.ok) throw new Mismatch(`${path}: HTTP ${response.status}: ${await response.text()}`);
  return response.json();
}

async function poll(id, until = (job) => DONE.has(job.status)) {
  let job;
  for (let i = 0; i < 200; i++) {
    job = await json(`/status?processingId=${encodeURIComponent(id)}`);
    if (until(job)) return job;
    await sleep(10);
  }
  throw new Mismatch(`job ${id} did not get there in 200 polls: ${JSON.stringify(job)}`);
}

async function refused() {
  const response = await call("", { body: { type: "ASSET_PROCESSING" } });
  expect("a start without path: status", response.status, 400);
  expect("its content type", response.headers.get("content-type").split(";")[0], "application/json");
  const error = await response.json();
  expect("the error's status", error.status, 400);
  check("the error's message names `path`", error.message.includes("`path`"), error.message);
  expect("the violation's place", error.violations[0].where, "body:/path");
}

async function pages(id) {
  const lines = [];
  for (;;) {
    const page = await json(`/logs?processingId=${encodeURIComponent(id)}&offset=${lines.length}&limit=4`);
    expect("the page's offset", page.offset, lines.length);
    lines.push(...page.lines);
    if (!page.hasMore) break;
  }
  expect("the log's length", lines.length, 10);
  check("the last line ends the job", lines.at(-1).includes("completed [status=SUCCESS]"), lines.at(-1));
  const tail = await json(`/logs?processingId=${encodeURIComponent(id)}&tail=3`);
  expect("tail=3", tail.lines, lines.slice(-3));
  expect("tail's offset", tail.offset, lines.length - 3);
  expect("tail's hasMore", tail.hasMore, false);
  return lines;
}

// Every entry of a ZIP held in memory, read through its central directory: {name: text}.
function unzip(buffer) {
  return new Promise((resolve, reject) => {
    yauzl.fromBuffer(buffer, { lazyEntries: true }, (error, zip) => {
      if (error) return reject(error);
      const entries = {};
      zip.on("error", reject);
      zip.on("end", () => resolve(entries));
      zip.on("entry", (entry) => {
        zip.openReadStream(entry, (failure, stream) => {
          if (failure) return reject(failure);
          const chunks = [];
          stream.on("data", (chunk) => chunks.push(chunk));
          stream.on("error", reject);
          stream.on("end", () => {
            entries[entry.fileName] = Buffer.concat(chunks).toString("utf8");
            zip.readEntry();
          });
        });
      });
      zip.readEntry();
    });
  });
}

async function zip(id, lines) {
  const response = await call(`/logs/download?processingId=${encodeURIComponent(id)}`);
  expect("the download's status", response.status, 200);
  expect("the download's type", response.headers.get("content-type"), "application/zip");
  const disposition = response.headers.get("content-disposition");
  check("it is named after the job", disposition.includes(`filename="${id}.zip"`), disposition);
  const entries = await unzip(Buffer.from(await response.arrayBuffer())).catch((problem) => {
    throw new Mismatch(`yauzl on the download: ${problem.message}`);
  });
  expect("the ZIP's entries", Object.keys(entries), [`${id}.log`]);
  expect("the ZIP's lines", entries[`${id}.log`].replace(/\n$/, "").split("\n"), lines);
}

async function jsonForm(id) {
  const form = await json(`/logs/download?processingId=${encodeURIComponent(id)}`,
    { headers: { Accept: "application/json" } });
  const paths = form.logFilePaths;
  check("logFilePaths names the job's log", paths.length === 1 && paths[0].endsWith(`${id}.log`), paths);
}

async function cancelAndResume() {
  const { processingId: id } = await json("", { body: { path: "/content/dam/status-fetch1", type: "ASSET_PROCESSING" } });
  await poll(id, (job) => job.triggeredCount >= 2 || DONE.has(job.status));
  const cancelled = await json("/cancel", { body: { processingId: id } });
  expect("cancel: status", cancelled.status, "CANCELLED");
  expect("cancel: resumable", cancelled.resumable, true);
  const done = cancelled.triggeredCount;
  const total = cancelled.migrationSet.totalFiles;
  check("cancelled part-way", done > 0 && done < total, [done, total]);
  const stays = await json(`/status?processingId=${encodeURIComponent(id)}`);
  expect("a cancelled job stays", [stays.status, stays.triggeredCount], ["CANCELLED", done]);
  const resumed = await json("/resume", { body: { processingId: id } });
  check("resume: running again", ["WAITING", "IN_PROGRESS"].includes(resumed.status), resumed.status);
  expect("resume keeps the checkpoint", resumed.triggeredCount, done);
  const job = await poll(id);
  expect("the resumed job", [job.status, job.triggeredCount], ["SUCCESS", total]);
  const { lines } = await json(`/logs?processingId=${encodeURIComponent(id)}`);
  const processed = lines.filter((line) => line.includes("Processing asset [")).map((line) => line.split("] ")[2]);
  expect("assets processed (each once)", new Set(processed).size, total);
  expect("asset lines", processed.length, total);
  check("the log says it resumed", lines.some((line) => line.includes("resumed from checkpoint")), lines);
  return id;
}

async function journey() {
  await refused();
  const { processingId: id } = await json("", { body: { path: "/content/dam/22858", type: "ASSET_PROCESSING" } });
  const job = await poll(id);
  expect("the job's status", job.status, "SUCCESS");
  expect("triggeredCount", job.triggeredCount, 6);
  const lines = await pages(id);
  await zip(id, lines);
  await jsonForm(id);
  const second = await cancelAndResume();
  const history = (await json("/history")).executionHistory.map((item) => item.processingId);
  check("history lists both jobs, newest first", isDeepStrictEqual(history.slice(0, 2), [second, id]), history);
}

try {
  await journey();
  console.log("fetch.mjs: every step kept the contract");
} catch (problem) {
  // fetch says only "fetch failed"; what failed (a refused connection, an untrusted certificate) is its cause
  const cause = problem.cause ? ` (${problem.cause.code ?? problem.cause.name}: ${problem.cause.message})` : "";
  console.error(`fetch.mjs: ${problem.name}: ${problem.message}${cause}`);
  process.exitCode = 1;
}
