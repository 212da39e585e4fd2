/**
 * Task composer for one scene: prompt (with fun suggestions), provider/model, training budget from the
 * server's presets, fine-tune vs from scratch; then the approach cards and "train the chosen ones".
 */
import { useState } from "react";
import { absUrl, api, errorMessage, unwrap, type BatchRequest, type GenerateRequest, type Provider } from "../api/client";
import { ApproachCard, type ApproachDraft } from "../components/ApproachCard";
import { Busy, ErrorBanner } from "../components/Feedback";
import { formatEstimate, formatSteps } from "../lib/format";
import { suggestionsFor } from "../lib/prompts";
import { href, navigate } from "../lib/router";
import { useAsync } from "../lib/useAsync";
import { useStored } from "../lib/useStored";
import { CATEGORY_LABEL } from "./Gallery";

/** How the two training backends are named for people. */
const PHYSICS_LABEL: Record<string, string> = { mujoco: "MuJoCo C", mjx: "MJX" };
const PHYSICS_HINT: Record<string, string> = {
  mujoco: "MuJoCo C on CPU threads: contact-rich robots on a CPU",
  mjx: "MJX + Brax: fast on a GPU, and for small scenes",
};

const OFFLINE: Provider = {
  name: "offline", label: "offline composer", configured: true, default_model: "offline", models: [], selected: true,
};

