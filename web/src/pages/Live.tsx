/**
 * Live view: the server steps the policy's simulation at its control rate, paced to real time, and
 * streams its states; this page draws them (MuJoCo WebAssembly for the poses, three.js) and sends the
 * person's controls: pause, reset, push, and a joystick for policies that follow velocity commands.
 * With the ONNX source the exported policy acts from this browser (in a worker) on the server's
 * observations. Without a policy, the page simulates the scene itself with random actions.
 */
import { useCallback, useEffect, useRef, useState } from "react";
import mujocoWasmUrl from "@mujoco/mujoco/mujoco.wasm?url";
import { absUrl, api, errorMessage, unwrap, wsUrl, type Model } from "../api/client";
import { Busy, ErrorBanner } from "../components/Feedback";
import { Joystick } from "../components/Joystick";
import { formatNumber } from "../lib/format";
import { href } from "../lib/router";
import { RtfMeter, type LiveControl, type LiveFrame, type LiveReady } from "../sim/live";
import { openLive, type ConnState, type LiveLink } from "../sim/liveLink";
import { loadMujoco, Simulation } from "../sim/mujoco";
import { randomControls, type SourceKind } from "../sim/policy";
import type { SceneView } from "../sim/render3d";

type Phase = "loading" | "running" | "error";
type Stats = {
  fps: number;
  stepsPerS: number;
  simTime: number;
  rtf: number;
  capacity: number;
  qpos: number[];
  command: number[] | null;
  driver: string;
  /** ONNX source: "answers in N ms, M% on time". */
  note: string;
};

/** Live numbers of the running view, read by the end-to-end test. */
export type LiveProbe = {
  steps: number;
  qpos: number[];
  fps: number;
  frames: number;
  conn: ConnState;
  source: SourceKind;
  /** Real-time factor measured in this page (simulated s per wall s over the last 4 s). */
  rtf: number;
  /** Simulated seconds since the session began (monotonic across resets) and the wall clock (s) it arrived. */
  simSeconds: number;
  wallSeconds: number;
  serverRtf: number;
  capacity: number;
  command: number[] | null;
  driver: string;
  /** [arrival wall s, simulated s] of recent frames (a real-time factor can be measured from them). */
  samples: [number, number][];
};

const MAX_SAMPLES = 4000;

