import { describe, expect, it } from "vitest";
import { applyEvent, isTerminal } from "../api/ws";
import type { Job } from "../api/client";
import { formatDuration, formatEstimate, formatSteps, plural } from "../lib/format";
import { formatLevelEstimate, levelBadge, levelSummary } from "../lib/levels";
import { parseRoute, href } from "../lib/router";
import { filterScenes } from "../pages/Gallery";
import { job, SCENES } from "./fakeApi";

describe("format", () => {
  it("reads durations, estimates and step counts like a person would", () => {
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(125)).toBe("2 min 5 s");
    expect(formatDuration(null)).toBe("—");
    expect(formatEstimate(4)).toBe("a few seconds");
    expect(formatEstimate(95)).toBe("about 2 min");
    expect(formatSteps(50_000)).toBe("50k");
    expect(formatSteps(1_500_000)).toBe("1.5M");
  });
});

describe("levels", () => {
  it("names the three levels, their time and counts with grammar", () => {
    expect(levelBadge("command", "go1-joystick")).toBe("Level 1 · plays instantly");
    expect(levelBadge("fine_tune", "go1-joystick")).toBe("Level 2 · fine-tune go1-joystick");
    expect(levelBadge("fine_tune", null)).toBe("Level 2 · fine-tune a base policy");
    expect(levelBadge("from_scratch")).toBe("Level 3 · from scratch");
    expect(levelSummary("command")).toBe("Level 1 · command program");
    expect(formatLevelEstimate("command", null)).toBe("instant");
    expect(formatLevelEstimate("fine_tune", 0)).toBe("instant");
    expect(formatLevelEstimate("fine_tune", 240)).toBe("about 4 min");
    expect(plural(1, "actuator")).toBe("1 actuator");
    expect(plural(12, "actuator")).toBe("12 actuators");
    expect(plural(2, "approach", "approaches")).toBe("2 approaches");
  });
});

describe("router", () => {
  it("round-trips every page through its hash", () => {
    expect(parseRoute(href.gallery())).toEqual({ page: "gallery" });
    expect(parseRoute(href.compose("Go1 Flat"))).toEqual({ page: "compose", sceneId: "Go1 Flat" });
    expect(parseRoute(href.batch("b1"))).toEqual({ page: "batch", batchId: "b1" });
    expect(parseRoute(href.live("m1"))).toEqual({ page: "live", modelId: "m1", sceneId: null });
    expect(parseRoute(href.liveScene("CartpoleBalance"))).toEqual({ page: "live", modelId: null, sceneId: "CartpoleBalance" });
    expect(parseRoute("#/nope")).toEqual({ page: "not_found", path: "/nope" });
  });
});

describe("gallery filter", () => {
  it("matches name, id and category", () => {
    expect(filterScenes(SCENES, "go1", "all").map((s) => s.id)).toEqual(["Go1JoystickFlatTerrain"]);
    expect(filterScenes(SCENES, "", "classic_control").map((s) => s.id)).toEqual(["CartpoleBalance"]);
    expect(filterScenes(SCENES, "cart", "locomotion")).toEqual([]);
  });
});

describe("training events", () => {
  it("progress events update progress and grow the history once per step", () => {
    let j = job({ status: "queued" }) as unknown as Job;
    j = applyEvent(j, { type: "progress", step: 2000, eval_reward_mean: 10, eval_reward_std: 1, elapsed_s: 5, eta_s: 20 });
    j = applyEvent(j, { type: "progress", step: 2000, eval_reward_mean: 10, elapsed_s: 5 });
    j = applyEvent(j, { type: "progress", step: 4000, eval_reward_mean: 30, elapsed_s: 9, reward_terms: { upright: 0.9 } });
    expect(j.status).toBe("running");
    expect(j.history.map((h) => h.step)).toEqual([2000, 4000]);
    expect(j.progress?.reward_terms).toEqual({ upright: 0.9 });
    expect(isTerminal(j)).toBe(false);
    j = applyEvent(j, { type: "status", status: "succeeded", terminal: true, model_id: "m1" });
    j = applyEvent(j, { type: "video", video_url: "/api/videos/v1" });
    expect([j.status, j.model_id, j.video_url]).toEqual(["succeeded", "m1", "/api/videos/v1"]);
    expect(isTerminal(j)).toBe(true);
  });

  it("an interrupted job is not over: it may resume (the server's terminal flag decides)", () => {
    let j = job({ status: "running" }) as unknown as Job;
    j = applyEvent(j, { type: "status", status: "interrupted", terminal: false, error: "node lost" });
    expect([j.status, isTerminal(j)]).toEqual(["interrupted", false]);
    j = applyEvent(j, { type: "status", status: "queued", terminal: false });
    expect(isTerminal(j)).toBe(false);
  });

  it("a snapshot replaces the job wholesale", () => {
    const j = job() as unknown as Job;
    const snap = job({ status: "failed", error: "reward returned NaN at step 1200" }) as unknown as Job;
    expect(applyEvent(j, { type: "snapshot", job: snap })).toBe(snap);
  });
});
