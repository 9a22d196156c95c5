// The client journey with axios: start, poll, page the log and tail it, the ZIP (streamed through
// unzipper as it downloads) and its JSON form, cancel and resume from the checkpoint, history, and one
// refused request.
//
//   npm ci && node axios.mjs http://127.0.0.1:4502
//
// Run it against `aem-guides-mock serve --clock per-poll:100ms`: each status poll moves the mock's
// clock, so the journey is the same on every run. Credentials: AEM_USER and AEM_PASSWORD (admin/admin).
// Exits 1 naming the first thing that differed from what the contract promises.
import { setTimeout as sleep } from "node:timers/promises";
import { isDeepStrictEqual } from "node:util";
import axios from "axios";
import unzipper from "unzipper";

const base = (process.argv[2] ?? "http://127.0.0.1:4502").replace(/\/$/, "");
const aem = axios.create({
  baseURL: `${base}/bin/guides/v1/assets/process`,
  auth: { username: process.env.AEM_USER ?? "admin", password: process.env.AEM_PASSWORD ?? "admin" },
  timeout: 10_000,
});
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

async function poll(processingId, until = (job) => DONE.has(job.status)) {
  let job;
  for (let i = 0; i < 200; i++) {
    ({ data: job } = await aem.get("/status", { params: { processingId } }));
    if (until(job)) return job;
    await sleep(10);
  }
  throw new Mismatch(`job ${processingId} did not get there in 200 polls: ${JSON.stringify(job)}`);
}

async function refused() {
  try {
    await aem.post("", { type: "ASSET_PROCESSING" });
  } catch (error) {
    if (!error.response) throw error;
    expect("a start without path: status", error.response.status, 400);
    expect("its content type", error.response.headers["content-type"].split(";")[0], "application/json");
    const body = error.response.data;
    expect("the error's status", body.status, 400);
    check("the error's message names `path`", body.message.includes("`path`"), body.message);
    expect("the violation's place", body.violations[0].where, "body:/path");
    return;
  }
  throw new Mismatch("a start without path was accepted");
}

async function pages(processingId) {
  const lines = [];
  for (;;) {
    const { data: page } = await aem.get("/logs", { params: { processingId, offset: lines.length, limit: 4 } });
    expect("the page's offset", page.offset, lines.length);
    lines.push(...page.lines);
    if (!page.hasMore) break;
  }
  expect("the log's length", lines.length, 10);
  check("the last line ends the job", lines.at(-1).includes("completed [status=SUCCESS]"), lines.at(-1));
  const { data: tail } = await aem.get("/logs", { params: { processingId, tail: 3 } });
  expect("tail=3", tail.lines, lines.slice(-3));
  expect("tail's offset", tail.offset, lines.length - 3);
  expect("tail's hasMore", tail.hasMore, false);
  return lines;
}

// The ZIP read as it streams in, entry by entry from the local headers (as Java's ZipInputStream does).
async function zip(processingId, lines) {
  const response = await aem.get("/logs/download", { params: { processingId }, responseType: "stream" });
  expect("the download's type", response.headers["content-type"], "application/zip");
  const disposition = response.headers["content-disposition"];
  check("it is named after the job", disposition.includes(`filename="${processingId}.zip"`), disposition);
  const entries = {};
  try {
    for await (const entry of response.data.pipe(unzipper.Parse({ forceStream: true }))) {
      entries[entry.path] = (await entry.buffer()).toString("utf8");
    }
  } catch (problem) {
    throw new Mismatch(`unzipper's streaming parser over the download: ${problem.message}`);
  }
  expect("the ZIP's entries", Object.keys(entries), [`${processingId}.log`]);
  expect("the ZIP's lines", entries[`${processingId}.log`].replace(/\n$/, "").split("\n"), lines);
}

async function jsonForm(processingId) {
  const { data } = await aem.get("/logs/download", {
    params: { processingId },
    headers: { Accept: "application/json" },
  });
  const paths = data.logFilePaths;
  check("logFilePaths names the job's log", paths.length === 1 && paths[0].endsWith(`${processingId}.log`), paths);
}

async function cancelAndResume() {
  const { data: started } = await aem.post("", { path: "/content/dam/status-fetch1", type: "ASSET_PROCESSING" });
  const processingId = started.processingId;
  await poll(processingId, (job) => job.triggeredCount >= 2 || DONE.has(job.status));
  const { data: cancelled } = await aem.post("/cancel", { processingId });
  expect("cancel: status", cancelled.status, "CANCELLED");
  expect("cancel: resumable", cancelled.resumable, true);
  const done = cancelled.triggeredCount;
  const total = cancelled.migrationSet.totalFiles;
  check("cancelled part-way", done > 0 && done < total, [done, total]);
  const { data: stays } = await aem.get("/status", { params: { processingId } });
  expect("a cancelled job stays", [stays.status, stays.triggeredCount], ["CANCELLED", done]);
  const { data: resumed } = await aem.post("/resume", { processingId });
  check("resume: running again", ["WAITING", "IN_PROGRESS"].includes(resumed.status), resumed.status);
  expect("resume keeps the checkpoint", resumed.triggeredCount, done);
  const job = await poll(processingId);
  expect("the resumed job", [job.status, job.triggeredCount], ["SUCCESS", total]);
  const { data: { lines } } = await aem.get("/logs", { params: { processingId } });
  const processed = lines.filter((line) => line.includes("Processing asset [")).map((line) => line.split("] ")[2]);
  expect("assets processed (each once)", new Set(processed).size, total);
  expect("asset lines", processed.length, total);
  check("the log says it resumed", lines.some((line) => line.includes("resumed from checkpoint")), lines);
  return processingId;
}

async function journey() {
  await refused();
  const { data: started } = await aem.post("", { path: "/content/dam/22858", type: "ASSET_PROCESSING" });
  const id = started.processingId;
  const job = await poll(id);
  expect("the job's status", job.status, "SUCCESS");
  expect("triggeredCount", job.triggeredCount, 6);
  const lines = await pages(id);
  await zip(id, lines);
  await jsonForm(id);
  const second = await cancelAndResume();
  const { data: history } = await aem.get("/history");
  const ids = history.executionHistory.map((item) => item.processingId);
  check("history lists both jobs, newest first", isDeepStrictEqual(ids.slice(0, 2), [second, id]), ids);
}

try {
  await journey();
  console.log("axios.mjs: every step kept the contract");
} catch (problem) {
  const answer = problem.response ? ` (HTTP ${problem.response.status}: ${JSON.stringify(problem.response.data)})` : "";
  console.error(`axios.mjs: ${problem.name}: ${problem.message}${answer}`);
  process.exitCode = 1;
}
