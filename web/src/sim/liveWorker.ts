/// <reference lib="webworker" />
/**
 * The ONNX source's worker: it holds the live WebSocket and the ONNX session, answers each state's
 * observation with the policy's action, and forwards the frames to the page (which only draws).
 */
import { SocketLink, type LiveLink, type WorkerCommand, type WorkerEvent } from "./liveLink";
import { loadOnnx, onnxAct } from "./onnx";

const post = (ev: WorkerEvent) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(ev);
let link: LiveLink | null = null;

self.onmessage = async (e: MessageEvent<WorkerCommand>) => {
  const cmd = e.data;
  if (cmd.kind === "open") {
    try {
      const policy = await loadOnnx(cmd.onnxUrl); // before connecting: the first state needs it
      link = new SocketLink(
        cmd.url,
        {
          onConn: (state, detail) => post({ kind: "conn", state, detail }),
          onReady: (ready) => post({ kind: "ready", ready }),
          onState: (frame) => post({ kind: "state", frame }),
          onError: (message) => post({ kind: "error", message }),
          onLoading: () => post({ kind: "loading" }),
        },
        (obs) => onnxAct(policy, obs),
      );
    } catch (err) {
      post({ kind: "conn", state: "error", detail: err instanceof Error ? err.message : String(err) });
    }
  } else if (cmd.kind === "send") {
    link?.send(cmd.control);
  } else {
    link?.close();
    link = null;
  }
};
