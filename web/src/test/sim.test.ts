// @vitest-environment node
// Real MuJoCo WebAssembly (the same npm build the live view uses), run in Node.
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { geomColor, geomGeometry } from "../sim/render3d";
import { loadMujoco, Simulation, type SceneBundle } from "../sim/mujoco";

const fixture = (name: string) =>
  JSON.parse(readFileSync(new URL(`../sim/fixtures/${name}.json`, import.meta.url), "utf8")) as SceneBundle;

describe("MuJoCo WebAssembly simulation", () => {
  it("loads a bundle with includes, pushes the cart with the controls, and resets", async () => {
    const mj = await loadMujoco();
    const sim = Simulation.load(mj, fixture("cartpole"), { simDt: 0.01, ctrlDt: 0.02 });
    expect(sim.nSubsteps).toBe(2);
    expect(sim.model.nq).toBe(2);
    expect(Array.from(sim.qpos)).toEqual([0, 0]);
    for (let i = 0; i < 25; i++) sim.controlStep([5]); // clipped to ctrlrange [-1, 1]
    expect(sim.time).toBeCloseTo(0.5, 6);
    const pushed = sim.qpos[0];
    expect(pushed).toBeGreaterThan(0.05);
    sim.reset();
    for (let i = 0; i < 25; i++) sim.controlStep([1]);
    expect(sim.qpos[0]).toBeCloseTo(pushed, 9); // clipping: 5 behaves like 1
    sim.reset();
    expect(Array.from(sim.qpos)).toEqual([0, 0]);
    // geoms: box cart, capsule pole, both with material colours
    expect(geomGeometry(sim, 3)?.type).toBe("BoxGeometry");
    expect(geomColor(sim, 3)).toEqual([expect.closeTo(0.7, 5), expect.closeTo(0.5, 5), expect.closeTo(0.3, 5), 1]);
    sim.dispose();
  });

  it("shows a state simulated elsewhere: positions, time and the geoms' poses", async () => {
    const mj = await loadMujoco();
    const sim = Simulation.load(mj, fixture("cartpole"), { simDt: 0.01, ctrlDt: 0.02 });
    const cartBefore = (sim.data.geom_xpos as Float64Array)[3 * 3];
    sim.show([0.4, 0.2], 1.25);
    expect(Array.from(sim.qpos)).toEqual([0.4, 0.2]);
    expect(sim.time).toBe(1.25);
    expect((sim.data.geom_xpos as Float64Array)[3 * 3]).toBeCloseTo(cartBefore + 0.4, 9); // the cart moved with it
    sim.dispose();
  });

  it("loads binary mesh assets into the virtual file system and turns meshes into geometry", async () => {
    const mj = await loadMujoco();
    const sim = Simulation.load(mj, fixture("tetra"));
    const z0 = sim.qpos[2];
    for (let i = 0; i < 250; i++) sim.controlStep(null);
    expect(sim.qpos[2]).toBeLessThan(z0 - 0.1); // it falls
    const geo = geomGeometry(sim, 1);
    expect(geo?.getAttribute("position").count).toBe(12); // 4 faces x 3 vertices, flat-shaded
    sim.dispose();
  });

  it("reports a broken scene in words", async () => {
    const mj = await loadMujoco();
    const bad: SceneBundle = { main: "a.xml", files: { "a.xml": "<mujoco><worldbody><geom type='bogus'/></worldbody></mujoco>" }, binary: [] };
    expect(() => Simulation.load(mj, bad)).toThrow(/MuJoCo could not compile the scene: .*invalid keyword: 'bogus'/);
    expect(() => Simulation.load(mj, { main: "x.xml", files: { "../x.xml": "" }, binary: [] })).toThrow(/outside the scene folder/);
  });
});
