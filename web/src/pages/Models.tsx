/**
 * Model library: every policy (trained, fine-tuned, or a base policy playing a command program), with its level,
 * video, metrics, its success check's verdict when judged, live view, ONNX download and re-render.
 */
import { useState } from "react";
import { absUrl, api, errorMessage, unwrap, type Model } from "../api/client";
import { CheckVerdict } from "../components/CheckVerdict";
import { Busy, ErrorBanner } from "../components/Feedback";
import { formatDate, formatNumber, formatSteps } from "../lib/format";
import { levelNumber, levelSummary } from "../lib/levels";
import { href } from "../lib/router";
import { useAsync } from "../lib/useAsync";

export function Models() {
  const models = useAsync(async () => unwrap(await api.GET("/api/models"), "Loading the model library"), []);
  const [query, setQuery] = useState("");
  const list = (models.data ?? []).filter(
    (m) =>
      !query.trim() ||
      `${m.name} ${m.scene_id} ${levelSummary(m.level)} ${m.check ? (m.check.passed ? "check passed" : "check failed") : ""}`
        .toLowerCase().includes(query.trim().toLowerCase()),
  );
  return (
    <section aria-labelledby="models-title">
      <h1 id="models-title">Model library</h1>
      <div className="toolbar">
        <input
          type="search"
          className="input"
          placeholder="Filter by name, scene, level or check…"
          aria-label="Filter models"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
      </div>
      <Busy label="Loading models…" active={models.loading} />
      <ErrorBanner error={models.error} onRetry={models.reload} />
      {!models.loading && !models.error && (models.data ?? []).length === 0 && (
        <p className="muted">
          No policies yet. <a href={href.gallery()}>Pick a scene</a>: where it has a joystick base policy a command program
          plays instantly; fine-tuning takes minutes, training from scratch longer.
        </p>
      )}
      <ul className="grid models" aria-label="Models">
        {[...list]
          .sort((a, b) => b.created_at.localeCompare(a.created_at))
          .map((m) => (
            <li key={m.id}>
              <ModelCard model={m} />
            </li>
          ))}
      </ul>
    </section>
  );
}

function ModelCard({ model }: { model: Model }) {
  const [videoUrl, setVideoUrl] = useState(model.video_url);
  const [rendering, setRendering] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const command = model.level === "command";

  async function render() {
    setRendering(true);
    setError(null);
    try {
      const r = unwrap(await api.POST("/api/training/render", { body: { model_id: model.id, seconds: 10, seed: 0 } }), "Rendering a video");
      setVideoUrl(r.video_url);
    } catch (e) {
      setError(errorMessage(e));
    } finally {
      setRendering(false);
    }
  }

  return (
    <article className="card model-card" data-testid="model-card">
      {videoUrl ? (
        <video src={absUrl(videoUrl)} controls muted loop playsInline preload="metadata" aria-label={`${model.name} video`} />
      ) : (
        <div className="video-placeholder muted">no video yet</div>
      )}
      <div className="card-body">
        <div className="card-title">
          <strong>{model.name}</strong>
          <span className={`badge level level-${levelNumber(model.level)}`} data-testid="model-level">
            {levelSummary(model.level)}
          </span>
        </div>
        <div className="meta">
          <span>{model.scene_id}</span>
          {command ? (
            <span>no training: a base policy plays it</span>
          ) : (
            <>
              <span>{formatSteps(model.steps)} steps</span>
              <span>reward {formatNumber(model.eval_reward)}</span>
            </>
          )}
        </div>
        <CheckVerdict check={model.check} compact />
        {command && model.commands && (
          <details className="small program">
            <summary>The command program</summary>
            <pre className="code-block">{model.commands}</pre>
          </details>
        )}
        <div className="muted small">{formatDate(model.created_at)}</div>
        <div className="row wrap">
          <a className="btn small primary" href={href.live(model.id)}>
            Live view →
          </a>
          <a className="btn small" href={absUrl(model.onnx_url)} download={`${model.id}.onnx`}>
            ↓ ONNX
          </a>
          <button type="button" className="btn small" onClick={render} disabled={rendering}>
            {rendering ? "Rendering…" : videoUrl ? "Re-render" : "Render video"}
          </button>
          {model.job_id && <span className="muted small">job {model.job_id.slice(0, 8)}</span>}
        </div>
        <Busy label="Rendering 10 s of video…" hint=" usually 10–60 s on a CPU" active={rendering} />
        <ErrorBanner error={error} />
      </div>
    </article>
  );
}
