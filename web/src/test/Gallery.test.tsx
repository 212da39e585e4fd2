import { render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { Gallery } from "../pages/Gallery";
import { fakeApi, SCENES } from "./fakeApi";

describe("Gallery", () => {
  it("shows scene cards with thumbnail, category, DOF and base-policy badge; search and filter narrow them", async () => {
    fakeApi({ "GET /api/playground/scenes": () => SCENES });
    const user = userEvent.setup();
    render(<Gallery />);
    const cards = await screen.findAllByTestId("scene-card");
    expect(cards).toHaveLength(2);
    const go1 = cards.find((c) => c.dataset.sceneId === "Go1JoystickFlatTerrain") as HTMLElement;
    expect(within(go1).getByText("base policy")).toBeInTheDocument();
    expect(within(go1).getByText("18 DOF")).toBeInTheDocument();
    expect(within(go1).getByRole("img")).toHaveAttribute("src", expect.stringContaining("/api/playground/Go1JoystickFlatTerrain/thumbnail"));
    expect(go1).toHaveAttribute("href", "#/scene/Go1JoystickFlatTerrain");

    await user.type(screen.getByRole("searchbox", { name: /search scenes/i }), "cart");
    expect(screen.getAllByTestId("scene-card").map((c) => c.dataset.sceneId)).toEqual(["CartpoleBalance"]);
    await user.clear(screen.getByRole("searchbox", { name: /search scenes/i }));
    await user.click(screen.getByRole("radio", { name: /locomotion/i }));
    expect(screen.getAllByTestId("scene-card").map((c) => c.dataset.sceneId)).toEqual(["Go1JoystickFlatTerrain"]);
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
