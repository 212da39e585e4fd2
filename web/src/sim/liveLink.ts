/**
 * Opens the live view's link to the server: a WebSocket in the page for the server's policy, or, for the
 * ONNX source, a Web Worker that holds the WebSocket and the ONNX session and answers every state with
 * an action while the page draws.
 */
import { LiveProtocol, type Actor, type LiveControl, type LiveHandlers } from "./live";

export type ConnState = "connecting" | "open" | "error" | "closed" | "local";
export type LinkEvents = LiveHandlers & { onConn(state: ConnState, detail?: string): void };

export interface LiveLink {
  send(control: LiveControl): void;
  close(): void;
}

/** A WebSocket to `/api/models/{id}/live` (in the page, or inside the worker with an actor). */
export class SocketLink implements LiveLink {
  private readonly ws: WebSocket;
  private closedByUs = false;

  constructor(url: string, events: LinkEvents, actor: Actor | null = null) {
    this.ws = new WebSocket(url);
    const protocol = new LiveProtocol((c) => this.send(c), events, actor);
    this.ws.onopen = () => events.onConn("open");
    this.ws.onerror = () => events.onConn("error", "live connection failed");
    this.ws.onclose = (e) => {
      if (!this.closedByUs) events.onConn("closed", e.reason || (e.code !== 1000 ? `code ${e.code}` : undefined));
    };
    this.ws.onmessage = (msg) => {
      if (typeof msg.data === "string") protocol.receive(msg.data);
    };
  }

  send(control: LiveControl): void {
    if (this.ws.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(control));
  }

  close(): void {
    this.closedByUs = true;
    this.ws.close();
  }
}

/** What the worker posts back: the link's events. */
export type WorkerEvent =
  | { kind: "conn"; state: ConnState; detail?: string }
  | { kind: "ready"; ready: Parameters<LiveHandlers["onReady"]>[0] }
  | { kind: "state"; frame: Parameters<LiveHandlers["onState"]>[0] }
  | { kind: "error"; message: string }
  | { kind: "loading" };

/** What the page posts to the worker. */
export type WorkerCommand = { kind: "open"; url: string; onnxUrl: string } | { kind: "send"; control: LiveControl } | { kind: "close" };

class WorkerLink implements LiveLink {
  private readonly worker: Worker;

  constructor(url: string, onnxUrl: string, events: LinkEvents) {
    this.worker = new Worker(new URL("./liveWorker.ts", import.meta.url), { type: "module" });
    this.worker.onmessage = (e: MessageEvent<WorkerEvent>) => {
      const ev = e.data;
      if (ev.kind === "conn") events.onConn(ev.state, ev.detail);
      else if (ev.kind === "ready") events.onReady(ev.ready);
      else if (ev.kind === "state") events.onState(ev.frame);
      else if (ev.kind === "error") events.onError(ev.message);
      else if (ev.kind === "loading") events.onLoading?.();
    };
    this.worker.onerror = (e) => events.onConn("error", `the ONNX worker failed: ${e.message}`);
    this.post({ kind: "open", url, onnxUrl });
  }

  private post(cmd: WorkerCommand): void {
    this.worker.postMessage(cmd);
  }

  send(control: LiveControl): void {
    this.post({ kind: "send", control });
  }

  close(): void {
    this.post({ kind: "close" });
    setTimeout(() => this.worker.terminate(), 200);
  }
}

/** The link for a source: the server's policy (`onnxUrl` null) or the ONNX export in a worker. */
export function openLive(url: string, onnxUrl: string | null, events: LinkEvents): LiveLink {
  return onnxUrl ? new WorkerLink(url, onnxUrl, events) : new SocketLink(url, events);
}
