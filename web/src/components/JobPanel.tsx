/**
 * One approach's live panel. Training (levels 2 and 3): status, progress, ETA, eval-reward chart, reward terms,
 * cancel. A command program (level 1, a render job): the base policy plays it at once; the panel follows its video.
 * Once judged, both show the success check's verdict and, in a finished batch, the rank it earned.
 */
import { useState } from "react";
import { api, errorMessage, unwrap, type Job, type Verdict } from "../api/client";
import { isTerminal } from "../api/ws";
import { formatDuration, formatEstimate, formatNumber, formatSteps } from "../lib/format";
import { levelBadge } from "../lib/levels";
import { href } from "../lib/router";
import { CheckVerdict } from "./CheckVerdict";
import { Busy, ErrorBanner, ProgressBar, StatusBadge } from "./Feedback";
import { RewardChart } from "./RewardChart";

type PanelProps = {
  job: Job;
  onUpdate: (j: Job) => void;
  live: boolean;
  /** its success check's verdict (else the job's own, if any) */
  check?: Verdict | null;
  /** its rank in the finished batch (1 = best) and how many were ranked */
  rank?: number | null;
  of?: number | null;
};

/** A render job in a batch is a command approach playing (the batch endpoint makes no other kind). */
export const isPlayJob = (job: Pick<Job, "kind">): boolean => job.kind === "render";

function useCancel(job: Job, onUpdate: (j: Job) => void) {
  const [cancelling, setCancelling] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function cancel() {
    setCancelling(true);
    setError(null);
    try {
      onUpdate(
        unwrap(await api.POST("/api/training/{job_id}/cancel", { params: { path: { job_id: job.id } } }), "Cancelling"),
      );
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setCancelling(false);
    }
  }
  return { cancel, cancelling, error };
}

export function JobPanel(props: PanelProps) {
  return isPlayJob(props.job) ? <CommandJobPanel {...props} /> : <TrainJobPanel {...props} />;
}

