/**
 * Scene gallery: thumbnail cards with name, category, DOF and a base-policy badge; search and filter.
 * Scenes with a base policy come first (they give results in seconds or minutes), Go1 leading.
 * Each card shows the robot's licence and an honest training-time estimate (the standard step budget at
 * measured throughput, or scaled by physics cost; from the server's shipped scene index, so every
 * catalogued scene has one; a person's own MJCF shows none until its card is built).
 */
import { useMemo, useState } from "react";
import { absUrl, api, unwrap, type BasePolicy, type SceneSummary } from "../api/client";
import { Busy, ErrorBanner } from "../components/Feedback";
import { plural } from "../lib/format";
import { href } from "../lib/router";
import { useAsync } from "../lib/useAsync";

export const CATEGORY_LABEL: Record<string, string> = {
  locomotion: "Locomotion",
  manipulation: "Manipulation",
  classic_control: "Classic control",
  other: "Other",
};

const CATEGORY_ORDER = ["locomotion", "manipulation", "classic_control"];

/** Gallery order: base policy first (Go1 first), then locomotion, manipulation, classic control, others; then name. */
export function sortScenes(scenes: readonly SceneSummary[]): SceneSummary[] {
  const rank = (s: SceneSummary) => {
    const c = CATEGORY_ORDER.indexOf(s.category);
    return [s.has_base_policy ? 0 : 1, /go1/i.test(s.id) ? 0 : 1, c < 0 ? CATEGORY_ORDER.length : c] as const;
  };
  return [...scenes].sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
    return a.name.localeCompare(b.name);
  });
}

/** "Robot: BSD-3-Clause, Copyright (c) 2021, Clearpath Robotics Inc. (MuJoCo Menagerie)". */
export function licenceLine(licences: readonly { license: string; attribution: string }[]): string {
  return `Robot: ${licences.map((l) => `${l.license}, ${l.attribution}`).join("; ")} (MuJoCo Menagerie)`;
}

export function filterScenes(scenes: readonly SceneSummary[], query: string, category: string): SceneSummary[] {
  const q = query.trim().toLowerCase();
  return scenes.filter(
    (s) =>
      (category === "all" || s.category === category) &&
      (!q || s.name.toLowerCase().includes(q) || s.id.toLowerCase().includes(q) || s.category.includes(q)),
  );
}

export function Gallery() {
  const scenes = useAsync(async () => unwrap(await api.GET("/api/playground/scenes"), "Loading scenes"), []);
  // Which base policies play command programs (joystick) — extra detail for the badge; optional.
  const bases = useAsync(async () => unwrap(await api.GET("/api/bases"), "Loading base policies"), []);
  const [query, setQuery] = useState("");
  const [category, setCategory] = useState("all");
  const list = useMemo(() => sortScenes(scenes.data ?? []), [scenes.data]);
  const categories = useMemo(() => {
    const present = new Set(list.map((s) => s.category));
    return ["all", ...CATEGORY_ORDER.filter((c) => present.has(c)), ...[...present].filter((c) => !CATEGORY_ORDER.includes(c))];
  }, [list]);
  const shown = filterScenes(list, query, category);
  const basesOf = (sceneId: string): BasePolicy[] => (bases.data ?? []).filter((b) => b.scene_id === sceneId);

  return (
    <section aria-labelledby="gallery-title">
      <div className="hero">
        <h1 id="gallery-title">Pick a robot, tell it what to do.</h1>
        <p className="muted">
          Choose a scene, type a task in plain words — serious or silly — and TabRL turns each idea into a policy: played
          at once by a base policy, fine-tuned in minutes, or trained from scratch. Then it shows you the results side by side.
        </p>
      </div>
      <div className="toolbar">
        <input
          type="search"
          className="input"
          placeholder="Search scenes (e.g. cartpole, go1)…"
          aria-label="Search scenes"
          value={query}
          onChange={(e) => setQuery(e.target.value)}
        />
        <div className="chips" role="radiogroup" aria-label="Filter by category">
          {categories.map((c) => (
            <button
              key={c}
              type="button"
              role="radio"
              aria-checked={category === c}
              className={`chip ${category === c ? "active" : ""}`}
              onClick={() => setCategory(c)}
            >
              {c === "all" ? "All" : (CATEGORY_LABEL[c] ?? c)}
            </button>
          ))}
        </div>
      </div>
      <Busy label="Loading scenes…" active={scenes.loading} />
      <ErrorBanner error={scenes.error} onRetry={scenes.reload} />
      {!scenes.loading && !scenes.error && shown.length === 0 && (
        <p className="muted">No scene matches “{query}”{category !== "all" ? ` in ${CATEGORY_LABEL[category] ?? category}` : ""}.</p>
      )}
      <ul className="grid" aria-label="Scenes">
        {shown.map((s) => (
          <li key={s.id}>
            <a className="card scene-card" href={href.compose(s.id)} data-testid="scene-card" data-scene-id={s.id}>
              <img src={absUrl(s.thumbnail_url)} alt={`${s.name} thumbnail`} loading="lazy" width={320} height={240} />
              <div className="card-body">
                <div className="card-title">
                  <strong>{s.name}</strong>
                  {s.has_base_policy && (
                    <span className="badge good base-badge" title="A pretrained base policy: results in seconds or minutes, not hours">
                      ★ base policy
                    </span>
                  )}
                </div>
                <div className="meta">
                  <span>{CATEGORY_LABEL[s.category] ?? s.category}</span>
                  {s.dof != null && <span>{s.dof} DOF</span>}
                  {s.nu != null && <span>{plural(s.nu, "actuator")}</span>}
                </div>
                {s.estimate_label && (
                  <p className="small muted" data-testid="estimate" title="Standard step budget, from measured throughput">
                    ⏱ {s.estimate_label}
                  </p>
                )}
                {(s.licences ?? []).length > 0 && (
                  <p className="small muted" data-testid="licence">
                    {licenceLine(s.licences ?? [])}
                  </p>
                )}
                {s.has_base_policy && (
                  <p className="base-note small" data-testid="base-note">
                    {basesOf(s.id).some((b) => b.kind === "joystick")
                      ? "⚡ Plays command programs instantly; fine-tunes in minutes"
                      : "Fine-tunes its base policy in minutes"}
                  </p>
                )}
              </div>
            </a>
          </li>
        ))}
      </ul>
    </section>
  );
}
