import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { Gallery } from "../pages/Gallery";
import { BASES, fakeApi, SCENES } from "./fakeApi";

describe("Gallery", () => {
  it("shows scene cards with thumbnail, category, DOF and base-policy badge; search and filter narrow them", async () => {
    fakeApi({ "GET /api/playground/scenes": () => SCENES });
    const user = userEvent.setup();
    render(<Gallery />);
    const cards = await screen.findAllByTestId("scene-card");
    expect(cards).toHaveLength(2);
    const go1 = cards.find((c) => c.dataset.sceneId === "Go1JoystickFlatTerrain") as HTMLElement;
    expect(within(go1).getByText("★ base policy")).toBeInTheDocument();
    expect(within(go1).getByText("18 DOF")).toBeInTheDocument();
    expect(within(go1).getByRole("img")).toHaveAttribute("src", expect.stringContaining("/api/playground/Go1JoystickFlatTerrain/thumbnail"));
    expect(go1).toHaveAttribute("href", "#/scene/Go1JoystickFlatTerrain");

    await user.type(screen.getByRole("searchbox", { name: /search scenes/i }), "cart");
    expect(screen.getAllByTestId("scene-card").map((c) => c.dataset.sceneId)).toEqual(["CartpoleBalance"]);
    await user.clear(screen.getByRole("searchbox", { name: /search scenes/i }));
    await user.click(screen.getByRole("radio", { name: /locomotion/i }));
    expect(screen.getAllByTestId("scene-card").map((c) => c.dataset.sceneId)).toEqual(["Go1JoystickFlatTerrain"]);
  });

  it("puts scenes with base policies first (Go1 leading), then locomotion, manipulation, classic control", async () => {
    const scene = (id: string, category: string, nu: number, has_base_policy = false) => ({
      ...SCENES[0], id, name: id, category, nu, has_base_policy, thumbnail_url: `/api/playground/${id}/thumbnail`,
    });
    fakeApi({
      "GET /api/playground/scenes": () => [
        scene("AcrobotSwingup", "classic_control", 1),
        scene("PandaPickCube", "manipulation", 8),
        { ...SCENES[0], has_base_policy: true },
        scene("BarkourJoystick", "locomotion", 12),
        scene("Weird", "other", 2),
        SCENES[1],
      ],
      "GET /api/bases": () => BASES,
    });
    const user = userEvent.setup();
    render(<Gallery />);
    await screen.findAllByTestId("scene-card");
    const order = () => screen.getAllByTestId("scene-card").map((c) => c.dataset.sceneId);
    expect(order()).toEqual(["Go1JoystickFlatTerrain", "CartpoleBalance", "BarkourJoystick", "PandaPickCube", "AcrobotSwingup", "Weird"]);
    const cards = screen.getAllByTestId("scene-card");
    // The badge is there for both base-policy scenes; the joystick one says it plays instantly.
    expect(within(cards[0]).getByText("★ base policy")).toBeInTheDocument();
    expect(within(cards[1]).getByText("★ base policy")).toBeInTheDocument();
    await waitFor(() => expect(within(cards[0]).getByTestId("base-note")).toHaveTextContent(/plays command programs instantly/i));
    expect(within(cards[1]).getByTestId("base-note")).toHaveTextContent(/fine-tunes its base policy in minutes/i);
    expect(within(cards[2]).queryByText(/base policy/)).toBeNull();
    // Grammar: "1 actuator", "12 actuators".
    expect(within(cards[1]).getByText("1 actuator")).toBeInTheDocument();
    expect(within(cards[0]).getByText("12 actuators")).toBeInTheDocument();
    // Category chips in the same order; filtering keeps the order.
    expect(screen.getAllByRole("radio").map((r) => r.textContent)).toEqual(["All", "Locomotion", "Manipulation", "Classic control", "Other"]);
    await user.click(screen.getByRole("radio", { name: /locomotion/i }));
    expect(order()).toEqual(["Go1JoystickFlatTerrain", "BarkourJoystick"]);
    await user.type(screen.getByRole("searchbox", { name: /search scenes/i }), "bark");
    expect(order()).toEqual(["BarkourJoystick"]);
  });

  it("shows each scene's licence and time estimate; a scene whose card is not built yet shows neither sizes nor estimate", async () => {
    fakeApi({
      "GET /api/playground/scenes": () => [
        SCENES[1],
        { ...SCENES[0], id: "SpotGetup", name: "Spot Getup", category: "locomotion", nq: null, nv: null, nu: null, dof: null,
          obs_size: null, action_size: null, estimate_s: null, estimate_label: null,
          licences: [{ robot: "boston_dynamics_spot", license: "BSD-3-Clause", attribution: "Copyright (c) 2021, Clearpath Robotics Inc.", source: "x" }] },
      ],
      "GET /api/bases": () => BASES,
    });
    render(<Gallery />);
    const cards = await screen.findAllByTestId("scene-card");
    expect(within(cards[0]).getByTestId("estimate")).toHaveTextContent("about 18 min to train on this CPU (MuJoCo C, measured)");
    expect(within(cards[0]).getByTestId("licence")).toHaveTextContent(/BSD-3-Clause, Copyright .*Unitree Robotics/);
    expect(within(cards[1]).queryByTestId("estimate")).toBeNull();
    expect(within(cards[1]).queryByText(/actuator|DOF/)).toBeNull();
    expect(within(cards[1]).getByTestId("licence")).toHaveTextContent("Robot: BSD-3-Clause, Copyright (c) 2021, Clearpath Robotics Inc. (MuJoCo Menagerie)");
  });

  it("shows the server's error message and retries", async () => {
    let fail = true;
    fakeApi({
      "GET /api/playground/scenes": () =>
        fail ? { status: 503, json: { error: "unavailable", message: "scene registry is loading, try again in a second" } } : SCENES,
    });
    const user = userEvent.setup();
    render(<Gallery />);
    expect(await screen.findByRole("alert")).toHaveTextContent("scene registry is loading, try again in a second");
    fail = false;
    await user.click(screen.getByRole("button", { name: /try again/i }));
    expect(await screen.findAllByTestId("scene-card")).toHaveLength(2);
  });
});