function TrainJobPanel({ job, onUpdate, live, check, rank, of }: PanelProps) {
  const { cancel, cancelling, error } = useCancel(job, onUpdate);
  const p = job.progress;
  // The trainer rounds the budget up to whole PPO batches; its own total is the honest one.
  const total = p?.total_steps ?? job.total_steps ?? 0;
  const message = (p as { message?: string } | null)?.message;
  const frac = job.status === "succeeded" ? 1 : total > 0 && p ? p.step / total : 0;
  const terms = Object.entries(p?.reward_terms ?? {});
  const termMax = Math.max(1e-9, ...terms.map(([, v]) => Math.abs(v)));

  return (
    <article className="card job" data-testid="job-panel" data-kind="train" data-status={job.status} aria-labelledby={`job-${job.id}`}>
      <header className="approach-head">
        <h3 id={`job-${job.id}`}>{job.name}</h3>
        <StatusBadge status={job.status} />
      </header>
      <CheckVerdict check={check ?? job.check} rank={rank} of={of} />
      {job.status === "queued" && (
        <p className="muted small">
          Waiting in line{job.queue_position != null ? ` (#${job.queue_position + 1})` : ""}
          {job.estimated_start_s != null ? ` — starts in ${formatEstimate(job.estimated_start_s)}` : ""}. The first run also
          compiles the simulator (JIT), which takes a little while.
        </p>
      )}
      {job.status === "running" && (message || !p?.step) && (
        <p className="muted small" data-testid="job-message">
          {message ?? "Compiling the simulator and the policy (JIT) — on a CPU the first minute or so is mostly this."}
        </p>
      )}
      <ProgressBar value={frac} label={`${job.name} progress`} />
      <dl className="stats">
        <div>
          <dt>steps</dt>
          <dd>
            {formatSteps(p?.step ?? 0)} / {total ? formatSteps(total) : "?"}
          </dd>
        </div>
        <div>
          <dt>eval reward</dt>
          <dd>
            {formatNumber(p?.eval_reward_mean)}
            {p?.eval_reward_std != null && <span className="muted"> ± {formatNumber(p.eval_reward_std)}</span>}
          </dd>
        </div>
        <div>
          <dt>elapsed</dt>
          <dd>{formatDuration(p?.elapsed_s)}</dd>
        </div>
        <div>
          <dt>left</dt>
          <dd>{isTerminal(job) ? "—" : p?.eta_s != null ? formatEstimate(p.eta_s) : "…"}</dd>
        </div>
        <div>
          <dt>speed</dt>
          <dd>{p?.env_steps_per_s != null ? `${formatSteps(p.env_steps_per_s)} steps/s` : "—"}</dd>
        </div>
      </dl>
      {(!isTerminal(job) || (job.history ?? []).length > 0) && <RewardChart history={job.history ?? []} totalSteps={total} />}
      {terms.length > 0 && (
        <table className="terms-table" aria-label="Reward terms (latest evaluation)">
          <tbody>
            {terms.map(([name, v]) => (
              <tr key={name}>
                <th scope="row">
                  <code>{name}</code>
                </th>
                <td className="num">{formatNumber(v)}</td>
                <td className="bar-cell">
                  <span className={`term-bar ${v < 0 ? "neg" : ""}`} style={{ width: `${(Math.abs(v) / termMax) * 100}%` }} />
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {job.error && (
        <div className="error" role="alert">
          {job.error}
        </div>
      )}
      <div className="row">
        {!isTerminal(job) && (
          <button type="button" className="btn danger" onClick={cancel} disabled={cancelling}>
            {cancelling ? "Cancelling…" : "Cancel"}
          </button>
        )}
        {job.model_id && (
          <a className="btn" href={href.live(job.model_id)}>
            Live view →
          </a>
        )}
        {!live && !isTerminal(job) && <span className="muted small">reconnecting to live updates…</span>}
      </div>
      <ErrorBanner error={error} />
    </article>
  );
}

const PLAY_MESSAGE: Record<string, string> = {
  running: "The base policy is walking the program while its video renders — usually a few seconds.",
  succeeded: "Done, with no training: its video is with the others above.",
  cancelled: "Cancelled before its video was made.",
  interrupted: "The server stopped before its video was made; play it again from the composer.",
};

/** Level 1: a joystick base policy plays a command program (no training); the job renders its video. */
function CommandJobPanel({ job, onUpdate, live, check, rank, of }: PanelProps) {
  const { cancel, cancelling, error } = useCancel(job, onUpdate);
  const took =
    job.started_at && job.finished_at ? (new Date(job.finished_at).getTime() - new Date(job.started_at).getTime()) / 1000 : null;
  const message =
    job.status === "queued"
      ? `Waiting in line${job.queue_position != null ? ` (#${job.queue_position + 1})` : ""} behind the training jobs${
          job.estimated_start_s != null ? ` — starts in ${formatEstimate(job.estimated_start_s)}` : ""
        }; nothing needs training.`
      : (PLAY_MESSAGE[job.status] ?? "");

  return (
    <article className="card job play" data-testid="job-panel" data-kind="render" data-status={job.status} aria-labelledby={`job-${job.id}`}>
      <header className="approach-head">
        <h3 id={`job-${job.id}`}>{job.name}</h3>
        <StatusBadge status={job.status} kind="render" />
      </header>
      <CheckVerdict check={check ?? job.check} rank={rank} of={of} />
      <div className="level-line">
        <strong className="play-kind">▶ Playing command program</strong>
        <span className="badge level level-1">{levelBadge("command")}</span>
      </div>
      {message && (
        <p className="muted small" data-testid="job-message">
          {message}
        </p>
      )}
      <ProgressBar value={job.status === "succeeded" ? 1 : job.status === "running" ? null : 0} label={`${job.name} progress`} />
      <dl className="stats">
        <div>
          <dt>training</dt>
          <dd>none</dd>
        </div>
        <div>
          <dt>took</dt>
          <dd>{formatDuration(took)}</dd>
        </div>
      </dl>
      {job.model_id && <ProgramOf modelId={job.model_id} />}
      {job.error && (
        <div className="error" role="alert">
          {job.error}
        </div>
      )}
      <div className="row">
        {!isTerminal(job) && (
          <button type="button" className="btn danger" onClick={cancel} disabled={cancelling}>
            {cancelling ? "Cancelling…" : "Cancel"}
          </button>
        )}
        {job.model_id && (
          <a className="btn" href={href.live(job.model_id)}>
            Live view →
          </a>
        )}
        {!live && !isTerminal(job) && <span className="muted small">reconnecting to live updates…</span>}
      </div>
      <ErrorBanner error={error} />
    </article>
  );
}

/** The program a level-1 model plays, loaded from the model library when the person opens it. */
function ProgramOf({ modelId }: { modelId: string }) {
  const [code, setCode] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function load() {
    if (code != null || loading) return;
    setLoading(true);
    setError(null);
    try {
      const m = unwrap(await api.GET("/api/models/{model_id}", { params: { path: { model_id: modelId } } }), "Loading the program");
      setCode(m.commands ?? "");
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setLoading(false);
    }
  }
  return (
    <details className="small program" onToggle={(e) => (e.currentTarget.open ? void load() : undefined)}>
      <summary>The command program</summary>
      <Busy label="Loading…" active={loading} />
      {code != null && (code ? <pre className="code-block">{code}</pre> : <p className="muted">This model has no program on record.</p>)}
      <ErrorBanner error={error} />
    </details>
  );
}
