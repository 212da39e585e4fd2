#!/usr/bin/env node
// End-to-end test of the live view in real headless Chromium (Debian's /usr/bin/chromium driven by
// playwright-core) against the real server (`uv run tabrl serve`, a temp TABRL_HOME):
//  1. CartpoleBalance: a policy fine-tuned briefly from the shipped `cartpole-balance` base (it balances),
//     its live view with the server's policy: the real-time factor measured in the page must be >= 1.00
//     (two decimals; the server paces the simulation to exactly real time); then the ONNX source's (reported).
//  2. The Go1 joystick base playing a level-1 command program that stands still: the live view's real-time
//     factor (reported), then the ← key held: the heading (yaw from the streamed base quaternion) must turn
//     counter-clockwise; the joystick then gives the command back to the program.
// Prints a JSON summary last and writes it to <repo>/test-results/web-e2e/live-summary.json.
//
// Env: TABRL_E2E_URL (use a running server instead), CHROMIUM (default /usr/bin/chromium),
//      TABRL_E2E_RTF_S (seconds each real-time factor is measured over, default 15).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, load, scenario, startServer } from "./lib.mjs";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(web, "..");
const out = resolve(repo, "test-results/web-e2e");
const RTF_S = Number(process.env.TABRL_E2E_RTF_S ?? 15);
const STAND = "def command(t):\n    return (0.0, 0.0, 0.0)\n";
const { summary, log, step, finish } = scenario("live-e2e", { cartpole: {}, go1: {} });

let server = null;

async function api(base, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: body ? { "content-type": "application/json" } : {},
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await r.text();
  if (!r.ok) throw new Error(`${method} ${path}: HTTP ${r.status}: ${text.slice(0, 500)}`);
  return JSON.parse(text);
}

async function waitJob(base, jobId, timeoutS) {
  const until = Date.now() + timeoutS * 1000;
  while (Date.now() < until) {
    const job = await api(base, "GET", `/api/training/${jobId}/status`);
    if (["succeeded", "failed", "cancelled", "interrupted"].includes(job.status)) {
      if (job.status !== "succeeded") throw new Error(`job ${jobId} ${job.status}: ${job.error}`);
      return job;
    }
    await new Promise((r) => setTimeout(r, 2000));
  }
  throw new Error(`job ${jobId} did not finish within ${timeoutS} s`);
}

/**
 * The live view's real-time factor over `seconds`, from the frames' arrival times in the page. The
 * frames that arrived soonest at the start and at the end bound the clock offset, so the page's own
 * delays (drawing a frame holds its messages) drop out of the figure.
 */
async function measureRtf(page, seconds) {
  await page.evaluate(() => (window.__tabrlLive.samples.length = 0));
  await page.waitForTimeout(seconds * 1000);
  const s = await page.evaluate(() => window.__tabrlLive.samples.slice());
  const probe = await page.evaluate(() => ({ ...window.__tabrlLive, samples: undefined }));
  if (s.length < 10) throw new Error(`only ${s.length} frames arrived in ${seconds} s`);
  const [w0, w1] = [s[0][0], s.at(-1)[0]];
  const offset = (part) => Math.min(...part.map(([w, sim]) => w - sim));
  const head = offset(s.filter(([w]) => w - w0 < 2));
  const tail = offset(s.filter(([w]) => w1 - w < 2));
  const simSpan = s.at(-1)[1] - s[0][1];
  return {
    rtf: +(simSpan / (simSpan + tail - head)).toFixed(4),
    rtf_arrivals: +(simSpan / (w1 - w0)).toFixed(4),
    shown: +probe.rtf.toFixed(3),
    server_rtf: probe.serverRtf,
    server_headroom: probe.capacity,
    fps: +probe.fps.toFixed(1),
    frames_per_s: +(s.length / (w1 - w0)).toFixed(1),
    seconds: +(w1 - w0).toFixed(1),
    load: load(),
  };
}

const yaw = (q) => Math.atan2(2 * (q[3] * q[6] + q[4] * q[5]), 1 - 2 * (q[5] * q[5] + q[6] * q[6]));

async function openLive(page, base, modelId) {
  await page.goto(`${base}/#/live/${modelId}`);
  await page.locator('[data-testid="live-conn"][data-conn="open"]').waitFor({ timeout: 120_000 });
  // The first view of a policy builds its simulation on the server (and compiles it): up to minutes on a
  // busy CPU.
  await page.waitForFunction(() => (window.__tabrlLive?.steps ?? 0) > 50, null, { timeout: 300_000 });
}

