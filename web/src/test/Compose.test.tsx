import { EditorView } from "@codemirror/view";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { Compose } from "../pages/Compose";
import { type Call, fakeApi, SCENES } from "./fakeApi";

const GOOD = "def reward(s, a):\n    return {'upright': s.pole_cos}\n";
const BAD = "def reward(s, a):\n    x = 1\n    return {'spin': s.no_such_thing}\n";

function routes() {
  return {
    "GET /api/playground/CartpoleBalance": () => ({ ...SCENES[0], actuators: [], joints: [], bodies: [] }),
    "GET /api/llm/providers": () => [
      { name: "offline", label: "Offline", configured: true, default_model: "offline", models: [], selected: true },
      { name: "anthropic", label: "Anthropic", configured: false, default_model: "claude", models: ["claude"], selected: false },
    ],
    "GET /api/training/presets": () => ({
      device: "cpu",
      fine_tune_available: false,
      presets: [
        { name: "quick", steps: 20000, estimate_s: 60, label: "Quick" },
        { name: "standard", steps: 100000, estimate_s: 300, label: "Standard" },
      ],
    }),
    "POST /api/policy/generate": () => ({
      provider: "offline",
      model: "offline",
      latency_s: 0.4,
      approaches: [
        { name: "Stay upright", description: "Rewards a vertical pole.", reward_code: GOOD, valid: true, errors: [], level: "from_scratch", steps: 20000 },
        {
          name: "Spin", description: "Rewards spinning.", reward_code: BAD, valid: false, level: "from_scratch", steps: 20000,
          errors: [{ line: 3, message: "unknown state field 'no_such_thing' (did you mean 'pole_sin'?)" }],
        },
      ],
    }),
    "POST /api/rewards/check": () => ({ valid: true, terms: ["spin"], errors: [] }),
    "POST /api/training/batch": () => ({ batch_id: "batch42", jobs: [] }),
  };
}

describe("Compose", () => {
  it("walks prompt -> approaches (errors at their lines) -> edit + re-check -> train the chosen ones", async () => {
    const { calls } = fakeApi(routes());
    const user = userEvent.setup();
    render(<Compose sceneId="CartpoleBalance" />);

    // Providers: offline is selectable, unconfigured ones are shown but disabled.
    const providerSelect = await screen.findByLabelText(/who writes the rewards/i);
    await waitFor(() => expect(within(providerSelect).getByRole("option", { name: /anthropic — not configured/i })).toBeDisabled());
    // Presets from the server, with the estimate for this machine; no base policy -> from scratch.
    expect(await screen.findByTestId("preset-estimate")).toHaveTextContent("20k steps · about 1 min per approach on this machine (CPU · MJX)");
    expect(screen.getByRole("radio", { name: /pretrained base policy/i })).toBeDisabled();

    // A fun suggestion fills the prompt; generating shows the approach cards.
    await user.click(screen.getByRole("button", { name: "Walk like you're on the moon" }));
    expect(screen.getByLabelText(/what should the robot do/i)).toHaveValue("Walk like you're on the moon");
    await user.click(screen.getByRole("button", { name: /write reward approaches/i }));
    const cards = await screen.findAllByTestId("approach-card");
    expect(cards).toHaveLength(2);
    expect(calls.find((c) => c.path === "/api/policy/generate")?.body).toMatchObject({
      scene_id: "CartpoleBalance", prompt: "Walk like you're on the moon", provider: "offline", n: 3,
    });

    // The invalid one shows its compiler error at line 3, in the list and in the editor's gutter.
    const spin = cards[1];
    expect(within(spin).getByTestId("approach-status")).toHaveTextContent("1 error");
    expect(within(spin).getByRole("list", { name: /compiler errors/i })).toHaveTextContent("line 3");
    await waitFor(() => expect(spin.querySelector(".cm-lintRange-error")).not.toBeNull());
    expect(spin.querySelector(".cm-lintRange-error")?.textContent).toContain("no_such_thing");
    // Only valid approaches start selected; training needs valid, checked code.
    expect(within(spin).getByRole("checkbox")).not.toBeChecked();
    expect(screen.getByRole("button", { name: /train 1 approach$/i })).toBeEnabled();

    // Edit the code in the editor, select it, re-check: it compiles and lists its terms.
    const view = EditorView.findFromDOM(spin.querySelector(".cm-editor") as HTMLElement) as EditorView;
    const fixed = "def reward(s, a):\n    return {'spin': s.pole_sin}\n";
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: fixed } });
    await user.click(within(spin).getByRole("checkbox"));
    expect(within(spin).getByTestId("approach-status")).toHaveTextContent("edited — check again");
    expect(screen.getByRole("button", { name: /train 2 approaches/i })).toBeDisabled();
    await user.click(within(spin).getByRole("button", { name: /check code/i }));
    await waitFor(() => expect(within(spin).getByTestId("approach-status")).toHaveTextContent("compiles"));
    expect(within(spin).getByText("reward/spin")).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/api/rewards/check")?.body).toEqual({ scene_id: "CartpoleBalance", code: fixed });

    // Train both: one batch request with the edited code, then the batch page.
    await user.click(screen.getByRole("button", { name: /train 2 approaches/i }));
    await waitFor(() => expect(window.location.hash).toBe("#/batch/batch42"));
    const batch = calls.find((c) => c.path === "/api/training/batch")?.body as { approaches: { name: string; reward_code: string }[] };
    expect(batch).toMatchObject({ scene_id: "CartpoleBalance", preset: "quick", seed: 0 });
    expect(batch.approaches.map((a) => [a.name, a.reward_code])).toEqual([
      ["Stay upright", GOOD],
      ["Spin", fixed],
    ]);
  });

  it("explains a failed generation in one readable line", async () => {
    fakeApi({
      ...routes(),
      "POST /api/policy/generate": () => ({ status: 400, json: { error: "bad_prompt", message: "the prompt is empty: describe what the robot should do" } }),
    });
    const user = userEvent.setup();
    render(<Compose sceneId="CartpoleBalance" />);
    await user.type(await screen.findByLabelText(/what should the robot do/i), "x");
    await user.click(screen.getByRole("button", { name: /write reward approaches/i }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Writing reward approaches failed: the prompt is empty: describe what the robot should do");
  });

  it("offers the physics engine where the scene has two, re-estimates and sends the choice", async () => {
    const { calls } = fakeApi({
      ...routes(),
      "GET /api/training/presets": (call: Call) => {
        const forced = call.query.get("backend") === "mjx";
        return {
          device: "cpu",
          backend: forced ? "mjx" : "mujoco",
          backends: ["mjx", "mujoco"],
          fine_tune_available: false,
          presets: [{ name: "quick", steps: 20000, estimate_s: forced ? 600 : 60, label: "Quick" }],
        };
      },
    });
    const user = userEvent.setup();
    render(<Compose sceneId="CartpoleBalance" />);
    expect(await screen.findByTestId("preset-estimate")).toHaveTextContent("(CPU · MuJoCo C)");
    const engine = screen.getByLabelText(/physics engine/i);
    expect(within(engine).getByRole("option", { name: /automatic \(MuJoCo C here\)/i })).toBeInTheDocument();
    await user.selectOptions(engine, "mjx");
    await waitFor(() => expect(screen.getByTestId("preset-estimate")).toHaveTextContent("(CPU · MJX)"));
    expect(calls.some((c) => c.path === "/api/training/presets" && c.query.get("backend") === "mjx")).toBe(true);
  });
});
