// Shared pieces of the end-to-end scripts: a free port, the server's health, Chromium's flags, the real
// server, and the scaffolding of a run (its summary, timed steps, and one way to end).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { loadavg, tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

/** Flags for Debian's headless Chromium on a machine with no GPU and no sandbox. */
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
  "--autoplay-policy=no-user-gesture-required",
];

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

export async function waitForHealth(base, proc, timeoutS = 180) {
  const until = Date.now() + timeoutS * 1000;
  while (Date.now() < until) {
    if (proc && proc.exitCode != null) throw new Error(`the server exited early (code ${proc.exitCode})`);
    try {
      const r = await fetch(`${base}/api/health`);
      if (r.ok) return r.json();
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the server did not answer /api/health within ${timeoutS} s`);
}

/**
 * The real server (`uv run tabrl serve`) on a free port with a temp TABRL_HOME and the built web app, or
 * TABRL_E2E_URL when set. `args`: more `tabrl serve` options (e.g. ["--executor", "ray"]). Returns { base, stop, tail }: `stop()` ends it and removes the home folder;
 * `tail()` gives its last log lines (XLA's loader chatter left out).
 */
export async function startServer({ repo, web, prefix = "tabrl-e2e-home-", args = [] }) {
  if (process.env.TABRL_E2E_URL) {
    return { base: process.env.TABRL_E2E_URL.replace(/\/$/, ""), stop: () => {}, tail: () => [] };
  }
  const port = await freePort();
  const home = mkdtempSync(join(tmpdir(), prefix));
  const proc = spawn("uv", ["run", "tabrl", "serve", "--port", String(port), "--web-dir", resolve(web, "dist"), ...args], {
    cwd: repo,
    env: { ...process.env, TABRL_HOME: home },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines = [];
  const keep = (d) => {
    lines.push(...String(d).split("\n").filter((l) => l.trim() && !l.includes("cpu_aot_loader")));
    lines.splice(0, Math.max(0, lines.length - 60));
  };
  proc.stdout.on("data", keep);
  proc.stderr.on("data", keep);
  const base = `http://127.0.0.1:${port}`;
  const stop = () => {
    proc.kill("SIGINT");
    rmSync(home, { recursive: true, force: true });
  };
  try {
    await waitForHealth(base, proc);
  } catch (e) {
    stop();
    throw new Error(`${e.message}\n${lines.slice(-30).join("\n")}`);
  }
  return { base, stop, tail: () => lines.slice(-30) };
}

/** The 1, 5 and 15 minute load averages (timings are read against them). */
export const load = () => loadavg().map((v) => +v.toFixed(2));

/** Seconds since `since` (a Date.now() value), to 0.1 s. */
export const seconds = (since) => +((Date.now() - since) / 1000).toFixed(1);

/**
 * One e2e run: `summary` (ok, steps, timings, error, plus `fields`), `log`, `step(name)` (a timed, logged
 * step), and `finish(main, server)`: runs `main`, records a failure with the server's log tail
 * (`server()` gives the server once started), writes the summary as JSON to `file`, prints it last, and
 * exits 0 only when `summary.ok` (even if a browser or socket is still open after a failure).
 */
export function scenario(tag, fields = {}) {
  const t0 = Date.now();
  const summary = { ok: false, steps: [], error: null, timings: {}, ...fields };
  const log = (msg) => console.log(`[${tag} +${seconds(t0)}s] ${msg}`);
  const step = (name) => {
    summary.steps.push(name);
    summary.timings[name] = seconds(t0);
    log(`ok: ${name}`);
  };
  const finish = (main, server, file) =>
    main()
      .catch((e) => {
        summary.ok = false;
        summary.error = String(e?.stack ?? e);
        if (server()) summary.server_log_tail = server().tail();
      })
      .finally(() => {
        summary.timings.total_s = seconds(t0);
        server()?.stop();
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify(summary, null, 2));
        console.log(JSON.stringify(summary));
        process.exit(summary.ok ? 0 : 1);
      });
  return { summary, log, step, finish };
}
