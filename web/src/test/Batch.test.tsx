import { act, render, screen, waitFor, within, fireEvent } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { Batch } from "../pages/Batch";
import { VideoGrid } from "../components/VideoGrid";
import { fakeApi, installFakeSockets, job } from "./fakeApi";

describe("Batch (training + results)", () => {
  it("loads jobs from the server, follows their event streams, and cancels", async () => {
    const jobs = [job({ id: "a", name: "Stay upright", status: "running" }), job({ id: "b", name: "Spin", status: "queued", queue_position: 0, estimated_start_s: 90 })];
    const { calls } = fakeApi({
      "GET /api/training": () => jobs,
      "POST /api/training/b/cancel": () => ({ ...jobs[1], status: "cancelled" }),
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
      a.emit({ type: "progress", step: 5000, eval_reward: 120.5, eval_reward_std: 4, elapsed_s: 30, eta_s: 30, env_steps_per_s: 170, reward_terms: { upright: 0.8, effort: -0.1 } });
    });
    const pa = screen.getAllByTestId("job-panel")[0];
    expect(within(pa).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "50");
    expect(within(pa).getByText("120.50")).toBeInTheDocument();
    expect(within(pa).getByRole("img", { name: /eval reward 120.50 at step 5k/i })).toBeInTheDocument();
    expect(within(pa).getByRole("table", { name: /reward terms/i })).toHaveTextContent("effort");

    await user.click(within(screen.getAllByTestId("job-panel")[1]).getByRole("button", { name: /cancel/i }));
    await waitFor(() => expect(screen.getAllByTestId("job-panel")[1]).toHaveAttribute("data-status", "cancelled"));

    act(() => {
      a.emit({ type: "status", status: "succeeded", model_id: "m1" });
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
      r.emit({ type: "status", status: "succeeded" });
      r.emit({
        type: "snapshot",
        job: { ...jobs[1], status: "succeeded", started_at: "2025-01-01T00:00:01Z", finished_at: "2025-01-01T00:00:05Z", model_id: "m2", video_id: "m2-s0", video_url: "/api/videos/m2-s0" },
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

  it("shows why a job failed", async () => {
    fakeApi({ "GET /api/training": () => [job({ status: "failed", error: "the reward returned NaN at step 1200: check divisions by zero (line 4)" })] });
    installFakeSockets();
    render(<Batch batchId="b1" />);
    expect(await screen.findByRole("alert")).toHaveTextContent("NaN at step 1200");
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
