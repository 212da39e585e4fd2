/**
 * Where the live view's actions come from:
 *  - "server": the trained policy on the server, which steps the simulation itself and streams states
 *              (`./live.ts`);
 *  - "onnx":   the exported ONNX policy running in this browser (onnxruntime-web, in a Web Worker),
 *              answering each state's observation -- the server still steps the simulation;
 *  - "random": no policy, uniform random controls, simulated in this page (MuJoCo WebAssembly), to see
 *              the scene move before training.
 */
import type { Simulation } from "./mujoco";

export type SourceKind = "server" | "onnx" | "random";

/** Uniform random controls within each actuator's range (±1 where unlimited). */
export function randomControls(sim: Simulation): number[] {
  const range = sim.model.actuator_ctrlrange as Float64Array;
  return Array.from({ length: sim.model.nu }, (_, i) => {
    const limited = range[2 * i] < range[2 * i + 1];
    const lo = limited ? range[2 * i] : -1;
    const hi = limited ? range[2 * i + 1] : 1;
    return lo + Math.random() * (hi - lo);
  });
}
