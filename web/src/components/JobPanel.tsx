/** One approach's live training panel: status, progress, ETA, eval-reward chart, reward terms, cancel. */
import { useState } from "react";
import { api, errorMessage, unwrap, type Job } from "../api/client";
import { isTerminal } from "../api/ws";
import { formatDuration, formatEstimate, formatNumber, formatSteps } from "../lib/format";
import { href } from "../lib/router";
import { ErrorBanner, ProgressBar, StatusBadge } from "./Feedback";
import { RewardChart } from "./RewardChart";

export function JobPanel({ job, onUpdate, live }: { job: Job; onUpdate: (j: Job) => void; live: boolean }) {
  const [cancelling, setCancelling] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const p = job.progress;
  // The trainer rounds the budget up to whole PPO batches; its own total is the honest one.
  const total = p?.total_steps ?? job.total_steps ?? 0;
  const message = (p as { message?: string } | null)?.message;
  const frac = job.status === "succeeded" ? 1 : total > 0 && p ? p.step / total : 0;
  const terms = Object.entries(p?.reward_terms ?? {});
  const termMax = Math.max(1e-9, ...terms.map(([, v]) => Math.abs(v)));

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

  return (
    <article className="card job" data-testid="job-panel" data-status={job.status} aria-labelledby={`job-${job.id}`}>
      <header className="approach-head">
        <h3 id={`job-${job.id}`}>{job.name}</h3>
        <StatusBadge status={job.status} />
      </header>
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
            {formatNumber(p?.eval_reward)}
            {p?.eval_reward_std != null && <span className="muted"> ± {formatNumber(p.eval_reward_std)}</span>}
          </dd>
        </div>
        <div>
          <dt>elapsed</dt>
          <dd>{formatDuration(p?.elapsed_s)}</dd>
        </div>
        <div>
          <dt>left</dt>
          <dd>{isTerminal(job.status) ? "—" : p?.eta_s != null ? formatEstimate(p.eta_s) : "…"}</dd>
        </div>
        <div>
          <dt>speed</dt>
          <dd>{p?.env_steps_per_s != null ? `${formatSteps(p.env_steps_per_s)} steps/s` : "—"}</dd>
        </div>
      </dl>
      {(!isTerminal(job.status) || (job.history ?? []).length > 0) && <RewardChart history={job.history ?? []} totalSteps={total} />}
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
        {!isTerminal(job.status) && (
          <button type="button" className="btn danger" onClick={cancel} disabled={cancelling}>
            {cancelling ? "Cancelling…" : "Cancel"}
          </button>
        )}
        {job.model_id && (
          <a className="btn" href={href.live(job.model_id)}>
            Live view →
          </a>
        )}
        {!live && !isTerminal(job.status) && <span className="muted small">reconnecting to live updates…</span>}
      </div>
      <ErrorBanner error={error} />
    </article>
  );
}
