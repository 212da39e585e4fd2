/**
 * Where the live view's actions come from:
 *  - "server": the trained policy on the server over WebSocket (it computes the observation from the state);
 *  - "onnx":   the exported ONNX policy running in this browser (onnxruntime-web, wasm served by this app),
 *              fed the observation the server computes from the same state, and compared with the server;
 *  - "random": no policy, uniform random controls (to see the scene move before training).
 */
import { InferenceSocket } from "../api/ws";
import { absUrl } from "../api/client";
import type { Simulation } from "./mujoco";

export type SourceKind = "server" | "onnx" | "random";
export type ConnState = "connecting" | "open" | "error" | "closed" | "local";
export type Act = { ctrl: number[] | null; note?: string; error?: string };

export interface ActionSource {
  readonly kind: SourceKind;
  act(sim: Simulation): Promise<Act>;
  close(): void;
}

export class RandomSource implements ActionSource {
  readonly kind = "random";
  async act(sim: Simulation): Promise<Act> {
    const range = sim.model.actuator_ctrlrange as Float64Array;
    const n = sim.model.nu;
    const ctrl = Array.from({ length: n }, (_, i) => {
      const lo = range[2 * i] < range[2 * i + 1] ? range[2 * i] : -1;
      const hi = range[2 * i] < range[2 * i + 1] ? range[2 * i + 1] : 1;
      return lo + Math.random() * (hi - lo);
    });
    return { ctrl };
  }
  close(): void {}
}

/** Prefer `ctrl` (actuator commands) when the server sends it; else the policy's action is the control. */
const controlOf = (r: { ctrl?: number[]; action?: number[] }) => r.ctrl ?? r.action ?? null;

export class ServerSource implements ActionSource {
  readonly kind: SourceKind = "server";
  protected sock: InferenceSocket;
  constructor(modelId: string, onConn: (s: ConnState, detail?: string) => void) {
    this.sock = new InferenceSocket(modelId, onConn);
  }
  async act(sim: Simulation): Promise<Act> {
    const r = await this.sock.fromState(sim.qpos, sim.qvel, sim.time);
    if (r.error) return { ctrl: null, error: r.error };
    return { ctrl: controlOf(r) };
  }
  close(): void {
    this.sock.close();
  }
}

type OrtSession = {
  inputNames: readonly string[];
  outputNames: readonly string[];
  run(feeds: Record<string, unknown>): Promise<Record<string, { data: ArrayLike<number> }>>;
};

/** Loads onnxruntime-web (wasm backend, files from this app's own build, single thread) and a model. */
export async function loadOnnx(url: string): Promise<{ session: OrtSession; Tensor: new (t: string, d: Float32Array, dims: number[]) => unknown }> {
  const [ort, { default: wasmUrl }] = await Promise.all([
    import("onnxruntime-web/wasm"),
    import("onnxruntime-web/ort-wasm-simd-threaded.wasm?url"),
  ]);
  ort.env.wasm.wasmPaths = { wasm: new URL(wasmUrl, document.baseURI).href };
  ort.env.wasm.numThreads = 1; // threads need cross-origin isolation headers; one is plenty for an MLP
  const res = await fetch(absUrl(url));
  if (!res.ok) throw new Error(`Downloading the ONNX policy failed (HTTP ${res.status}).`);
  const session = (await ort.InferenceSession.create(new Uint8Array(await res.arrayBuffer()))) as unknown as OrtSession;
  return { session, Tensor: ort.Tensor as never };
}

export class OnnxSource extends ServerSource {
  readonly kind: SourceKind = "onnx";
  private ready: Promise<Awaited<ReturnType<typeof loadOnnx>>>;
  maxDiff = 0;

  constructor(modelId: string, onnxUrl: string, onConn: (s: ConnState, detail?: string) => void) {
    super(modelId, onConn);
    this.ready = loadOnnx(onnxUrl);
  }

  async act(sim: Simulation): Promise<Act> {
    const { session, Tensor } = await this.ready;
    const r = await this.sock.fromState(sim.qpos, sim.qvel, sim.time);
    if (r.error || !r.observation) return { ctrl: null, error: r.error ?? "the server sent no observation" };
    const obs = Float32Array.from(r.observation);
    const out = await session.run({ [session.inputNames[0]]: new Tensor("float32", obs, [1, obs.length]) });
    const action = Array.from(out[session.outputNames[0]].data, Number);
    if (r.action) this.maxDiff = Math.max(...action.map((a, i) => Math.abs(a - (r.action as number[])[i] || 0)), 0);
    const note = `ONNX vs server: max |Δaction| ${this.maxDiff.toExponential(1)}`;
    // Scenes whose actions the server maps to actuator commands (it then sends `ctrl`) keep the server's
    // mapping; ONNX is a cross-check there. Elsewhere the in-browser ONNX action drives the robot.
    if (r.ctrl) return { ctrl: r.ctrl, note: `${note} (actuator mapping from the server)` };
    return { ctrl: action, note };
  }
}