export function Compose({ sceneId }: { sceneId: string }) {
  const scene = useAsync(
    async () => unwrap(await api.GET("/api/playground/{scene_id}", { params: { path: { scene_id: sceneId } } }), "Loading the scene"),
    [sceneId],
  );
  const providers = useAsync(async () => unwrap(await api.GET("/api/llm/providers"), "Loading LLM providers"), []);
  const [backend, setBackend] = useStored<"auto" | "mjx" | "mujoco">(`tabrl:${sceneId}:backend`, "auto");
  const presets = useAsync(
    async () =>
      unwrap(await api.GET("/api/training/presets", { params: { query: { scene_id: sceneId, backend } } }), "Loading training presets"),
    [sceneId, backend],
  );

  const [prompt, setPrompt] = useStored(`tabrl:${sceneId}:prompt`, "");
  const [provider, setProvider] = useStored<string>("tabrl:provider", "");
  const [model, setModel] = useStored<string>("tabrl:model", "");
  const [presetIdx, setPresetIdx] = useStored<number>(`tabrl:${sceneId}:preset`, 0);
  const [customSteps, setCustomSteps] = useStored<string>(`tabrl:${sceneId}:steps`, "");
  const [level, setLevel] = useStored<"fine_tune" | "from_scratch">(`tabrl:${sceneId}:level`, "from_scratch");
  const [drafts, setDrafts] = useStored<ApproachDraft[]>(`tabrl:${sceneId}:approaches`, []);
  const [generating, setGenerating] = useState(false);
  const [genInfo, setGenInfo] = useState<string | null>(null);
  const [genError, setGenError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const [startError, setStartError] = useState<string | null>(null);

  const providerList = providers.data?.length ? providers.data : [OFFLINE];
  const chosen = providerList.find((p) => p.name === provider) ?? providerList.find((p) => p.selected) ?? providerList[0];
  const presetList = presets.data?.presets ?? [];
  const preset = presetList[Math.min(presetIdx, Math.max(presetList.length - 1, 0))];
  const fineTuneOk = !!presets.data?.fine_tune_available;
  const effectiveLevel = fineTuneOk ? level : "from_scratch";
  const selected = drafts.filter((d) => d.selected);
  const exactSteps = /^\d+$/.test(customSteps.trim()) ? Number(customSteps.trim()) : null;
  const stepsTooFew = exactSteps != null && exactSteps < 1000;

  async function generate() {
    setGenerating(true);
    setGenError(null);
    setGenInfo(null);
    try {
      const r = unwrap(
        await api.POST("/api/policy/generate", {
          body: { scene_id: sceneId, prompt: prompt.trim(), provider: chosen.name as GenerateRequest["provider"], model: model.trim() || null, n: 3 },
        }),
        "Writing reward approaches",
      );
      setDrafts(
        r.approaches.map((a) => ({
          name: a.name,
          description: a.description,
          reward_code: a.reward_code,
          valid: a.valid,
          errors: a.errors,
          terms: [],
          level: a.level || effectiveLevel,
          steps: a.steps,
          selected: a.valid,
          dirty: false,
        })),
      );
      setGenInfo(`${r.approaches.length} approaches from ${r.provider}${r.model ? ` (${r.model})` : ""} in ${r.latency_s.toFixed(1)} s`);
    } catch (e) {
      setGenError(errorMessage(e));
    } finally {
      setGenerating(false);
    }
  }

  async function train() {
    setStarting(true);
    setStartError(null);
    try {
      const r = unwrap(
        await api.POST("/api/training/batch", {
          body: {
            scene_id: sceneId,
            approaches: selected.map((d) => ({ name: d.name, reward_code: d.reward_code, level: effectiveLevel })),
            ...(exactSteps ? { steps: exactSteps } : { preset: (preset?.name ?? null) as BatchRequest["preset"] }),
            seed: 0,
            backend,
          },
        }),
        "Starting training",
      );
      navigate(href.batch(r.batch_id));
    } catch (e) {
      setStartError(errorMessage(e));
    } finally {
      setStarting(false);
    }
  }

  const s = scene.data;
  return (
    <section aria-labelledby="compose-title">
      <a href={href.gallery()} className="back">
        ← All scenes
      </a>
      <ErrorBanner error={scene.error} onRetry={scene.reload} />
      <div className="scene-head">
        {s && <img src={absUrl(s.thumbnail_url)} alt="" width={160} height={120} />}
        <div>
          <h1 id="compose-title">{s?.name ?? sceneId}</h1>
          {s && (
            <div className="meta">
              <span>{CATEGORY_LABEL[s.category] ?? s.category}</span>
              <span>{s.nu} actuators</span>
              <span>{s.obs_size} observations</span>
              <a href={href.liveScene(sceneId)}>see it move in your browser →</a>
            </div>
          )}
        </div>
      </div>

      <form
        className="card composer"
        onSubmit={(e) => {
          e.preventDefault();
          if (prompt.trim() && !generating) void generate();
        }}
      >
        <label htmlFor="prompt" className="label">
          What should the robot do?
        </label>
        <textarea
          id="prompt"
          className="input prompt"
          rows={2}
          maxLength={500}
          placeholder="Keep shaking your hips aloha dude!"
          value={prompt}
          onChange={(e) => setPrompt(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && (e.metaKey || e.ctrlKey)) e.currentTarget.form?.requestSubmit();
          }}
        />
        <div className="chips" aria-label="Prompt ideas">
          {suggestionsFor(s?.category).map((p) => (
            <button key={p} type="button" className="chip" onClick={() => setPrompt(p)}>
              {p}
            </button>
          ))}
        </div>

        <div className="settings">
          <div className="field">
            <label htmlFor="provider" className="label">
              Who writes the rewards
            </label>
            <select id="provider" className="input" value={chosen.name} onChange={(e) => setProvider(e.target.value)}>
              {providerList.map((p) => (
                <option key={p.name} value={p.name} disabled={!p.configured}>
                  {p.name === "offline" ? "offline composer (no key needed)" : p.label || p.name}
                  {p.configured ? "" : " — not configured"}
                </option>
              ))}
            </select>
            {chosen.name !== "offline" && (
              <>
                <input
                  className="input"
                  aria-label="Model name"
                  list="provider-models"
                  placeholder={chosen.default_model || "model"}
                  value={model}
                  onChange={(e) => setModel(e.target.value)}
                />
                <datalist id="provider-models">
                  {chosen.models.map((m) => (
                    <option key={m} value={m} />
                  ))}
                </datalist>
              </>
            )}
            {providers.error && <p className="muted small">Provider list unavailable ({providers.error}); using the offline composer.</p>}
          </div>

          <div className="field">
            <label htmlFor="steps" className="label">
              Training budget
            </label>
            {presetList.length > 0 && preset ? (
              <>
                <input
                  id="steps"
                  type="range"
                  min={0}
                  max={presetList.length - 1}
                  step={1}
                  value={presetList.indexOf(preset)}
                  onChange={(e) => setPresetIdx(Number(e.target.value))}
                  aria-valuetext={`${preset.label}: ${formatSteps(preset.steps)} steps, ${formatEstimate(preset.estimate_s)}`}
                  list="preset-ticks"
                />
                <div className="ticks" id="preset-ticks">
                  {presetList.map((p, i) => (
                    <button
                      type="button"
                      key={p.name}
                      className={`tick-label ${p === preset ? "active" : ""}`}
                      onClick={() => setPresetIdx(i)}
                    >
                      {p.label || p.name}
                    </button>
                  ))}
                </div>
                <p className="small" data-testid="preset-estimate">
                  {formatSteps(preset.steps)} steps · {formatEstimate(preset.estimate_s)} per approach on this machine (
                  {presets.data?.device === "gpu" ? "GPU" : "CPU"} · {PHYSICS_LABEL[presets.data?.backend ?? "mjx"] ?? presets.data?.backend})
                  {selected.length > 1 && " — approaches share the machine, so together they take longer"}
                </p>
              </>
            ) : (
              <Busy label="Asking the server for time estimates…" active={presets.loading} />
            )}
            <details className="small" open={!!customSteps}>
              <summary>Exact step count</summary>
              <input
                className="input"
                inputMode="numeric"
                aria-label="Exact number of training steps"
                placeholder="e.g. 5000 (overrides the preset)"
                value={customSteps}
                onChange={(e) => setCustomSteps(e.target.value.replace(/[^\d]/g, ""))}
              />
              {stepsTooFew && <p className="muted small">At least 1,000 steps.</p>}
              {exactSteps != null && preset && !stepsTooFew && (
                <p className="muted small">
                  ≈ {formatEstimate((preset.estimate_s * exactSteps) / Math.max(preset.steps, 1))} per approach (scaled from the{" "}
                  {preset.label || preset.name} estimate; compile time makes short runs relatively slower).
                </p>
              )}
            </details>
            <ErrorBanner error={presets.error} onRetry={presets.reload} />
          </div>

          {(presets.data?.backends?.length ?? 0) > 1 && (
            <div className="field">
              <label htmlFor="backend" className="label">
                Physics engine
              </label>
              <select
                id="backend"
                className="input"
                value={backend}
                onChange={(e) => setBackend(e.target.value as "auto" | "mjx" | "mujoco")}
              >
                <option value="auto">automatic ({PHYSICS_LABEL[presets.data?.backend ?? "mjx"]} here)</option>
                <option value="mujoco">{PHYSICS_HINT.mujoco}</option>
                <option value="mjx">{PHYSICS_HINT.mjx}</option>
              </select>
            </div>
          )}

          <fieldset className="field">
            <legend className="label">Start from</legend>
            <label className="check">
              <input type="radio" name="level" checked={effectiveLevel === "fine_tune"} disabled={!fineTuneOk} onChange={() => setLevel("fine_tune")} />
              a pretrained base policy (fine-tune, fast)
            </label>
            <label className="check">
              <input type="radio" name="level" checked={effectiveLevel === "from_scratch"} onChange={() => setLevel("from_scratch")} />
              scratch (learn everything, slower)
            </label>
            {presets.data && !fineTuneOk && <p className="muted small">No base policy for this scene, so training starts from scratch.</p>}
          </fieldset>
        </div>

        <div className="row">
          <button type="submit" className="btn primary" disabled={!prompt.trim() || generating}>
            {generating ? "Writing rewards…" : drafts.length ? "Write new approaches" : "Write reward approaches"}
          </button>
          <Busy
            label={`Asking ${chosen.name === "offline" ? "the offline composer" : chosen.name}…`}
            hint={
              chosen.name === "offline"
                ? " the first time it loads a small language model (up to a minute on a CPU); later prompts take seconds"
                : " LLMs usually take 10–40 s"
            }
            active={generating}
          />
          {genInfo && !generating && <span className="muted small">{genInfo}</span>}
        </div>
        <ErrorBanner error={genError} />
      </form>

      {drafts.length > 0 && (
        <section aria-labelledby="approaches-title">
          <h2 id="approaches-title">Approaches</h2>
          <p className="muted">Each is a different idea of what “{prompt || "the task"}” means as a reward. Edit the code if you like, then pick which to train.</p>
          <div className="approaches">
            {drafts.map((d, i) => (
              <ApproachCard
                key={i}
                index={i}
                sceneId={sceneId}
                draft={d}
                onChange={(nd) => setDrafts((all) => all.map((x, j) => (j === i ? nd : x)))}
              />
            ))}
          </div>
          <div className="train-bar card">
            <button
              type="button"
              className="btn primary big"
              onClick={train}
              disabled={starting || stepsTooFew || selected.length === 0 || selected.some((d) => !d.valid || d.dirty)}
            >
              {starting ? "Starting…" : `Train ${selected.length} approach${selected.length === 1 ? "" : "es"}`}
            </button>
            <span className="muted small">
              {selected.length === 0
                ? "Pick at least one approach."
                : selected.some((d) => d.dirty)
                  ? "Check the edited code first."
                  : selected.some((d) => !d.valid)
                    ? "Fix or unselect the approaches with errors."
                    : exactSteps != null
                      ? `${formatSteps(exactSteps)} steps each.`
                      : preset
                        ? `${formatSteps(preset.steps)} steps each, ${formatEstimate(preset.estimate_s)} per approach.`
                        : ""}
            </span>
            <Busy label="Queuing training jobs…" active={starting} />
          </div>
          <ErrorBanner error={startError} />
        </section>
      )}
    </section>
  );
}
