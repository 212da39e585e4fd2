/**
 * MuJoCo WebAssembly (@mujoco/mujoco, from npm, bundled): load the module once, write a scene bundle
 * (GET /api/playground/{id}/mjcf) into its virtual file system, compile it, and step it.
 */
import type { MainModule, MjData, MjModel } from "@mujoco/mujoco";

export type Mujoco = MainModule;
export type SceneBundle = { main: string; files: Record<string, string>; binary: string[] };

let loading: Promise<Mujoco> | null = null;

/** The MuJoCo module (a singleton: the 10 MB wasm is fetched and compiled once per page). */
export function loadMujoco(options?: { wasmUrl?: string }): Promise<Mujoco> {
  if (!loading) {
    loading = (async () => {
      const { default: factory } = await import("@mujoco/mujoco");
      const opts = options?.wasmUrl ? { locateFile: (f: string) => (f.endsWith(".wasm") ? options.wasmUrl : f) } : undefined;
      return (await factory(opts)) as Mujoco;
    })();
    loading.catch(() => (loading = null));
  }
  return loading;
}

function decodeBase64(b64: string): Uint8Array {
  if (typeof atob === "function") {
    const bin = atob(b64);
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }
  return new Uint8Array(Buffer.from(b64, "base64"));
}

let sceneCounter = 0;

/** Writes every file of the bundle under a fresh folder and returns the main XML's path. */
export function writeBundle(mj: Mujoco, bundle: SceneBundle): string {
  const FS = mj.FS;
  const root = `/scenes/s${++sceneCounter}`;
  const binary = new Set(bundle.binary);
  for (const [rel, content] of Object.entries(bundle.files)) {
    const clean = rel.replace(/^\/+/, "");
    if (clean.split("/").includes("..")) throw new Error(`scene file '${rel}' points outside the scene folder`);
    const path = `${root}/${clean}`;
    FS.mkdirTree(path.slice(0, path.lastIndexOf("/")), 0o777);
    FS.writeFile(path, binary.has(rel) ? decodeBase64(content) : content);
  }
  if (!(bundle.main in bundle.files)) throw new Error(`the scene bundle has no main file '${bundle.main}'`);
  return `${root}/${bundle.main.replace(/^\/+/, "")}`;
}

/** A loaded simulation: model + data, with the controller timing of the training environment. */
export class Simulation {
  readonly nSubsteps: number;
  steps = 0;

  constructor(
    readonly mj: Mujoco,
    readonly model: MjModel,
    readonly data: MjData,
    readonly ctrlDt: number,
  ) {
    this.nSubsteps = Math.max(1, Math.round(ctrlDt / model.opt.timestep));
  }

  /** Compiles the bundle. `simDt`/`ctrlDt` come from the robot card (the training env's timing). */
  static load(mj: Mujoco, bundle: SceneBundle, timing?: { simDt?: number | null; ctrlDt?: number | null }): Simulation {
    const path = writeBundle(mj, bundle);
    let model: MjModel;
    try {
      model = mj.MjModel.from_xml_path(path);
    } catch (e) {
      throw new Error(`MuJoCo could not compile the scene: ${describe(mj, e)}`);
    }
    if (!model) throw new Error("MuJoCo could not compile the scene (no model returned)");
    if (timing?.simDt) model.opt.timestep = timing.simDt;
    const data = new mj.MjData(model);
    const ctrlDt = timing?.ctrlDt ?? model.opt.timestep;
    const sim = new Simulation(mj, model, data, ctrlDt);
    sim.reset();
    return sim;
  }

  /** Resets to the first keyframe when the scene has one (Playground's "home" pose), else qpos0. */
  reset(): void {
    if (this.model.nkey > 0) this.mj.mj_resetDataKeyframe(this.model, this.data, 0);
    else this.mj.mj_resetData(this.model, this.data);
    this.mj.mj_forward(this.model, this.data);
    this.steps = 0;
  }

  /** Applies a control vector (clipped to ctrlrange where limited) and advances one control period. */
  controlStep(ctrl: ArrayLike<number> | null): void {
    const c = this.data.ctrl as Float64Array;
    if (ctrl) {
      const range = this.model.actuator_ctrlrange as Float64Array;
      for (let i = 0; i < c.length && i < ctrl.length; i++) {
        const v = Number.isFinite(ctrl[i]) ? ctrl[i] : 0;
        // (actuator_ctrllimited is a bool array, which these bindings cannot read; an unlimited range is 0..0.)
        const lo = range[2 * i];
        const hi = range[2 * i + 1];
        c[i] = lo < hi ? Math.min(Math.max(v, lo), hi) : v;
      }
    }
    for (let k = 0; k < this.nSubsteps; k++) this.mj.mj_step(this.model, this.data);
    this.steps += 1;
  }

  /** Shows a state simulated elsewhere (the server's): sets qpos and time and recomputes the poses. */
  show(qpos: ArrayLike<number>, time: number): void {
    (this.data.qpos as Float64Array).set(qpos);
    this.data.time = time;
    this.mj.mj_forward(this.model, this.data);
  }

  /** Gives the pole / robot a small random push so there is something to watch without a policy. */
  perturb(scale = 0.05): void {
    const qvel = this.data.qvel as Float64Array;
    for (let i = 0; i < qvel.length; i++) qvel[i] += (Math.random() * 2 - 1) * scale;
  }

  get qpos(): Float64Array {
    return this.data.qpos as Float64Array;
  }

  get qvel(): Float64Array {
    return this.data.qvel as Float64Array;
  }

  get time(): number {
    return this.data.time;
  }

  dispose(): void {
    this.data.delete();
    this.model.delete();
  }
}

function describe(_mj: Mujoco, e: unknown): string {
  // The bindings throw `Error("MuJoCo Error: Loading error: XML Error: ...\nElement 'geom', line 1")`.
  const text = e instanceof Error ? e.message : String(e);
  return text.replace(/^MuJoCo Error:\s*/, "").replace(/\s*\n\s*/g, " — ").trim();
}
