import { describe, expect, it, vi } from "vitest";
import { baseYaw, commandFromKeys, commandFromPad, LiveProtocol, RtfMeter, type LiveControl, type LiveFrame } from "../sim/live";

const RANGE: [number, number, number] = [1.0, 0.5, 1.0];
const frame = (seq: number, extra: Partial<LiveFrame> = {}): string =>
  JSON.stringify({ type: "state", step: seq, t: seq * 0.02, qpos: [0], rtf: 1, capacity: 5, fell: false, paused: false, seq, ...extra });

describe("joystick", () => {
  it("maps held keys to commands at full range, opposite keys cancelling", () => {
    expect(commandFromKeys(["ArrowUp"], RANGE)).toEqual([1, 0, 0]);
    expect(commandFromKeys(["ArrowLeft"], RANGE)).toEqual([0, 0, 1]); // turn left: counter-clockwise
    expect(commandFromKeys(["ArrowRight", "KeyD"], RANGE)).toEqual([0, -0.5, -1]);
    expect(commandFromKeys(["ArrowUp", "KeyW", "ArrowDown"], RANGE)).toEqual([0, 0, 0]);
    expect(commandFromKeys(["KeyQ"], RANGE)).toEqual([0, 0, 0]);
  });

  it("maps the pad: up is forward, right turns right (negative yaw), clipped", () => {
    expect(commandFromPad(0, 1, 0, RANGE)).toEqual([1, 0, -0]);
    expect(commandFromPad(0.5, 0, -1, RANGE)).toEqual([0, -0.5, -0.5]);
    expect(commandFromPad(-3, -3, 3, RANGE)).toEqual([-1, 0.5, 1]);
  });

  it("reads the heading from a floating base's quaternion", () => {
    const half = Math.PI / 8; // a quarter turn counter-clockwise about z
    expect(baseYaw([0, 0, 0.3, Math.cos(half * 2), 0, 0, Math.sin(half * 2)])).toBeCloseTo(Math.PI / 2, 6);
    expect(baseYaw([0, 0, 0.3, 1, 0, 0, 0])).toBeCloseTo(0, 9);
  });
});

describe("real-time factor", () => {
  it("is simulated seconds per wall second over the window, cleared by a pause", () => {
    const m = new RtfMeter(2);
    expect(m.value).toBe(0);
    for (let i = 0; i <= 300; i++) m.add(i * 0.01, i * 0.01 * 0.5); // half speed for 3 s
    expect(m.value).toBeCloseTo(0.5, 6);
    for (let i = 301; i <= 600; i++) m.add(i * 0.01, 1.5 + (i - 300) * 0.01); // then real time
    expect(m.value).toBeCloseTo(1, 2); // the window only holds the last 2 s
    m.clear();
    expect(m.value).toBe(0);
  });

  it("is not fooled by frames the page handled late", () => {
    const m = new RtfMeter(4);
    // Real time, but every third frame is handled 80 ms late (the page was drawing), the last one too.
    for (let i = 0; i <= 400; i++) m.add(i * 0.01 + (i % 3 === 0 || i === 400 ? 0.08 : 0), i * 0.01);
    expect(m.value).toBeCloseTo(1, 3);
  });
});

describe("live protocol", () => {
  it("dispatches ready, state and error frames, and says when a frame is unreadable", () => {
    const h = { onReady: vi.fn(), onState: vi.fn(), onError: vi.fn(), onLoading: vi.fn() };
    const p = new LiveProtocol(() => {}, h);
    p.receive('{"type": "loading"}');
    p.receive(JSON.stringify({ type: "ready", dt: 0.02, command_range: RANGE }));
    p.receive(frame(1));
    p.receive('{"type": "error", "error": "push strength must be in (0, 5]"}');
    p.receive("{nope");
    expect(h.onLoading).toHaveBeenCalledOnce();
    expect(h.onReady.mock.calls[0][0].dt).toBe(0.02);
    expect(h.onState.mock.calls[0][0].seq).toBe(1);
    expect(h.onError.mock.calls.map((c) => c[0])).toEqual(["push strength must be in (0, 5]", "unreadable frame from the server"]);
  });

  it("answers observations with the actor's action, one at a time, the newest frame first", async () => {
    const sent: LiveControl[] = [];
    const resolvers: ((a: number[]) => void)[] = [];
    const actor = vi.fn((obs: Float32Array) => new Promise<number[]>((r) => resolvers.push(() => r([obs[0] * 2]))));
    const p = new LiveProtocol((c) => sent.push(c), { onReady() {}, onState() {}, onError() {} }, actor);
    p.receive(frame(1, { obs: [1] }));
    p.receive(frame(2, { obs: [2] })); // waits: one inference at a time
    p.receive(frame(3, { obs: [3] })); // overtakes frame 2
    expect(actor).toHaveBeenCalledTimes(1);
    resolvers[0]([]);
    await vi.waitFor(() => expect(actor).toHaveBeenCalledTimes(2));
    resolvers[1]([]);
    await vi.waitFor(() => expect(sent).toHaveLength(2));
    expect(sent).toEqual([
      { type: "action", value: [2], seq: 1 },
      { type: "action", value: [6], seq: 3 },
    ]);
    p.receive(frame(4)); // no observation (the server's own actions): nothing to answer
    expect(actor).toHaveBeenCalledTimes(2);
  });
});
