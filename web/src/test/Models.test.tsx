import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { Models } from "../pages/Models";
import { fakeApi, verdict } from "./fakeApi";

const model = (overrides: Record<string, unknown>) => ({
  id: "m1", name: "Stay upright", scene_id: "CartpoleBalance", created_at: "2025-01-01T00:00:00Z", steps: 20000, eval_reward: 850.5,
  obs_size: 5, action_size: 1, reward_sha256: "x", video_url: null, onnx_url: "/api/models/m1/onnx", inference_url: "/api/models/m1/inference",
  job_id: "job_1", level: "from_scratch", commands: null, ...overrides,
});

describe("Models", () => {
  it("shows each model's level; a command program shows its program instead of training numbers", async () => {
    fakeApi({
      "GET /api/models": () => [
        model({}),
        model({
          id: "m2", name: "Walk a square", scene_id: "Go1JoystickFlatTerrain", created_at: "2025-01-02T00:00:00Z", steps: 0, eval_reward: null,
          level: "command", commands: "def command(t):\n    return (0.6, 0.0, 1.0)\n",
        }),
        model({ id: "m3", name: "Trot", scene_id: "Go1JoystickFlatTerrain", created_at: "2024-12-31T00:00:00Z", level: "fine_tune", steps: 2000000 }),
      ],
    });
    const user = userEvent.setup();
    render(<Models />);
    const cards = await screen.findAllByTestId("model-card");
    expect(cards.map((c) => within(c).getByTestId("model-level").textContent)).toEqual([
      "Level 1 · command program",
      "Level 3 · from scratch",
      "Level 2 · fine-tuned",
    ]);
    expect(within(cards[0]).getByText("no training: a base policy plays it")).toBeInTheDocument();
    expect(within(cards[0]).queryByText(/steps/)).toBeNull();
    await user.click(within(cards[0]).getByText("The command program"));
    expect(within(cards[0]).getByText(/return \(0.6, 0.0, 1.0\)/)).toBeVisible();
    expect(within(cards[1]).getByText("20k steps")).toBeInTheDocument();
    expect(within(cards[0]).getByRole("link", { name: /live view/i })).toHaveAttribute("href", "#/live/m2");
    // The level is searchable.
    await user.type(screen.getByRole("searchbox", { name: /filter models/i }), "command program");
    expect(screen.getAllByTestId("model-card")).toHaveLength(1);
  });

  it("shows a passed/failed badge with the figure for a model judged on its success check", async () => {
    fakeApi({
      "GET /api/models": () => [
        model({ id: "m1", name: "Moonwalk", created_at: "2025-01-03T00:00:00Z", check: verdict() }),
        model({
          id: "m2", name: "Shuffle", created_at: "2025-01-02T00:00:00Z",
          check: verdict({ passed: false, figure: "speed -0.30 (< -1.0) ✗, upright 0.95 (>= 0.9)" }),
        }),
        model({ id: "m3", name: "Unjudged", created_at: "2025-01-01T00:00:00Z" }),
      ],
    });
    const user = userEvent.setup();
    render(<Models />);
    const [passed, failed, unjudged] = await screen.findAllByTestId("model-card");
    expect(within(passed).getByTestId("check-badge")).toHaveTextContent("✓ check passed");
    expect(within(passed).getByTestId("check-figure")).toHaveTextContent("speed -1.20 (< -1.0), upright 1.00 (>= 0.9)");
    expect(within(failed).getByTestId("check-badge")).toHaveTextContent("✗ check failed");
    expect(within(failed).getByTestId("check-figure")).toHaveTextContent("speed -0.30 (< -1.0) ✗");
    expect(within(unjudged).queryByTestId("check-verdict")).toBeNull();
    // No rank outside a batch.
    expect(screen.queryByTestId("check-rank")).toBeNull();
    await user.type(screen.getByRole("searchbox", { name: /filter models/i }), "check failed");
    expect(screen.getAllByTestId("model-card").map((c) => within(c).getByText(/Moonwalk|Shuffle|Unjudged/).textContent)).toEqual(["Shuffle"]);
  });
});