async function main() {
  mkdirSync(out, { recursive: true });
  server = await startServer({ repo, web, prefix: "tabrl-live-e2e-home-" });
  const base = server.base;
  log(`server ${base}; load ${load()}`);

  // Fixtures: a CartpoleBalance policy (a short fine-tune of the shipped base: it balances) and the Go1
  // joystick base playing a program that stands still (level 1: a model at once, its video rendering).
  const train = await api(base, "POST", "/api/training/start", {
    scene_id: "CartpoleBalance", steps: 1000, from_scratch: false, base_id: "cartpole-balance", name: "live e2e",
  }); // prettier-ignore
  const play = await api(base, "POST", "/api/commands/play", { base_id: "go1-joystick", commands: STAND, name: "stand" });
  const cartpole = (await waitJob(base, train.id, 1200)).model_id;
  await waitJob(base, play.job.id, 600); // no job running while the live view is measured
  const go1 = play.model.id;
  step(`fixtures (cartpole ${cartpole}, go1 ${go1})`);

  const profile = mkdtempSync(join(tmpdir(), "tabrl-live-e2e-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1366, height: 900 },
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const consoleErrors = [];
  page.on("console", (m) => m.type() === "error" && consoleErrors.push(m.text()));
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  page.setDefaultTimeout(30_000);
  try {
    // 1. CartpoleBalance, the server's policy: real time.
    await openLive(page, base, cartpole);
    await page.waitForTimeout(2000);
    summary.cartpole.server = await measureRtf(page, RTF_S);
    log(`cartpole, server's policy: ${JSON.stringify(summary.cartpole.server)}`);
    await page.screenshot({ path: join(out, "live-cartpole.png") });
    if (!(+summary.cartpole.server.rtf.toFixed(2) >= 1.0))
      throw new Error(`CartpoleBalance live at x${summary.cartpole.server.rtf} real time (< 1.00)`);
    const pole = await page.evaluate(() => window.__tabrlLive.qpos.slice());
    if (!(Math.abs(pole[1]) < 0.5)) throw new Error(`the pole is not balanced live: qpos ${JSON.stringify(pole)}`);
    step(`cartpole real time (x${summary.cartpole.server.rtf})`);

    // Pause stops the clock; reset and push reach the server.
    await page.getByRole("button", { name: /pause/i }).click();
    await page.waitForTimeout(500);
    const p0 = await page.evaluate(() => window.__tabrlLive.steps);
    await page.waitForTimeout(1000);
    const p1 = await page.evaluate(() => window.__tabrlLive.steps);
    if (p1 !== p0) throw new Error(`paused, yet the simulation stepped (${p0} -> ${p1})`);
    await page.getByRole("button", { name: /resume/i }).click();
    await page.getByRole("button", { name: /push/i }).click();
    await page.getByRole("button", { name: /reset/i }).click();
    await page.waitForFunction(() => (window.__tabrlLive?.steps ?? 0) > 0, null);
    step("pause, push, reset");

    // The ONNX export in the page acts (pipelined answers); its real-time factor is reported.
    await page.getByLabel("Action source").selectOption("onnx");
    await page.locator('[data-testid="live-conn"][data-conn="open"]').waitFor({ timeout: 120_000 });
    await page.waitForFunction(() => (window.__tabrlLive?.steps ?? 0) > 50, null, { timeout: 120_000 });
    summary.cartpole.onnx = await measureRtf(page, RTF_S);
    summary.cartpole.onnx.note = await page.getByTestId("live-qpos").innerText();
    log(`cartpole, ONNX in the page: ${JSON.stringify(summary.cartpole.onnx)}`);
    step(`cartpole ONNX source (x${summary.cartpole.onnx.rtf})`);

    // 2. Go1 joystick base: real time (reported), then the joystick turns it.
    await openLive(page, base, go1);
    await page.getByTestId("joystick").waitFor();
    await page.waitForTimeout(2000);
    summary.go1.server = await measureRtf(page, RTF_S);
    log(`go1, server's policy: ${JSON.stringify(summary.go1.server)}`);
    await page.locator("#live-title").click(); // keys go to the page, not to a form field
    const before = await page.evaluate(() => ({ ...window.__tabrlLive, samples: undefined }));
    if (before.driver !== "program") throw new Error(`before any key the program drives, not ${before.driver}`);
    await page.keyboard.down("ArrowLeft");
    const headings = [];
    for (let i = 0; i < 25; i++) {
      await page.waitForTimeout(200);
      headings.push(yaw(await page.evaluate(() => window.__tabrlLive.qpos.slice())));
    }
    const during = await page.evaluate(() => ({ ...window.__tabrlLive, samples: undefined }));
    await page.keyboard.up("ArrowLeft");
    let turned = 0;
    let prev = yaw(before.qpos);
    for (const h of headings) {
      turned += Math.atan2(Math.sin(h - prev), Math.cos(h - prev)); // unwrapped
      prev = h;
    }
    summary.go1.turned_rad = +turned.toFixed(3);
    summary.go1.command_while_held = during.command;
    await page.screenshot({ path: join(out, "live-go1-joystick.png") });
    if (during.driver !== "joystick" || !(during.command?.[2] > 0))
      throw new Error(`← did not set a left-turn command: ${during.driver} ${JSON.stringify(during.command)}`);
    if (!(turned > 0.5)) throw new Error(`the Go1 did not turn left with ← held for 5 s (turned ${turned.toFixed(2)} rad)`);
    step(`go1 turns left with ← (${turned.toFixed(2)} rad in 5 s)`);
    await page.getByRole("button", { name: /back to the program/i }).click();
    await page.waitForFunction(() => window.__tabrlLive.driver === "program", null, { timeout: 10_000 });
    step("joystick gives the command back to the program");
  } catch (e) {
    summary.page = await page.locator("main, body").first().innerText().catch(() => "");
    await page.screenshot({ path: join(out, "live-failure.png") }).catch(() => {});
    throw e;
  } finally {
    summary.console_errors = consoleErrors.slice(0, 20);
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
  summary.ok = true;
}

finish(main, () => server, join(out, "live-summary.json"));
