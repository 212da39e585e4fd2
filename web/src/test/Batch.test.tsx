import { act, render, screen, waitFor, within, fireEvent } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { Batch, orderByRank } from "../pages/Batch";
import { JobPanel } from "../components/JobPanel";
import { VideoGrid } from "../components/VideoGrid";
import { fakeApi, installFakeSockets, job, verdict } from "./fakeApi";

describe("Batch (training + results)", () => {
  it("loads jobs from the server, follows their event streams, and cancels", async () => {
    const jobs = [job({ id: "a", name: "Stay upright", status: "running" }), job({ id: "b", name: "Spin", status: "queued", queue_position: 0, estimated_start_s: 90 })];
    const { calls } = fakeApi({
      "GET /api/training": () => jobs,
      "POST /api/training/b/cancel": () => ({ ...jobs[1], status: "cancelled", terminal: true }),
    });
    const Sockets = installFakeSockets();
    const user = userEvent.setup();
    render(<Batch batchId="b1" />);
    const panels = await screen.findAllByTestId("job-panel");
    expect(panels).toHaveLength(2);
    expect(calls[0].query.get("batch_id")).toBe("b1");
    expect(within(panels[1]).getByText(/starts in about 2 min/)).toBeInTheDocument();
    await waitFor(() => expect(Sockets.instances.map((s) => s.url)).toEqual([
      expect.stringMatching(/^ws:\/\/.*\/api\/training\/a\/events$/),
      expect.stringMatching(/^ws:\/\/.*\/api\/training\/b\/events$/),
    ]));

    const a = Sockets.instances[0];
    act(() => {
      a.emit({ type: "snapshot", job: { ...jobs[0], progress: null } });
      a.emit({ type: "progress", step: 5000, eval_reward_mean: 120.5, eval_reward_std: 4, elapsed_s: 30, eta_s: 30, env_steps_per_s: 170, reward_terms: { upright: 0.8, effort: -0.1 } });
    });
    const pa = screen.getAllByTestId("job-panel")[0];
    expect(within(pa).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "50");
    expect(within(pa).getByText("120.50")).toBeInTheDocument();
    expect(within(pa).getByRole("img", { name: /eval reward 120.50 at step 5k/i })).toBeInTheDocument();
    expect(within(pa).getByRole("table", { name: /reward terms/i })).toHaveTextContent("effort");

    await user.click(within(screen.getAllByTestId("job-panel")[1]).getByRole("button", { name: /cancel/i }));
    await waitFor(() => expect(screen.getAllByTestId("job-panel")[1]).toHaveAttribute("data-status", "cancelled"));

    act(() => {
      a.emit({ type: "status", status: "succeeded", terminal: true, model_id: "m1" });
      a.emit({ type: "video", video_url: "/api/videos/v1" });
    });
    expect(await screen.findByRole("heading", { name: "Results" })).toBeInTheDocument();
    expect(screen.getAllByTestId("result-video")).toHaveLength(1);
    expect(within(screen.getAllByTestId("job-panel")[0]).getByRole("link", { name: /live view/i })).toHaveAttribute("href", "#/live/m1");
  });

  it("shows a command approach as a render job: plays in seconds, its video joins the grid, live view opens its model", async () => {
    const jobs = [
      job({ id: "t", name: "Trot happily", scene_id: "Go1JoystickFlatTerrain", status: "running", total_steps: 2000000 }),
      job({ id: "r", kind: "render", name: "Walk a square", scene_id: "Go1JoystickFlatTerrain", status: "queued", total_steps: null, reward_code: null }),
    ];
    const { calls } = fakeApi({
      "GET /api/training": () => jobs,
      "GET /api/models/m2": () => ({ id: "m2", level: "command", commands: "def command(t):\n    return (0.6, 0.0, 1.0)\n" }),
    });
    const Sockets = installFakeSockets();
    const user = userEvent.setup();
    render(<Batch batchId="b1" />);
    const panels = await screen.findAllByTestId("job-panel");
    expect(panels.map((p) => p.dataset.kind)).toEqual(["train", "render"]);
    const play = panels[1];
    expect(within(play).getByText("▶ Playing command program")).toBeInTheDocument();
    expect(within(play).getByText("Level 1 · plays instantly")).toBeInTheDocument();
    expect(within(play).getByTestId("job-message")).toHaveTextContent(/nothing needs training/);
    expect(within(play).queryByRole("img", { name: /eval reward/i })).toBeNull(); // no training chart
    expect(screen.getByText(/1 approach training on the same machine; 1 command program playing on the base policy/)).toBeInTheDocument();
    await waitFor(() => expect(Sockets.instances).toHaveLength(2));

    const r = Sockets.instances.find((s) => s.url.endsWith("/api/training/r/events")) as (typeof Sockets.instances)[number];
    act(() => r.emit({ type: "status", status: "running" }));
    expect(within(screen.getAllByTestId("job-panel")[1]).getByText("playing…")).toBeInTheDocument();
    expect(within(screen.getAllByTestId("job-panel")[1]).getByRole("progressbar")).not.toHaveAttribute("aria-valuenow");
    act(() => {
      r.emit({ type: "video", video_id: "m2-s0", video_url: "/api/videos/m2-s0" });
      r.emit({ type: "status", status: "succeeded", terminal: true });
      r.emit({
        type: "snapshot",
        job: { ...jobs[1], status: "succeeded", terminal: true, started_at: "2025-01-01T00:00:01Z", finished_at: "2025-01-01T00:00:05Z", model_id: "m2", video_id: "m2-s0", video_url: "/api/videos/m2-s0" },
      });
    });
    // Its video is in the side-by-side grid while the other approach still trains.
    expect(await screen.findByRole("heading", { name: "Side by side" })).toBeInTheDocument();
    expect(screen.getByRole("heading", { name: "Training" })).toBeInTheDocument();
    expect(screen.getAllByTestId("result-video")).toHaveLength(1);
    const figure = screen.getByTestId("result-video").closest("figure") as HTMLElement;
    expect(within(figure).getByText("Walk a square")).toBeInTheDocument();
    expect(within(figure).getByText("Level 1 · plays instantly")).toBeInTheDocument();
    expect(within(figure).getByRole("link", { name: /live view/i })).toHaveAttribute("href", "#/live/m2");
    const done = screen.getAllByTestId("job-panel")[1];
    expect(done).toHaveAttribute("data-status", "succeeded");
    expect(within(done).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    expect(within(done).getByText("4 s")).toBeInTheDocument();
    expect(within(done).getByRole("link", { name: /live view/i })).toHaveAttribute("href", "#/live/m2");
    // The program it played, from the model library on demand.
    await user.click(within(done).getByText("The command program"));
    expect(await within(done).findByText(/return \(0.6, 0.0, 1.0\)/)).toBeInTheDocument();
    expect(calls.some((c) => c.path === "/api/models/m2")).toBe(true);
  });

  it("shows each finished job's success-check verdict, then ranks and orders panels and videos best first once all are done", async () => {
    const PASS = verdict({ score: 1, figure: "speed -1.20 (< -1.0), upright 1.00 (>= 0.9)" });
    const FAIL = verdict({ passed: false, score: 0.4, pass_rate: 0, figure: "speed -0.30 (< -1.0) ✗, upright 0.95 (>= 0.9)" });
    const CLOSE = verdict({ score: 0.9, figure: "speed -1.05 (< -1.0), upright 0.91 (>= 0.9)" });
    const done = (id: string, check: unknown) =>
      job({ id, status: "succeeded", model_id: `m-${id}`, video_url: `/api/videos/${id}`, check, progress: null });
    let jobs = [
      job({ id: "a", name: "Back up", status: "running" }),
      { ...done("b", FAIL), name: "Shuffle" },
      { ...done("c", PASS), name: "Moonwalk" },
      job({ id: "d", name: "Jiggle", status: "cancelled" }),
    ];
    let ranks = ["c", "b", "a", "d"];
    const { calls } = fakeApi({
      "GET /api/training": () => jobs,
      "GET /api/training/batch/b1": () => ({
        batch_id: "b1",
        jobs: ranks.map((id, i) => ({ ...jobs.find((j) => j.id === id), rank: i + 1 })),
      }),
    });
    const Sockets = installFakeSockets();
    render(<Batch batchId="b1" />);
    await waitFor(() => expect(calls.some((c) => c.path === "/api/training/batch/b1")).toBe(true));

    // While one still trains: verdicts of the finished ones, no ranks, everything in place.
    const names = () => screen.getAllByTestId("job-panel").map((p) => within(p).getByRole("heading").textContent);
    const panel = (name: string) => screen.getAllByTestId("job-panel").find((p) => within(p).queryByRole("heading", { name })) as HTMLElement;
    await waitFor(() => expect(within(panel("Shuffle")).getByTestId("check-badge")).toHaveTextContent("✗ check failed"));
    expect(within(panel("Shuffle")).getByTestId("check-figure")).toHaveTextContent("speed -0.30 (< -1.0) ✗, upright 0.95 (>= 0.9)");
    expect(within(panel("Moonwalk")).getByTestId("check-badge")).toHaveTextContent("✓ check passed");
    expect(within(panel("Moonwalk")).getByText("Judged on 8 rollouts · 75% met every goal")).toBeInTheDocument();
    expect(screen.queryByTestId("check-rank")).toBeNull();
    expect(within(panel("Back up")).queryByTestId("check-verdict")).toBeNull();
    expect(names()).toEqual(["Back up", "Shuffle", "Moonwalk", "Jiggle"]);
    expect(screen.getAllByTestId("result-video").map((v) => v.closest("figure")?.querySelector("strong")?.textContent)).toEqual([
      "Shuffle",
      "Moonwalk",
    ]);

    // The last one finishes (with a video): the batch is ranked again, and panels and videos line up best first.
    jobs = [{ ...done("a", CLOSE), name: "Back up" }, ...jobs.slice(1)];
    ranks = ["c", "a", "b", "d"];
    await waitFor(() => expect(Sockets.instances).toHaveLength(1));
    act(() => {
      Sockets.instances[0].emit({ type: "video", video_url: "/api/videos/a" });
      Sockets.instances[0].emit({ type: "status", status: "succeeded", terminal: true, model_id: "m-a" });
    });
    await waitFor(() => expect(names()).toEqual(["Moonwalk", "Back up", "Shuffle", "Jiggle"]));
    expect(screen.getByRole("heading", { name: "Results" })).toBeInTheDocument();
    expect(within(panel("Moonwalk")).getByTestId("check-rank")).toHaveTextContent("#1 of 4");
    expect(within(panel("Back up")).getByTestId("check-rank")).toHaveTextContent("#2 of 4");
    expect(within(panel("Back up")).getByTestId("check-figure")).toHaveTextContent("speed -1.05 (< -1.0), upright 0.91 (>= 0.9)");
    expect(within(panel("Shuffle")).getByTestId("check-rank")).toHaveTextContent("#3 of 4");
    // A job without a check shows nothing extra.
    expect(within(panel("Jiggle")).queryByTestId("check-verdict")).toBeNull();
    const figures = screen.getAllByTestId("result-video").map((v) => v.closest("figure") as HTMLElement);
    expect(figures.map((f) => f.querySelector("strong")?.textContent)).toEqual(["Moonwalk", "Back up", "Shuffle"]);
    expect(within(figures[0]).getByTestId("check-rank")).toHaveTextContent("#1 of 4");
    expect(within(figures[2]).getByTestId("check-badge")).toHaveTextContent("✗ check failed");
    expect(screen.getByTestId("ranked-note")).toHaveTextContent(/best first, ranked by each approach's success check/i);
  });

  it("keeps a batch without success checks as it was: no verdicts, no ranks, the best eval reward marked", async () => {
    const jobs = [
      job({ id: "a", name: "Low", status: "succeeded", video_url: "/api/videos/a", progress: { step: 10000, eval_reward_mean: 1, eval_reward_std: 0, reward_terms: {}, episode_length: null, env_steps_per_s: null, elapsed_s: 5, eta_s: null } }),
      job({ id: "b", name: "High", status: "succeeded", video_url: "/api/videos/b", progress: { step: 10000, eval_reward_mean: 9, eval_reward_std: 0, reward_terms: {}, episode_length: null, env_steps_per_s: null, elapsed_s: 5, eta_s: null } }),
    ];
    const { calls } = fakeApi({
      "GET /api/training": () => jobs,
      "GET /api/training/batch/b1": () => ({ batch_id: "b1", jobs: [{ ...jobs[1], rank: 1 }, { ...jobs[0], rank: 2 }] }),
    });
    installFakeSockets();
    render(<Batch batchId="b1" />);
    await screen.findAllByTestId("job-panel");
    await waitFor(() => expect(calls.some((c) => c.path === "/api/training/batch/b1")).toBe(true));
    expect(screen.getAllByTestId("job-panel").map((p) => within(p).getByRole("heading").textContent)).toEqual(["Low", "High"]);
    expect(screen.queryByTestId("check-verdict")).toBeNull();
    expect(screen.queryByTestId("ranked-note")).toBeNull();
    expect(within(screen.getAllByTestId("result-video")[1].closest("figure") as HTMLElement).getByText("best")).toBeInTheDocument();
  });

  it("offers a refine for a finished, ranked batch: the next round opens, its rounds linked", async () => {
    const failed = verdict({ passed: false, score: 0.4, figure: "cart_x 0.01 (> 0.3 ✗)" });
    const jobs = [job({ id: "a", name: "Stand tall", status: "succeeded", check: failed })];
    const { calls } = fakeApi({
      "GET /api/training": () => jobs,
      "GET /api/training/batch/b1": () => ({ batch_id: "b1", round: 1, parent_batch_id: null, jobs: [{ ...jobs[0], rank: 1 }] }),
      "POST /api/training/batch/b1/refine": () => ({
        status: 201,
        json: { batch_id: "b2", round: 2, parent_batch_id: "b1", jobs: [{ ...jobs[0], id: "n", batch_id: "b2", status: "queued" }] },
      }),
    });
    installFakeSockets();
    const user = userEvent.setup();
    render(<Batch batchId="b1" />);
    expect(await screen.findByTestId("batch-round")).toHaveTextContent("Round 1");
    await user.click(await screen.findByRole("button", { name: "Refine: Round 2" }));
    await waitFor(() => expect(window.location.hash).toBe("#/batch/b2"));
    expect(calls.find((c) => c.method === "POST")?.path).toBe("/api/training/batch/b1/refine");
  });

  it("shows a refined round with a link back to the previous one, and a refusal in words", async () => {
    const jobs = [job({ id: "n", batch_id: "b2", name: "Stand tall (+cart_x term)", status: "succeeded", check: verdict({ passed: false }) })];
    fakeApi({
      "GET /api/training": () => jobs,
      "GET /api/training/batch/b2": () => ({ batch_id: "b2", round: 2, parent_batch_id: "b1", jobs: [{ ...jobs[0], rank: 1 }] }),
      "POST /api/training/batch/b2/refine": () => ({
        status: 400,
        json: { error: "tab_r_l", message: "no next round for batch b2: the rules found nothing to change" },
      }),
    });
    installFakeSockets();
    const user = userEvent.setup();
    render(<Batch batchId="b2" />);
    const round = await screen.findByTestId("batch-round");
    expect(round).toHaveTextContent("Round 2");
    expect(within(round).getByRole("link", { name: "← Round 1" })).toHaveAttribute("href", "#/batch/b1");
    await user.click(await screen.findByRole("button", { name: "Refine: Round 3" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("the rules found nothing to change");
  });

  it("shows why a job failed", async () => {
    fakeApi({ "GET /api/training": () => [job({ status: "failed", error: "the reward returned NaN at step 1200: check divisions by zero (line 4)" })] });
    installFakeSockets();
    render(<Batch batchId="b1" />);
    expect(await screen.findByRole("alert")).toHaveTextContent("NaN at step 1200");
  });
});

describe("JobPanel verdict", () => {
  it("shows a finished job's rank and verdict in words", () => {
    const check = verdict({ passed: false, figure: "speed -0.30 (< -1.0) ✗, upright 0.95 (>= 0.9)" });
    render(<JobPanel job={job({ status: "succeeded", check }) as never} onUpdate={() => undefined} live={false} rank={2} of={3} />);
    expect(screen.getByTestId("check-rank")).toHaveTextContent("#2 of 3");
    expect(screen.getByTestId("check-badge")).toHaveTextContent("✗ check failed");
    expect(screen.getByTestId("check-figure")).toHaveTextContent("speed -0.30 (< -1.0) ✗");
  });

  it("orders jobs by rank, best first; unranked ones keep their order at the end", () => {
    const jobs = [{ id: "x" }, { id: "y" }, { id: "z" }, { id: "w" }];
    const ranked = new Map([
      ["z", { rank: 1 }],
      ["x", { rank: 2 }],
      ["w", { rank: null }],
    ]);
    expect(orderByRank(jobs, ranked).map((j) => j.id)).toEqual(["z", "x", "y", "w"]);
    expect(orderByRank(jobs, new Map()).map((j) => j.id)).toEqual(["x", "y", "z", "w"]);
  });
});

describe("VideoGrid", () => {
  it("plays, pauses and seeks every video together, with a download link each", async () => {
    const play = vi.spyOn(HTMLMediaElement.prototype, "play").mockImplementation(() => Promise.resolve());
    const pause = vi.spyOn(HTMLMediaElement.prototype, "pause").mockImplementation(() => undefined);
    const user = userEvent.setup();
    render(
      <VideoGrid
        items={[
          { key: "a", title: "A", src: "http://x/api/videos/a", downloadName: "A.mp4" },
          { key: "b", title: "B", src: "http://x/api/videos/b", downloadName: "B.mp4" },
          { key: "c", title: "C", src: "http://x/api/videos/c", downloadName: "C.mp4" },
        ]}
      />,
    );
    const videos = screen.getAllByTestId("result-video") as HTMLVideoElement[];
    for (const v of videos) Object.defineProperty(v, "duration", { value: 10, configurable: true });
    fireEvent.loadedMetadata(videos[0]);
    await user.click(screen.getByRole("button", { name: /play all/i }));
    expect(play).toHaveBeenCalledTimes(3);
    fireEvent.change(screen.getByRole("slider", { name: /seek all/i }), { target: { value: "4.5" } });
    expect(videos.map((v) => v.currentTime)).toEqual([4.5, 4.5, 4.5]);
    await user.click(screen.getByRole("button", { name: /pause all/i }));
    expect(pause).toHaveBeenCalledTimes(3);
    expect(screen.getAllByRole("link", { name: /download/i }).map((a) => a.getAttribute("download"))).toEqual(["A.mp4", "B.mp4", "C.mp4"]);
    expect(screen.getByRole("checkbox", { name: /loop/i })).toBeChecked();
  });
});
