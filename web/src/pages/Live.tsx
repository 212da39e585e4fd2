/**
 * Live view: MuJoCo (WebAssembly) simulates the scene in this page, three.js draws it, and the chosen
 * policy drives it — actions from the server over WebSocket, or from the ONNX export in the browser.
 */
import { useEffect, useRef, useState } from "react";
import mujocoWasmUrl from "@mujoco/mujoco/mujoco.wasm?url";
import { api, errorMessage, unwrap, type Model } from "../api/client";
import { Busy, ErrorBanner } from "../components/Feedback";
import { formatNumber } from "../lib/format";
import { href } from "../lib/router";
import { loadMujoco, Simulation } from "../sim/mujoco";
import { OnnxSource, RandomSource, ServerSource, type ActionSource, type ConnState, type SourceKind } from "../sim/policy";
import type { SceneView } from "../sim/render3d";

type Phase = "loading" | "running" | "error";
type Stats = { fps: number; actionsPerS: number; simTime: number; realtime: number; qpos: number[]; note: string };

declare global {
  interface Window {
    /** Read by the end-to-end test: live numbers of the running simulation. */
    __tabrlLive?: { steps: number; qpos: number[]; fps: number; frames: number; conn: ConnState; source: SourceKind };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const EPISODE_S = 20;

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
  const [stats, setStats] = useState<Stats>({ fps: 0, actionsPerS: 0, simTime: 0, realtime: 0, qpos: [], note: "" });
  const [actError, setActError] = useState<string | null>(null);
  const simRef = useRef<Simulation | null>(null);
  const viewRef = useRef<SceneView | null>(null);
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

  // 2. the control loop (real-time paced) + the render loop
  useEffect(() => {
    const sim = simRef.current;
    if (phase !== "running" || !sim) return;
    let running = true;
    const onConn = (s: ConnState, detail?: string) => {
      if (!running) return;
      setConn(s);
      if (s === "open") setActError(null);
      if (s === "error" || (s === "closed" && detail)) setActError(`Policy connection ${s}${detail ? `: ${detail}` : ""}.`);
    };
    let src: ActionSource;
    if (source === "random" || !modelId) {
      src = new RandomSource();
      setConn("local");
    } else {
      setConn("connecting");
      src = source === "onnx" && model ? new OnnxSource(modelId, model.onnx_url, onConn) : new ServerSource(modelId, onConn);
    }
    setActError(null);
    let actions = 0;
    let frames = 0;
    let note = "";
    const live = { steps: 0, qpos: [] as number[], fps: 0, frames: 0, conn: "local" as ConnState, source };
    window.__tabrlLive = live;

    (async () => {
      let wall0 = performance.now();
      let sim0 = sim.time;
      while (running) {
        if (pausedRef.current) {
          await sleep(50);
          wall0 = performance.now();
          sim0 = sim.time;
          continue;
        }
        const ahead = sim.time - sim0 - (performance.now() - wall0) / 1000;
        if (ahead > 0.002) {
          await sleep(ahead * 1000);
          continue;
        }
        if (ahead < -0.25) {
          // Slower than real time (slow policy or machine): run as fast as we can without a catch-up burst.
          wall0 = performance.now() - (sim.time - sim0) * 1000;
        }
        const a = await src.act(sim);
        if (!running) break;
        if (a.error) {
          // Still connecting or a request in flight: just wait; anything else is worth saying.
          if (a.error !== "busy" && !a.error.includes("(connecting)")) setActError(`No action from the policy: ${a.error}`);
          await sleep(250);
          continue;
        }
        sim.controlStep(a.ctrl);
        actions++;
        if (a.note) note = a.note;
        const bad = Array.from(sim.qpos).some((v) => !Number.isFinite(v));
        if (bad || sim.time - sim0 > EPISODE_S) {
          sim.reset();
          wall0 = performance.now();
          sim0 = sim.time;
        }
        live.steps = sim.steps;
      }
    })().catch((e) => running && setActError(errorMessage(e)));

    let raf = 0;
    const draw = () => {
      viewRef.current?.update();
      viewRef.current?.render();
      frames++;
      live.frames++;
      raf = requestAnimationFrame(draw);
    };
    raf = requestAnimationFrame(draw);

    let tPrev = performance.now();
    let simPrev = sim.time;
    const statTimer = setInterval(() => {
      const now = performance.now();
      const dt = (now - tPrev) / 1000;
      const fps = frames / dt;
      const qpos = Array.from(sim.qpos);
      live.fps = fps;
      live.qpos = qpos;
      setStats({
        fps,
        actionsPerS: actions / dt,
        simTime: sim.time,
        realtime: Math.max(0, (sim.time - simPrev) / dt),
        qpos,
        note,
      });
      setConn((c) => ((live.conn = c), c));
      frames = 0;
      actions = 0;
      tPrev = now;
      simPrev = sim.time;
    }, 500);

    return () => {
      running = false;
      cancelAnimationFrame(raf);
      clearInterval(statTimer);
      src.close();
    };
  }, [phase, source, modelId, model, loadedKey]);

  const connLabel: Record<ConnState, string> = {
    connecting: "connecting…",
    open: "connected",
    error: "connection failed",
    closed: "disconnected",
    local: "running in your browser",
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
            {modelId && <option value="server">trained policy on the server (WebSocket)</option>}
            {modelId && <option value="onnx">ONNX export in this browser</option>}
            <option value="random">no policy (random actions)</option>
          </select>
        </label>
        <button type="button" className="btn" onClick={() => setPaused((p) => !p)} disabled={phase !== "running"}>
          {paused ? "▶ Resume" : "❚❚ Pause"}
        </button>
        <button type="button" className="btn" onClick={() => simRef.current?.reset()} disabled={phase !== "running"}>
          ↺ Reset
        </button>
        <button type="button" className="btn" onClick={() => simRef.current?.perturb(0.5)} disabled={phase !== "running"}>
          Poke
        </button>
      </div>
      <div className="live-stats" aria-live="off">
        <span data-testid="live-conn" data-conn={conn} className={`conn conn-${conn}`}>
          {connLabel[conn]}
        </span>
        <span data-testid="live-fps">{stats.fps.toFixed(0)} FPS</span>
        <span>{stats.actionsPerS.toFixed(0)} actions/s</span>
        <span>t = {stats.simTime.toFixed(2)} s</span>
        <span title="simulated seconds per real second">×{stats.realtime.toFixed(2)} real time</span>
      </div>
      <Busy label={step} active={phase === "loading"} />
      <ErrorBanner error={error} />
      <ErrorBanner error={actError} />
      <canvas ref={canvas} className="live-canvas" data-testid="live-canvas" aria-label="3D view of the simulated robot (drag to orbit)" tabIndex={0} />
      <p className="muted small" data-testid="live-qpos">
        qpos: [{stats.qpos.slice(0, 12).map((v) => formatNumber(v, 3)).join(", ")}
        {stats.qpos.length > 12 ? ", …" : ""}] {stats.note && `· ${stats.note}`}
      </p>
    </section>
  );
}
