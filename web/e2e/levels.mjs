#!/usr/bin/env node
// End-to-end test of the progressive levels on the Go1, in real headless Chromium against the real server:
//  1. The gallery leads with the Go1 (it has a joystick base policy: badge).
//  2. Level 1: "walk in a circle" with the Instant budget -> offline composer -> command programs ->
//     "Play" -> the first video plays. Seconds from the click to a playable video are reported.
//  3. Level 2: "walk backwards" with the "A few minutes" budget -> the first level-2 approach (fine-tunes the
//     go1-joystick base) -> trained, judged by its success check, video. Its minutes and verdict are reported;
//     the check must pass (the robot walked backwards in seeded rollouts).
// Prints a JSON summary last and writes it to <repo>/test-results/web-e2e/levels-summary.json.
//
// Env: TABRL_E2E_URL (use a running server instead), CHROMIUM (default /usr/bin/chromium),
//      TABRL_E2E_FINETUNE_TIMEOUT_S (default 1200).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { CHROMIUM_ARGS, load, seconds, scenario, startServer } from "./lib.mjs";

const web = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const repo = resolve(web, "..");
const out = resolve(repo, "test-results/web-e2e");
const FINETUNE_TIMEOUT_S = Number(process.env.TABRL_E2E_FINETUNE_TIMEOUT_S ?? 1200);
const GO1 = "Go1JoystickFlatTerrain";
const { summary, log, step, finish } = scenario("levels-e2e", { level1: {}, level2: {}, load: {} });

let server = null;

async function compose(page, base, prompt, budget) {
  await page.goto(`${base}/#/scene/${GO1}`);
  await page.getByLabel(/what should the robot do/i).fill(prompt);
  await page.getByLabel(/who writes the rewards/i).selectOption("offline");
  await page.getByRole("radio", { name: new RegExp(`^${budget}`, "i") }).check();
  await page.getByRole("button", { name: /write (new )?approaches/i }).click();
  // The page keeps the last prompt's cards until the new ones arrive: wait for the writing to end.
  await page.getByRole("button", { name: /writing approaches/i }).waitFor({ timeout: 10_000 }).catch(() => {});
  await page.getByRole("button", { name: /^write new approaches/i }).waitFor({ timeout: 300_000 });
  const cards = page.getByTestId("approach-card");
  await cards.first().waitFor();
  const badges = await page.getByTestId("level-badge").allInnerTexts();
  return { cards, badges };
}

async function main() {
  mkdirSync(out, { recursive: true });
  server = await startServer({ repo, web, prefix: "tabrl-levels-e2e-home-" });
  const base = server.base;
  summary.load.start = load();
  const profile = mkdtempSync(join(tmpdir(), "tabrl-levels-e2e-chromium-"));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1366, height: 900 },
  });
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  page.setDefaultTimeout(60_000);
  try {
    // 1. The gallery leads with the Go1 and its base-policy badge.
    await page.goto(`${base}/#/`);
    const first = page.getByTestId("scene-card").first();
    await first.waitFor();
    const firstId = await first.getAttribute("data-scene-id");
    if (firstId !== GO1) throw new Error(`the gallery's first scene is ${firstId}, not the ${GO1}`);
    await first.locator(".base-badge").waitFor();
    step("gallery leads with the Go1 (base policy)");

    // 2. Level 1: a command program plays at once.
    const l1 = await compose(page, base, "walk in a circle", "instant");
    if (!l1.badges.some((b) => b.startsWith("Level 1"))) throw new Error(`no level-1 approach: ${l1.badges.join(" | ")}`);
    summary.level1.badges = l1.badges;
    const playButton = page.getByRole("button", { name: /^play \d+ program/i });
    await playButton.waitFor();
    const tPlay = Date.now();
    await playButton.click();
    await page.waitForURL(/#\/batch\//, { timeout: 300_000 });
    summary.level1.batch_page_s = seconds(tPlay);
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid="result-video"]')].some((v) => v.readyState >= 2 && v.duration > 0),
      null,
      { timeout: 300_000, polling: 250 },
    );
    summary.level1.first_video_s = seconds(tPlay);
    await page.screenshot({ path: join(out, "levels-1-circle.png"), fullPage: true });
    step(`level 1: "walk in a circle" video in ${summary.level1.first_video_s} s`);

    // 3. Level 2: fine-tune the base to walk backwards within the budget's minutes.
    const l2 = await compose(page, base, "walk backwards", "a few minutes");
    summary.level2.badges = l2.badges;
    const index = l2.badges.findIndex((b) => b.startsWith("Level 2"));
    if (index < 0) throw new Error(`no level-2 approach: ${l2.badges.join(" | ")}`);
    for (let i = 0; i < l2.badges.length; i++) {
      const box = l2.cards.nth(i).getByRole("checkbox");
      if ((await box.isChecked()) !== (i === index)) await box.setChecked(i === index);
    }
    summary.level2.approach = await l2.cards.nth(index).locator("h3, h2").first().innerText();
    const train = page.getByRole("button", { name: /^train 1 approach/i });
    const tTrain = Date.now();
    await train.click();
    await page.waitForURL(/#\/batch\//, { timeout: 300_000 });
    const panel = page.getByTestId("job-panel").first();
    await panel.waitFor();
    await page.waitForFunction(
      () => {
        const p = document.querySelector('[data-testid="job-panel"]');
        return p && ["succeeded", "failed", "cancelled"].includes(p.dataset.status);
      },
      null,
      { timeout: FINETUNE_TIMEOUT_S * 1000, polling: 2000 },
    );
    summary.level2.status = await panel.getAttribute("data-status");
    summary.level2.trained_s = seconds(tTrain);
    if (summary.level2.status !== "succeeded") {
      throw new Error(`fine-tuning ${summary.level2.status}: ${await panel.getByTestId("job-message").innerText().catch(() => "")}`);
    }
    await page.getByTestId("check-verdict").first().waitFor({ timeout: 300_000 });
    summary.level2.verdict = await page.getByTestId("check-badge").first().innerText();
    summary.level2.figure = await page.getByTestId("check-figure").first().innerText();
    await page.waitForFunction(
      () => [...document.querySelectorAll('[data-testid="result-video"]')].some((v) => v.readyState >= 2 && v.duration > 0),
      null,
      { timeout: 300_000, polling: 1000 },
    );
    summary.level2.video_s = seconds(tTrain);
    await page.screenshot({ path: join(out, "levels-2-backwards.png"), fullPage: true });
    if (!/pass/i.test(summary.level2.verdict)) {
      throw new Error(`the fine-tuned Go1 did not pass its check: ${summary.level2.verdict} — ${summary.level2.figure}`);
    }
    step(`level 2: "walk backwards" fine-tuned and passed in ${summary.level2.trained_s} s (video at ${summary.level2.video_s} s)`);
    summary.ok = true;
  } finally {
    summary.load.end = load();
    await ctx.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

finish(main, () => server, join(out, "levels-summary.json"));
