/**
 * Typed WebSocket helpers (WebSockets are not in OpenAPI): training events (the live view's are in sim/live.ts).
 * Message shapes follow the API contract; the job object inside them is the generated `Job` type.
 */
import type { Job, JobProgress } from "./client";
import { wsUrl } from "./client";

export type TrainingEvent =
  | { type: "snapshot"; job: Job }
  | ({ type: "progress" } & Partial<JobProgress>)
  | { type: "status"; status: Job["status"]; terminal?: boolean; error?: string | null; model_id?: string | null }
  | { type: "video"; video_url: string; video_id?: string }
  | { type: string; [key: string]: unknown };

/** Whether nothing more happens to the job: the server says so (`terminal`); an interrupted job may resume. */
export const isTerminal = (job: Pick<Job, "terminal"> | undefined): boolean => !!job?.terminal;

/** Applies one training event to a job (pure: returns a new job). */
export function applyEvent(job: Job, ev: TrainingEvent): Job {
  switch (ev.type) {
    case "snapshot":
      return (ev as { job: Job }).job;
    case "progress": {
      const { type: _t, ...fields } = ev as { type: string } & Partial<JobProgress>;
      const progress = { ...(job.progress ?? emptyProgress()), ...fields } as JobProgress;
      const history = [...(job.history ?? [])];
      if (progress.eval_reward_mean != null && history.at(-1)?.step !== progress.step)
        history.push({
          step: progress.step,
          eval_reward_mean: progress.eval_reward_mean,
          eval_reward_std: progress.eval_reward_std ?? null,
          elapsed_s: progress.elapsed_s,
        });
      return { ...job, status: job.status === "queued" ? "running" : job.status, progress, history };
    }
    case "status": {
      const e = ev as { status: Job["status"]; terminal?: boolean; error?: string | null; model_id?: string | null };
      return {
        ...job,
        status: e.status,
        terminal: e.terminal ?? job.terminal,
        error: e.error ?? job.error,
        model_id: e.model_id ?? job.model_id,
      };
    }
    case "video": {
      const e = ev as { video_url: string; video_id?: string };
      return { ...job, video_url: e.video_url, video_id: e.video_id ?? job.video_id };
    }
    default:
      return job;
  }
}

function emptyProgress(): JobProgress {
  return {
    step: 0,
    eval_reward_mean: null,
    eval_reward_std: null,
    reward_terms: {},
    episode_length: null,
    env_steps_per_s: null,
    elapsed_s: 0,
    eta_s: null,
  };
}

/** Follows a job's event stream. Returns a function that closes it. */
export function followJob(
  jobId: string,
  handlers: { onEvent: (ev: TrainingEvent) => void; onClose: (clean: boolean) => void },
): () => void {
  const ws = new WebSocket(wsUrl(`/api/training/${encodeURIComponent(jobId)}/events`));
  let closedByUs = false;
  let sawEvent = false;
  ws.onmessage = (msg) => {
    if (typeof msg.data !== "string") return;
    try {
      sawEvent = true;
      handlers.onEvent(JSON.parse(msg.data) as TrainingEvent);
    } catch {
      /* a malformed frame is skipped; the next snapshot/status corrects the state */
    }
  };
  ws.onclose = () => {
    if (!closedByUs) handlers.onClose(sawEvent);
  };
  return () => {
    closedByUs = true;
    ws.close();
  };
}
