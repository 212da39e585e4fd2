import { EditorView } from "@codemirror/view";
import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { Compose } from "../pages/Compose";
import { BASES, type Call, fakeApi, SCENES } from "./fakeApi";

const GOOD = "def reward(s, a):\n    return {'upright': s.pole_cos}\n";
const BAD = "def reward(s, a):\n    x = 1\n    return {'spin': s.no_such_thing}\n";

function routes() {
  return {
    "GET /api/playground/CartpoleBalance": () => ({ ...SCENES[0], actuators: [], joints: [], bodies: [] }),
    "GET /api/bases": () => [],
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
        {
          name: "Stay upright", description: "Rewards a vertical pole.", reward_code: GOOD, valid: true, errors: [], level: "from_scratch",
          steps: 50000, estimate_s: 150, terms: ["upright"], why: "No base policy for this scene: a short run from scratch (level 3).", commands: null, base_id: null,
        },
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
    // Time budget: "A few minutes" by default; with no base policy, it says nothing plays instantly.
    expect(screen.getByRole("radio", { name: /a few minutes/i })).toBeChecked();
    expect(screen.getByRole("radio", { name: /instant/i })).toHaveAccessibleName(/nothing plays instantly here/i);
    await waitFor(() => expect(screen.getByTestId("budget-note")).toHaveTextContent(/no base policy for this scene/i));
    // Training length: as planned per approach, or a preset from the server with its estimate for this machine.
    expect(await screen.findByTestId("preset-estimate")).toHaveTextContent(/each approach trains for what its level needs/i);
    await user.click(screen.getByRole("button", { name: "Quick" }));
    expect(screen.getByTestId("preset-estimate")).toHaveTextContent("20k steps · about 1 min per approach on this machine (CPU · MJX)");

    // A fun suggestion fills the prompt; generating shows the approach cards.
    await user.click(screen.getByRole("button", { name: "Walk like you're on the moon" }));
    expect(screen.getByLabelText(/what should the robot do/i)).toHaveValue("Walk like you're on the moon");
    await user.click(screen.getByRole("button", { name: /write approaches/i }));
    const cards = await screen.findAllByTestId("approach-card");
    expect(cards).toHaveLength(2);
    expect(calls.find((c) => c.path === "/api/policy/generate")?.body).toMatchObject({
      scene_id: "CartpoleBalance", prompt: "Walk like you're on the moon", provider: "offline", n: 3, budget: "minutes",
    });
    // Level 3 badge, why, and the time for the chosen preset (the planned steps are replaced).
    expect(within(cards[0]).getByTestId("level-badge")).toHaveTextContent("Level 3 · from scratch");
    expect(within(cards[0]).getByTestId("approach-why")).toHaveTextContent("No base policy for this scene");
    expect(within(cards[0]).getByTestId("approach-estimate")).toHaveTextContent("about 1 min · 20k steps (your choice)");
    // The reward's terms come with the approach (the server sends the core model's `terms`), before any re-check.
    expect(within(cards[0]).getByText("reward/upright")).toBeInTheDocument();

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
    const batch = calls.find((c) => c.path === "/api/training/batch")?.body as { approaches: Record<string, unknown>[] };
    expect(batch).toMatchObject({ scene_id: "CartpoleBalance", seed: 0, backend: "auto" });
    expect(batch.approaches).toEqual([
      { name: "Stay upright", level: "from_scratch", reward_code: GOOD, base_id: null, steps: 20000 },
      { name: "Spin", level: "from_scratch", reward_code: fixed, base_id: null, steps: 20000 },
    ]);
  });

  it("shows each approach's success check (errors at their lines), edits it like the reward and sends it with the batch", async () => {
    const CHECK = 'def measure(s):\n    return {"upright": s.pole_cos}\n\nGOALS = {"upright": "> 0.9"}\n';
    const BROKEN = 'def measure(s):\n    return {"spin": s.no_such_thing}\n\nGOALS = {"spin": "> 3"}\n';
    const FIXED = 'def measure(s):\n    return {"spin": s.pole_sin}\n\nGOALS = {"spin": "> 0.3"}\n';
    let refuse = true;
    const { calls } = fakeApi({
      ...routes(),
      "POST /api/policy/generate": () => ({
        provider: "offline",
        model: "offline",
        latency_s: 0.3,
        approaches: [
          {
            name: "Stay upright", description: "Rewards a vertical pole.", reward_code: GOOD, valid: true, errors: [], level: "from_scratch",
            steps: 50000, estimate_s: 150, success_check: CHECK, check_errors: [],
          },
          {
            name: "Spin", description: "Rewards spinning.", reward_code: GOOD, valid: false, errors: [], level: "from_scratch", steps: 20000,
            success_check: BROKEN, check_errors: [{ line: 2, message: "unknown state field 'no_such_thing' (did you mean 'pole_sin'?)" }],
          },
          { name: "No check", description: "An older server's approach.", reward_code: GOOD, valid: true, errors: [], level: "from_scratch", steps: 20000 },
        ],
      }),
      "POST /api/training/batch": () => {
        if (!refuse) return { batch_id: "batch9", jobs: [] };
        refuse = false;
        return { status: 422, json: { error: "reward_compile", message: "success check rejected: line 4: GOALS names 'spin', which measure(s) does not return" } };
      },
    });
    const user = userEvent.setup();
    render(<Compose sceneId="CartpoleBalance" />);
    await user.type(await screen.findByLabelText(/what should the robot do/i), "spin");
    await user.click(screen.getByRole("button", { name: /write approaches/i }));
    const [upright, spin, none] = await screen.findAllByTestId("approach-card");

    // A valid check: a collapsed section with the check's code, ready to edit.
    const section = within(upright).getByTestId("success-check");
    expect(section).not.toHaveAttribute("open");
    expect(within(section).getByText("Success check")).toBeInTheDocument();
    expect(within(upright).getByTestId("success-check-status")).toHaveTextContent("✓ valid");
    expect(within(upright).getByRole("textbox", { name: "Success check for Stay upright" })).toHaveTextContent("GOALS = {\"upright\": \"> 0.9\"}");
    expect(within(upright).getByTestId("approach-status")).toHaveTextContent("✓ compiles");
    // An approach without a check has no section.
    expect(within(none).queryByTestId("success-check")).toBeNull();

    // A broken check: open, its errors at their lines (list and gutter), the reward still compiles, not selected.
    expect(within(spin).getByTestId("success-check")).toHaveAttribute("open");
    expect(within(spin).getByTestId("approach-status")).toHaveTextContent("✗ success check: 1 error");
    expect(within(spin).getByTestId("success-check-status")).toHaveTextContent("✗ 1 error");
    expect(within(spin).getByRole("list", { name: "Success check errors" })).toHaveTextContent("line 2 unknown state field 'no_such_thing'");
    expect(within(spin).queryByRole("list", { name: /compiler errors/i })).toBeNull();
    const checkBox = within(spin).getByRole("textbox", { name: "Success check for Spin" });
    const checkEditor = checkBox.closest(".cm-editor") as HTMLElement;
    await waitFor(() => expect(checkEditor.querySelector(".cm-lintRange-error")?.textContent).toContain("no_such_thing"));
    expect(within(spin).getByRole("checkbox")).not.toBeChecked();
    await user.click(within(spin).getByRole("checkbox"));
    expect(screen.getByRole("button", { name: /train 3 approaches/i })).toBeDisabled();
    expect(screen.getByTestId("run-summary")).toHaveTextContent("Fix the success check or unselect the approaches whose check has errors.");

    // Edit the check: its old errors go, it is checked again when the run starts; the section stays open.
    const view = EditorView.findFromDOM(checkEditor) as EditorView;
    view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: FIXED } });
    await waitFor(() => expect(within(spin).getByTestId("success-check-status")).toHaveTextContent("edited — checked when it starts"));
    expect(within(spin).queryByRole("list", { name: "Success check errors" })).toBeNull();
    expect(within(spin).getByTestId("approach-status")).toHaveTextContent("✓ compiles");
    expect(within(spin).getByTestId("success-check")).toHaveAttribute("open");

    // The server refuses a broken check with its line; the next try starts, each approach carrying its check.
    await user.click(screen.getByRole("button", { name: /train 3 approaches/i }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Starting training failed: success check rejected: line 4");
    await user.click(screen.getByRole("button", { name: /train 3 approaches/i }));
    await waitFor(() => expect(window.location.hash).toBe("#/batch/batch9"));
    const batch = calls.filter((c) => c.path === "/api/training/batch").at(-1)?.body as { approaches: Record<string, unknown>[] };
    expect(batch.approaches).toEqual([
      { name: "Stay upright", level: "from_scratch", reward_code: GOOD, base_id: null, steps: 50000, success_check: CHECK },
      { name: "Spin", level: "from_scratch", reward_code: GOOD, base_id: null, steps: 20000, success_check: FIXED },
      { name: "No check", level: "from_scratch", reward_code: GOOD, base_id: null, steps: 20000 },
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
    await user.click(screen.getByRole("button", { name: /write approaches/i }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Writing approaches failed: the prompt is empty: describe what the robot should do");
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
    expect(await screen.findByTestId("preset-estimate")).toHaveTextContent("CPU · MuJoCo C)");
    await user.click(screen.getByRole("button", { name: "Quick" }));
    expect(screen.getByTestId("preset-estimate")).toHaveTextContent("about 1 min per approach on this machine (CPU · MuJoCo C)");
    const engine = screen.getByLabelText(/physics engine/i);
    expect(within(engine).getByRole("option", { name: /automatic \(MuJoCo C here\)/i })).toBeInTheDocument();
    await user.selectOptions(engine, "mjx");
    await waitFor(() => expect(screen.getByTestId("preset-estimate")).toHaveTextContent("(CPU · MJX)"));
    expect(calls.some((c) => c.path === "/api/training/presets" && c.query.get("backend") === "mjx")).toBe(true);
  });

  it("plays command programs on a joystick base: budget, level badges, program check with lines and warnings, mixed batch", async () => {
    const SQUARE = "def command(t):\n    return schedule(t, [(2.5, (0.6, 0.0, 0.0)), (pi / 2, (0.0, 0.0, 1.0))] * 4)\n";
    const TROT = "def reward(s, a):\n    return {'trot': s.forward_velocity}\n";
    const preview = [[0, 0.6, 0, 0], [2.5, 0.6, 0, 0], [2.6, 0, 0, 1], [4, 0, 0, 1], [4.1, 0.6, 0, 0]];
    const { calls } = fakeApi({
      ...routes(),
      "GET /api/playground/Go1JoystickFlatTerrain": () => ({ ...SCENES[1], actuators: [], joints: [], bodies: [] }),
      "GET /api/bases": (call: Call) => BASES.filter((b) => b.scene_id === call.query.get("scene_id")),
      "POST /api/policy/generate": () => ({
        provider: "offline",
        model: "offline",
        latency_s: 0.2,
        approaches: [
          {
            name: "Walk a square", description: "Four straight sides, each followed by a quarter turn.", reward_code: "", valid: true,
            errors: [], level: "command", steps: 0, estimate_s: 0, commands: SQUARE, base_id: "go1-joystick",
            why: "Instant budget: the Go1 joystick base policy plays this command program at once -- no training.",
          },
          {
            name: "Trot happily", description: "Rewards a bouncy trot.", reward_code: TROT, valid: true, errors: [], level: "fine_tune",
            steps: 2000000, estimate_s: 240, commands: null, base_id: "go1-joystick",
            why: "A few minutes: fine-tunes the Go1 joystick base policy to this reward (level 2).",
          },
        ],
      }),
      "POST /api/commands/check": (call: Call) => {
        const code = (call.body as { code: string }).code;
        if (code.includes("oops"))
          return { valid: false, errors: [{ line: 2, message: "name 'oops' is not defined" }], warnings: [], preview: [] };
        return {
          valid: true, errors: [], preview,
          warnings: code.includes("1.5") ? ["forward 1.5 m/s is beyond what go1-joystick follows (1.0 m/s): clipped"] : [],
        };
      },
      "POST /api/training/batch": () => ({ batch_id: "batch7", jobs: [] }),
    });
    const user = userEvent.setup();
    render(<Compose sceneId="Go1JoystickFlatTerrain" />);

    // The scene's joystick base policy makes "Instant" real, and the composer says so.
    expect(await screen.findByText("⚡ plays at once")).toBeInTheDocument();
    expect(screen.getByTestId("budget-note")).toHaveTextContent(/joystick base policy \(Go1 joystick\).*Instant.*no training/);
    expect(screen.getByRole("radio", { name: /instant/i })).toHaveAccessibleName(/Go1 joystick base policy plays command programs at once/);
    expect(screen.getByRole("radio", { name: /a few minutes/i })).toBeChecked();
    expect(screen.getByRole("radio", { name: /a few minutes/i })).toHaveAccessibleName(/fine-tunes the Go1 joystick base policy/);
    await user.click(screen.getByRole("radio", { name: /instant/i }));
    // Nothing trains on an instant budget here: no training length to pick.
    expect(screen.queryByTestId("preset-estimate")).toBeNull();
    await user.type(screen.getByLabelText(/what should the robot do/i), "walk a square");
    await user.click(screen.getByRole("button", { name: /write approaches/i }));
    const cards = await screen.findAllByTestId("approach-card");
    expect(calls.find((c) => c.path === "/api/policy/generate")?.body).toMatchObject({ scene_id: "Go1JoystickFlatTerrain", budget: "instant" });

    // Level 1 card: badge, why, "instant", and the program in the editor; its preview comes from the checker.
    const square = cards[0];
    expect(square).toHaveAttribute("data-level", "command");
    expect(within(square).getByTestId("level-badge")).toHaveTextContent("Level 1 · plays instantly");
    expect(within(square).getByTestId("approach-why")).toHaveTextContent("plays this command program at once");
    expect(within(square).getByTestId("approach-estimate")).toHaveTextContent(/^Time: instant$/);
    expect(within(square).getByRole("checkbox", { name: "Play “Walk a square”" })).toBeChecked();
    const editor = within(square).getByRole("textbox", { name: "Command program for Walk a square" });
    expect(editor).toHaveTextContent("def command(t):");
    expect(within(square).queryByRole("textbox", { name: /reward code/i })).toBeNull();
    expect(await within(square).findByRole("img", { name: /commands over 4 s: forward 0.00 to 0.60 m\/s/i })).toBeInTheDocument();
    expect(calls.find((c) => c.path === "/api/commands/check")?.body).toEqual({ base_id: "go1-joystick", code: SQUARE, seconds: 10 });
    // Level 2 card: fine-tunes the base, with its planned steps and time.
    const trot = cards[1];
    expect(within(trot).getByTestId("level-badge")).toHaveTextContent("Level 2 · fine-tune go1-joystick");
    expect(within(trot).getByTestId("approach-estimate")).toHaveTextContent("about 4 min · 2M steps");
    expect(within(trot).getByRole("textbox", { name: "Reward code for Trot happily" })).toHaveTextContent("def reward(s, a):");

    // Edit the program: the checker's error lands on its line; a fix with a too-fast part warns (clipped).
    const view = EditorView.findFromDOM(square.querySelector(".cm-editor") as HTMLElement) as EditorView;
    const set = (code: string) => view.dispatch({ changes: { from: 0, to: view.state.doc.length, insert: code } });
    set("def command(t):\n    return oops\n");
    await waitFor(() => expect(within(square).getByTestId("approach-status")).toHaveTextContent("edited — check again"));
    expect(screen.getByRole("button", { name: /start 2 approaches/i })).toBeDisabled();
    await user.click(within(square).getByRole("button", { name: /check code/i }));
    expect(await within(square).findByRole("list", { name: /checker errors/i })).toHaveTextContent("line 2 name 'oops' is not defined");
    await waitFor(() => expect(square.querySelector(".cm-lintRange-error")?.textContent).toContain("return oops"));
    const fast = "def command(t):\n    return (1.5, 0.0, 0.0)\n";
    set(fast);
    await user.click(within(square).getByRole("button", { name: /check code/i }));
    await waitFor(() => expect(within(square).getByTestId("approach-status")).toHaveTextContent("compiles"));
    expect(within(square).getByRole("list", { name: /warnings/i })).toHaveTextContent("beyond what go1-joystick follows");
    expect(calls.filter((c) => c.path === "/api/commands/check").at(-1)?.body).toEqual({ base_id: "go1-joystick", code: fast, seconds: 10 });

    // One plays at once, one trains: the batch carries each approach's level, code, base and steps.
    expect(screen.getByTestId("run-summary")).toHaveTextContent("1 plays at once (no training); 1 trains, about 4 min.");
    await user.click(screen.getByRole("button", { name: /start 2 approaches/i }));
    await waitFor(() => expect(window.location.hash).toBe("#/batch/batch7"));
    const batch = calls.find((c) => c.path === "/api/training/batch")?.body as { approaches: Record<string, unknown>[] };
    expect(batch).toMatchObject({ scene_id: "Go1JoystickFlatTerrain", seed: 0 });
    expect(batch.approaches).toEqual([
      { name: "Walk a square", level: "command", reward_code: "", commands: fast, base_id: "go1-joystick" },
      { name: "Trot happily", level: "fine_tune", reward_code: TROT, base_id: "go1-joystick", steps: 2000000 },
    ]);

    // Only the program: the button says it plays.
    await user.click(within(trot).getByRole("checkbox"));
    expect(screen.getByRole("button", { name: "Play 1 program" })).toBeEnabled();
  });
});