declare global {
  interface Window {
    __tabrlLive?: LiveProbe;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EPISODE_S = 20;
const EMPTY: Stats = { fps: 0, stepsPerS: 0, simTime: 0, rtf: 0, capacity: 0, qpos: [], command: null, driver: "", note: "" };

export function Live({ modelId, sceneId: sceneParam }: { modelId: string | null; sceneId: string | null }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const [phase, setPhase] = useState<Phase>("loading");
  const [step, setStep] = useState("Loading…");
  const [error, setError] = useState<string | null>(null);
  const [model, setModel] = useState<Model | null>(null);
  const [sceneId, setSceneId] = useState<string | null>(sceneParam);
  const [source, setSource] = useState<SourceKind>(modelId ? "server" : "random");
  const [conn, setConn] = useState<ConnState>(modelId ? "connecting" : "local");
  const [paused, setPaused] = useState(false);
  const [stats, setStats] = useState<Stats>(EMPTY);
  const [actError, setActError] = useState<string | null>(null);
  const [ready, setReady] = useState<LiveReady | null>(null);
  const [starting, setStarting] = useState(false);
  const simRef = useRef<Simulation | null>(null);
  const viewRef = useRef<SceneView | null>(null);
  const linkRef = useRef<LiveLink | null>(null);
  const pausedRef = useRef(paused);
  pausedRef.current = paused;
  const [loadedKey, setLoadedKey] = useState(0);

  // 1. model -> scene -> bundle -> MuJoCo + three.js
  useEffect(() => {
    let dead = false;
    setPhase("loading");
    setError(null);
    (async () => {
      let sid = sceneParam;
      if (modelId) {
        setStep("Looking up the policy…");
        const m = unwrap(await api.GET("/api/models/{model_id}", { params: { path: { model_id: modelId } } }), "Loading the policy");
        if (dead) return;
        setModel(m);
        sid = m.scene_id;
      }
      if (!sid) throw new Error("No scene to show.");
      setSceneId(sid);
      setStep("Fetching the scene files…");
      const [card, bundle] = await Promise.all([
        api.GET("/api/playground/{scene_id}", { params: { path: { scene_id: sid } } }).then((r) => unwrap(r, "Loading the robot card")),
        api.GET("/api/playground/{scene_id}/mjcf", { params: { path: { scene_id: sid } } }).then((r) => unwrap(r, "Loading the scene files")),
      ]);
      setStep("Starting MuJoCo (WebAssembly, ~10 MB the first time)…");
      const mj = await loadMujoco({ wasmUrl: mujocoWasmUrl });
      if (dead) return;
      const timing = card as { sim_dt?: number | null; ctrl_dt?: number | null };
      const sim = Simulation.load(mj, bundle, { simDt: timing.sim_dt, ctrlDt: timing.ctrl_dt });
      simRef.current = sim;
      setStep("Building the 3D view…");
      try {
        const { SceneView } = await import("../sim/render3d");
        if (dead) return;
        viewRef.current = new SceneView(canvas.current as HTMLCanvasElement, sim);
      } catch (e) {
        setError(`3D view unavailable (${errorMessage(e)}); the simulation still runs — see the numbers below.`);
      }
      setPhase("running");
      setLoadedKey((k) => k + 1);
    })().catch((e) => {
      if (!dead) {
        setError(errorMessage(e));
        setPhase("error");
      }
    });
    return () => {
      dead = true;
      viewRef.current?.dispose();
      viewRef.current = null;
      simRef.current?.dispose();
      simRef.current = null;
    };
  }, [modelId, sceneParam]);

  // 2. the simulation (on the server, or random actions in this page) + the render loop
  useEffect(() => {
    const sim = simRef.current;
    if (phase !== "running" || !sim) return;
    let running = true;
    let frames = 0;
    let steps = 0;
    let latest: LiveFrame | null = null;
    let fresh = false;
    let dt = sim.ctrlDt;
    let serverRtf = 0;
    let capacity = 0;
    const meter = new RtfMeter();
    const live: LiveProbe = {
      steps: 0, qpos: [], fps: 0, frames: 0, conn: "local", source, rtf: 0, simSeconds: 0, wallSeconds: 0,
      serverRtf: 0, capacity: 0, command: null, driver: "", samples: [],
    };
    window.__tabrlLive = live;
    setActError(null);
    setReady(null);
    setPaused(false);
    pausedRef.current = false;

    if (source !== "random" && modelId) {
      // The server simulates; frames arrive at the control rate and the newest is drawn.
      setConn("connecting");
      setStarting(false);
      const onConn = (s: ConnState, detail?: string) => {
        if (!running) return;
        setConn(s);
        live.conn = s;
        if (s === "error" || (s === "closed" && detail)) setActError(`Live connection ${s}${detail ? `: ${detail}` : ""}.`);
      };
      const actions = source === "onnx" ? "browser" : "server";
      linkRef.current = openLive(
        wsUrl(`/api/models/${encodeURIComponent(modelId)}/live?actions=${actions}`),
        source === "onnx" && model ? absUrl(model.onnx_url) : null,
        {
          onConn,
          onLoading: () => running && setStarting(true),
          onReady: (r) => {
            if (!running) return;
            setStarting(false);
            if (r.nq !== sim.model.nq) {
              setActError(`The server's ${r.scene_id} has ${r.nq} positions but this page's has ${sim.model.nq}; reload the page.`);
              return;
            }
            dt = r.dt;
            meter.clear();
            setReady(r);
          },
          onState: (f) => {
            if (!running) return;
            const wall = performance.now() / 1000;
            latest = f;
            fresh = true;
            steps = f.step;
            serverRtf = f.rtf;
            capacity = f.capacity;
            if (f.paused) meter.clear();
            else meter.add(wall, f.step * dt);
            live.steps = f.step;
            live.qpos = f.qpos;
            live.simSeconds = f.step * dt;
            live.wallSeconds = wall;
            if (!f.paused) live.samples.push([wall, live.simSeconds]);
            if (live.samples.length > MAX_SAMPLES) live.samples.splice(0, live.samples.length - MAX_SAMPLES);
            live.command = f.command ?? null;
            live.driver = f.driver ?? "";
          },
          onError: (message) => running && setActError(message),
        },
      );
    } else {
      // No policy: this page simulates the scene with random actions, paced to real time.
      setConn("local");
      (async () => {
        let wall0 = performance.now();
        let sim0 = sim.time;
        while (running) {
          if (pausedRef.current) {
            await sleep(50);
            wall0 = performance.now();
            sim0 = sim.time;
            meter.clear();
            continue;
          }
          const ahead = sim.time - sim0 - (performance.now() - wall0) / 1000;
          if (ahead > 0.002) {
            await sleep(ahead * 1000);
            continue;
          }
          if (ahead < -0.25) wall0 = performance.now() - (sim.time - sim0) * 1000; // no catch-up burst
          sim.controlStep(randomControls(sim));
          steps++;
          meter.add(performance.now() / 1000, steps * sim.ctrlDt);
          if (Array.from(sim.qpos).some((v) => !Number.isFinite(v)) || sim.time - sim0 > EPISODE_S) {
            sim.reset();
            wall0 = performance.now();
            sim0 = sim.time;
          }
          live.steps = steps;
          live.simSeconds = steps * sim.ctrlDt;
          live.wallSeconds = performance.now() / 1000;
          if (steps % 4 === 0) await sleep(0); // let the page draw
        }
      })().catch((e) => running && setActError(errorMessage(e)));
    }

    let raf = 0;
    let drawMs = 0;
    let drawnAt = 0;
    const draw = () => {
      raf = requestAnimationFrame(draw);
      // Software rendering (no GPU) can take most of a second per frame for a detailed robot: drawing then
      // waits so that it takes at most half of this thread, which also handles the simulation's states.
      const now = performance.now();
      if (now - drawnAt < drawMs) return;
      if (fresh && latest) {
        fresh = false;
        sim.show(latest.qpos, latest.t);
      }
      viewRef.current?.update();
      viewRef.current?.render();
      drawnAt = performance.now();
      drawMs = drawnAt - now;
      frames++;
      live.frames++;
    };
    raf = requestAnimationFrame(draw);

    let tPrev = performance.now();
    const statTimer = setInterval(() => {
      const now = performance.now();
      const dtWall = (now - tPrev) / 1000;
      const qpos = latest ? latest.qpos : Array.from(sim.qpos);
      live.fps = frames / dtWall;
      live.rtf = meter.value;
      live.serverRtf = serverRtf;
      live.capacity = capacity;
      if (!latest) live.qpos = qpos;
      setStats({
        fps: live.fps,
        stepsPerS: live.rtf / dt,
        simTime: latest ? latest.t : sim.time,
        rtf: live.rtf,
        capacity,
        qpos,
        command: latest?.command ?? null,
        driver: latest?.driver ?? "",
        note:
          latest?.answer_ms != null
            ? `ONNX in this browser answers in ${latest.answer_ms.toFixed(1)} ms; ${Math.round((latest.on_time ?? 0) * 100)}% of steps had their answer in time (the others act on it one step later)`
            : "",
      });
      frames = 0;
      tPrev = now;
    }, 500);

    return () => {
      running = false;
      cancelAnimationFrame(raf);
      clearInterval(statTimer);
      linkRef.current?.close();
      linkRef.current = null;
    };
  }, [phase, source, modelId, model, loadedKey]);

  const control = useCallback((c: LiveControl) => linkRef.current?.send(c), []);
  const local = source === "random" || !modelId;
  const onPause = () => {
    const next = !paused;
    setPaused(next);
    if (!local) control({ type: next ? "pause" : "resume" });
  };
  const onReset = () => (local ? simRef.current?.reset() : control({ type: "reset" }));
  const onPush = () => (local ? simRef.current?.perturb(0.5) : control({ type: "push" }));

  const connLabel: Record<ConnState, string> = {
    connecting: "connecting…",
    open: "connected",
    error: "connection failed",
    closed: "disconnected",
    local: "simulated in your browser",
  };

  return (
    <section aria-labelledby="live-title">
      <a href={model ? href.models() : sceneId ? href.compose(sceneId) : href.gallery()} className="back">
        ← Back
      </a>
      <h1 id="live-title">{model ? `Live: ${model.name}` : `Live: ${sceneId ?? ""}`}</h1>
      <div className="live-bar" role="group" aria-label="Live view controls">
        <label className="field inline">
          <span className="label">Actions from</span>
          <select className="input" value={source} onChange={(e) => setSource(e.target.value as SourceKind)} aria-label="Action source">
            {modelId && <option value="server">trained policy on the server</option>}
            {modelId && <option value="onnx">ONNX export in this browser</option>}
            <option value="random">no policy (random actions)</option>
          </select>
        </label>
        <button type="button" className="btn" onClick={onPause} disabled={phase !== "running"}>
          {paused ? "▶ Resume" : "❚❚ Pause"}
        </button>
        <button type="button" className="btn" onClick={onReset} disabled={phase !== "running"}>
          ↺ Reset
        </button>
        <button type="button" className="btn" onClick={onPush} disabled={phase !== "running"} title="a sudden velocity kick">
          Push
        </button>
      </div>
      <div className="live-stats" aria-live="off">
        <span data-testid="live-conn" data-conn={conn} className={`conn conn-${conn}`}>
          {connLabel[conn]}
        </span>
        <span data-testid="live-rtf" title="simulated seconds per real second, measured in this page">
          ×{stats.rtf.toFixed(2)} real time
        </span>
        <span>{stats.stepsPerS.toFixed(0)} steps/s</span>
        <span data-testid="live-fps">{stats.fps.toFixed(0)} FPS</span>
        <span>t = {stats.simTime.toFixed(2)} s</span>
        {!local && stats.capacity > 0 && (
          <span className="muted" title="how many times real time the server's simulation step could run">
            server headroom ×{stats.capacity.toFixed(1)}
          </span>
        )}
      </div>
      <Busy label={step} active={phase === "loading"} />
      <Busy label="The server is starting the simulation (the first time compiles it: a few seconds)…" active={starting && !ready} />
      <ErrorBanner error={error} />
      <ErrorBanner error={actError} />
      {ready?.command_range && (
        <Joystick
          range={ready.command_range}
          command={stats.command}
          driver={stats.driver}
          program={ready.program}
          onCommand={(value) => control({ type: "command", value })}
        />
      )}
      <canvas ref={canvas} className="live-canvas" data-testid="live-canvas" aria-label="3D view of the simulated robot (drag to orbit)" tabIndex={0} />
      <p className="muted small" data-testid="live-qpos">
        qpos: [{stats.qpos.slice(0, 12).map((v) => formatNumber(v, 3)).join(", ")}
        {stats.qpos.length > 12 ? ", …" : ""}] {stats.note && `· ${stats.note}`}
      </p>
    </section>
  );
}
