/**
 * The live view's link to the server (`/api/models/{id}/live`): the server steps the policy's
 * simulation at its control rate, paced to real time, and streams states; this page renders them
 * and sends the person's controls (pause, reset, push, joystick). With the ONNX source, the page acts:
 * each state carries the observation and the ONNX export answers with the action (in a Web Worker, so
 * that drawing the 3D view never delays an answer).
 *
 * Pure protocol pieces (no DOM, no WebSocket construction) so that the page, the worker and the
 * tests share them.
 */

export type CommandRange = [number, number, number];

export type LiveReady = {
  type: "ready";
  model_id: string;
  scene_id: string;
  /** Control period (s): one state per control step. */
  dt: number;
  nq: number;
  obs_size: number;
  action_size: number;
  /** Joystick policies: the largest |forward m/s|, |sideways m/s|, |yaw rad/s|; else null. */
  command_range: CommandRange | null;
  /** Whether the policy plays a command program (level 1). */
  program: boolean;
  actions: "server" | "browser";
};

export type LiveFrame = {
  type: "state";
  step: number;
  /** Seconds since the episode started. */
  t: number;
  qpos: number[];
  /** Real-time factor the server measured over the last seconds. */
  rtf: number;
  /** How many times real time the server's step could run (control period / compute time). */
  capacity: number;
  fell: boolean;
  paused: boolean;
  seq: number;
  command?: number[];
  driver?: "joystick" | "program" | "none" | "";
  obs?: number[];
  /** Browser actions: the page's time to answer a state (ms) and the share of steps that had it in time. */
  answer_ms?: number;
  on_time?: number;
};

export type LiveControl =
  | { type: "pause" }
  | { type: "resume" }
  | { type: "reset" }
  | { type: "push"; strength?: number; direction?: number }
  | { type: "command"; value: number[] | null }
  | { type: "action"; value: number[]; seq: number };

export type LiveMessage = LiveReady | LiveFrame | { type: "loading" } | { type: "error"; error: string };

export type LiveHandlers = {
  onReady(ready: LiveReady): void;
  onState(frame: LiveFrame): void;
  onError(message: string): void;
  onLoading?(): void;
};

/** Computes the action for an observation (the ONNX export). */
export type Actor = (obs: Float32Array) => Promise<number[]>;

/**
 * Reads the server's frames and, when an actor is given, answers each observation with an action.
 * One inference at a time: while one runs, only the newest frame waits (an answer to an older
 * frame would be dropped by the server anyway).
 */
export class LiveProtocol {
  private busy = false;
  private waiting: LiveFrame | null = null;

  constructor(
    private readonly send: (c: LiveControl) => void,
    private readonly handlers: LiveHandlers,
    private readonly actor: Actor | null = null,
  ) {}

  receive(text: string): void {
    let msg: LiveMessage;
    try {
      msg = JSON.parse(text) as LiveMessage;
    } catch {
      this.handlers.onError("unreadable frame from the server");
      return;
    }
    switch (msg.type) {
      case "ready":
        this.handlers.onReady(msg);
        break;
      case "state":
        this.handlers.onState(msg);
        if (this.actor && msg.obs) this.act(msg);
        break;
      case "loading":
        this.handlers.onLoading?.();
        break;
      case "error":
        this.handlers.onError(msg.error);
        break;
    }
  }

  private act(frame: LiveFrame): void {
    if (this.busy) {
      this.waiting = frame;
      return;
    }
    this.busy = true;
    (this.actor as Actor)(Float32Array.from(frame.obs as number[]))
      .then((value) => this.send({ type: "action", value, seq: frame.seq }))
      .catch((e) => this.handlers.onError(`the ONNX policy failed: ${e instanceof Error ? e.message : String(e)}`))
      .finally(() => {
        this.busy = false;
        const next = this.waiting;
        this.waiting = null;
        if (next) this.act(next);
      });
  }
}

/**
 * Real-time factor from the frames' arrival: simulated seconds per wall second over a window. A page busy
 * drawing handles its messages late, so the frames that arrived soonest near each end of the window bound
 * the clock offset (their own delays drop out) rather than the first and last frames.
 */
export class RtfMeter {
  private samples: { wall: number; sim: number }[] = [];
  constructor(private readonly windowS = 4) {}

  /** A frame arrived at `wallS` (seconds) showing `simS` simulated seconds since the session began. */
  add(wallS: number, simS: number): void {
    this.samples.push({ wall: wallS, sim: simS });
    while (this.samples.length > 2 && wallS - this.samples[1].wall >= this.windowS) this.samples.shift();
  }

  /** Clears the window (a pause: wall time passes with no simulated time, by design). */
  clear(): void {
    this.samples = [];
  }

  get value(): number {
    const s = this.samples;
    if (s.length < 2) return 0;
    const a = s[0];
    const b = s[s.length - 1];
    const simSpan = b.sim - a.sim;
    let rate = simSpan / (b.wall - a.wall);
    if (!(rate > 0)) return 0;
    // Offsets from the clock at the current estimate of the rate; twice, as each pass refines it.
    const edge = Math.min(0.5, (b.wall - a.wall) / 8);
    for (let pass = 0; pass < 2; pass++) {
      let head = Infinity;
      let tail = Infinity;
      for (const x of s) {
        const offset = x.wall - x.sim / rate;
        if (x.wall - a.wall <= edge) head = Math.min(head, offset);
        if (b.wall - x.wall <= edge) tail = Math.min(tail, offset);
      }
      const wallSpan = simSpan / rate + tail - head;
      if (!(wallSpan > 0)) break;
      rate = simSpan / wallSpan;
    }
    return rate;
  }
}

/** Joystick keys: ↑/↓ (or W/S) forward and back, ←/→ turn left and right, A/D step sideways. */
export const JOYSTICK_KEYS: Record<string, [number, number, number]> = {
  ArrowUp: [1, 0, 0],
  KeyW: [1, 0, 0],
  ArrowDown: [-1, 0, 0],
  KeyS: [-1, 0, 0],
  ArrowLeft: [0, 0, 1],
  ArrowRight: [0, 0, -1],
  KeyA: [0, 1, 0],
  KeyD: [0, -1, 0],
};

/** The command the held keys ask for: each axis at full range, opposite keys cancelling (W and ↑ are one). */
export function commandFromKeys(held: Iterable<string>, range: CommandRange): [number, number, number] {
  const pos = [false, false, false];
  const neg = [false, false, false];
  for (const code of held) {
    const dir = JOYSTICK_KEYS[code];
    if (dir) dir.forEach((v, i) => (v > 0 ? (pos[i] = true) : v < 0 ? (neg[i] = true) : null));
  }
  return range.map((r, i) => (Number(pos[i]) - Number(neg[i])) * r) as [number, number, number];
}

/**
 * The command of the on-screen pad: `x`, `y` in [-1, 1] from its centre (y up = forward, x right =
 * turn right), sideways from its own slider in [-1, 1].
 */
export function commandFromPad(x: number, y: number, sideways: number, range: CommandRange): [number, number, number] {
  const clip = (v: number) => Math.max(-1, Math.min(1, v));
  return [clip(y) * range[0], clip(sideways) * range[1], -clip(x) * range[2]];
}

/** Heading (yaw, radians, counter-clockwise from world x) of a floating base: qpos[3:7] is w, x, y, z. */
export function baseYaw(qpos: ArrayLike<number>): number {
  const [w, x, y, z] = [qpos[3], qpos[4], qpos[5], qpos[6]];
  return Math.atan2(2 * (w * z + x * y), 1 - 2 * (y * y + z * z));
}
