/**
 * Training + results for one batch: training jobs (levels 2 and 3) and command programs playing on a joystick
 * base policy (level 1: render jobs, done in seconds), side by side. State always comes from the server (GET /api/training?batch_id=…),
 * so a reload picks up where it was; each job then follows its WebSocket event stream, with polling as
 * the fallback when a socket drops. As jobs finish, GET /api/training/batch/{id} brings their success-check verdicts
 * and ranks; once all are done, the panels and videos line up best first. A finished batch can be refined:
 * POST /api/training/batch/{id}/refine writes the next round from its results (Round 1, Round 2, …).
 */
import { useCallback, useEffect, useRef, useState } from "react";
import { absUrl, api, errorMessage, unwrap, type Job, type RankedBatch } from "../api/client";
import { applyEvent, followJob, isTerminal } from "../api/ws";
import { CheckVerdict } from "../components/CheckVerdict";
import { Busy, ErrorBanner } from "../components/Feedback";
import { isPlayJob, JobPanel } from "../components/JobPanel";
import { VideoGrid } from "../components/VideoGrid";
import { formatDuration, formatNumber, formatSteps, plural } from "../lib/format";
import { levelBadge } from "../lib/levels";
import { href, navigate } from "../lib/router";
import { useAsync } from "../lib/useAsync";

const POLL_MS = 2500;

export function Batch({ batchId }: { batchId: string }) {
  const initial = useAsync(
    async () => unwrap(await api.GET("/api/training", { params: { query: { batch_id: batchId } } }), "Loading the training batch"),
    [batchId],
  );
  const [jobs, setJobs] = useState<Job[]>([]);
  const [live, setLive] = useState<Record<string, boolean>>({});
  const sockets = useRef<Map<string, () => void>>(new Map());

  useEffect(() => {
    if (initial.data) setJobs(initial.data);
  }, [initial.data]);

  const update = useCallback((j: Job) => setJobs((all) => all.map((x) => (x.id === j.id ? j : x))), []);

  // One event stream per unfinished job.
  const ids = jobs.filter((j) => !isTerminal(j)).map((j) => j.id).join(",");
  useEffect(() => {
    const want = new Set(ids ? ids.split(",") : []);
    for (const [id, close] of sockets.current)
      if (!want.has(id)) {
        close();
        sockets.current.delete(id);
      }
    for (const id of want) {
      if (sockets.current.has(id)) continue;
      const close = followJob(id, {
        onEvent: (ev) => {
          setLive((l) => (l[id] ? l : { ...l, [id]: true }));
          setJobs((all) => all.map((x) => (x.id === id ? applyEvent(x, ev) : x)));
        },
        onClose: () => {
          sockets.current.delete(id);
          setLive((l) => ({ ...l, [id]: false }));
        },
      });
      sockets.current.set(id, close);
    }
  }, [ids]);
  useEffect(
    () => () => {
      for (const close of sockets.current.values()) close();
      sockets.current.clear();
    },
    [],
  );

  // Polling: the source of truth for jobs whose socket is down, and for final fields (model, video).
  const needPoll = jobs.some((j) => !isTerminal(j) && !live[j.id]) || jobs.some((j) => j.status === "succeeded" && !j.video_url);
  useEffect(() => {
    if (!needPoll) return;
    const t = setInterval(async () => {
      try {
        const fresh = unwrap(await api.GET("/api/training", { params: { query: { batch_id: batchId } } }), "Refreshing");
        setJobs((all) => fresh.map((f) => (live[f.id] && !isTerminal(f) ? (all.find((a) => a.id === f.id) ?? f) : f)));
      } catch {
        /* a missed poll is retried on the next tick */
      }
    }, POLL_MS);
    return () => clearInterval(t);
  }, [needPoll, batchId, live]);

  const done = jobs.length > 0 && jobs.every((j) => isTerminal(j));

  // Success checks: each finished job's verdict, and the batch ranked best first (fetched again as jobs finish).
  const finished = jobs
    .filter((j) => isTerminal(j))
    .map((j) => `${j.id}:${j.status}`)
    .sort()
    .join(",");
  const [ranking, setRanking] = useState<{ batchId: string; finished: string; batch: RankedBatch } | null>(null);
  useEffect(() => {
    if (!finished) return;
    let current = true;
    void (async () => {
      try {
        const batch = unwrap(
          await api.GET("/api/training/batch/{batch_id}", { params: { path: { batch_id: batchId } } }),
          "Ranking the batch",
        );
        if (current) setRanking({ batchId, finished, batch });
      } catch {
        /* an older server (no ranking) or a missed call: the jobs' own verdicts still show */
      }
    })();
    return () => {
      current = false;
    };
  }, [batchId, finished]);
  const ranked = new Map(ranking?.batchId === batchId ? ranking.batch.jobs.map((r) => [r.id, r]) : []);
  const verdictOf = (j: Job) => ranked.get(j.id)?.check ?? j.check ?? null;
  // Ranks and order only for a finished batch with verdicts, from a ranking made after the last job finished;
  // while jobs run, everything stays in place.
  const byRank = done && ranking?.finished === finished && jobs.some((j) => verdictOf(j) != null);
  const rankOf = (j: Job) => (byRank && verdictOf(j) ? (ranked.get(j.id)?.rank ?? null) : null);
  const rankedCount = ranking?.batch.jobs.length ?? jobs.length;
  const ordered = byRank ? orderByRank(jobs, ranked) : jobs;
  const withVideo = ordered.filter((j) => j.video_url);
  const sceneId = jobs[0]?.scene_id;
  const plays = jobs.filter(isPlayJob);
  const trains = jobs.filter((j) => !isPlayJob(j));
  // "best" compares eval rewards, which only trained approaches have.
  const rated = trains.filter((j) => j.progress?.eval_reward_mean != null);
  const best = rated.reduce<Job | null>(
    (a, j) => ((j.progress?.eval_reward_mean ?? -Infinity) > (a?.progress?.eval_reward_mean ?? -Infinity) ? j : a),
    null,
  );

  const round = ranking?.batchId === batchId ? ranking.batch.round ?? 1 : null;
  const parent = ranking?.batchId === batchId ? ranking.batch.parent_batch_id ?? null : null;
  const [refining, setRefining] = useState(false);
  const [refineError, setRefineError] = useState<string | null>(null);
  async function refine() {
    setRefining(true);
    setRefineError(null);
    try {
      const next = unwrap(
        await api.POST("/api/training/batch/{batch_id}/refine", { params: { path: { batch_id: batchId } }, body: {} }),
        "Refining the batch",
      );
      navigate(href.batch(next.batch_id));
    } catch (e) {
      setRefineError(errorMessage(e));
    } finally {
      setRefining(false);
    }
  }

  return (
    <section aria-labelledby="batch-title">
      {sceneId && (
        <a href={href.compose(sceneId)} className="back">
          ← Back to the composer
        </a>
      )}
      <h1 id="batch-title">{done ? "Results" : trains.length ? "Training" : "Playing"}</h1>
      {round != null && (
        <p className="muted" data-testid="batch-round">
          Round {round}
          {parent && (
            <>
              {" · "}
              <a href={href.batch(parent)}>← Round {round - 1}</a>
            </>
          )}
        </p>
      )}
      {byRank && round != null && (
        <p>
          <button type="button" className="btn" onClick={() => void refine()} disabled={refining}>
            {refining ? "Writing the next round…" : `Refine: Round ${round + 1}`}
          </button>{" "}
          <span className="muted small">
            the next round is written from these results (each check's figures and reward terms) and trained again
          </span>
        </p>
      )}
      <ErrorBanner error={refineError} />
      <Busy label="Loading the batch…" active={initial.loading} />
      <ErrorBanner error={initial.error} onRetry={initial.reload} />
      {!initial.loading && !initial.error && jobs.length === 0 && <p className="muted">This batch has no jobs.</p>}
      {!done && jobs.length > 0 && (
        <p className="muted">
          {[
            trains.length > 0 && `${plural(trains.length, "approach", "approaches")} training on the same machine`,
            plays.length > 0 &&
              `${plural(plays.length, "command program")} playing on the base policy (no training, ready in seconds)`,
          ]
            .filter(Boolean)
            .join("; ")}
          . You can leave this page; come back any time — the server keeps going.
        </p>
      )}

      {withVideo.length > 0 && (
        <section aria-labelledby="videos-title" className="results">
          <h2 id="videos-title">Side by side</h2>
          {byRank && (
            <p className="muted small" data-testid="ranked-note">
              Best first, ranked by each approach's success check.
            </p>
          )}
          <VideoGrid
            items={withVideo.map((j) => ({
              key: j.id,
              title: j.name,
              src: absUrl(j.video_url as string),
              downloadName: `${j.name.replace(/[^\w-]+/g, "_")}.mp4`,
              verdict: <CheckVerdict check={verdictOf(j)} rank={rankOf(j)} of={rankedCount} compact />,
              meta: isPlayJob(j) ? (
                <dl className="stats compact">
                  <div>
                    <dt>level</dt>
                    <dd>
                      <span className="badge level level-1">{levelBadge("command")}</span>
                    </dd>
                  </div>
                  <div>
                    <dt>training</dt>
                    <dd>none</dd>
                  </div>
                  {j.model_id && (
                    <div>
                      <dd>
                        <a href={href.live(j.model_id)}>live view →</a>
                      </dd>
                    </div>
                  )}
                </dl>
              ) : (
                <dl className="stats compact">
                  <div>
                    <dt>eval reward</dt>
                    <dd>
                      {formatNumber(j.progress?.eval_reward_mean)}{" "}
                      {!byRank && best?.id === j.id && rated.length > 1 && <span className="badge good">best</span>}
                    </dd>
                  </div>
                  <div>
                    <dt>steps</dt>
                    <dd>{formatSteps(j.progress?.step ?? j.total_steps)}</dd>
                  </div>
                  <div>
                    <dt>time</dt>
                    <dd>{formatDuration(j.progress?.elapsed_s)}</dd>
                  </div>
                  {j.model_id && (
                    <div>
                      <dd>
                        <a href={href.live(j.model_id)}>live view →</a>
                      </dd>
                    </div>
                  )}
                </dl>
              ),
            }))}
          />
        </section>
      )}
      {done && jobs.some((j) => j.status === "succeeded" && !j.video_url) && (
        <Busy label="Rendering videos…" hint=" a few seconds per approach" />
      )}

      <div className="jobs">
        {ordered.map((j) => (
          <JobPanel
            key={j.id}
            job={j}
            onUpdate={update}
            live={!!live[j.id]}
            check={verdictOf(j)}
            rank={rankOf(j)}
            of={rankedCount}
          />
        ))}
      </div>
    </section>
  );
}

/** Jobs best first by their batch rank (1 = best); jobs the ranking lacks keep their order, after the rest. */
export function orderByRank<T extends { id: string }>(jobs: readonly T[], ranked: ReadonlyMap<string, { rank?: number | null }>): T[] {
  const rank = (j: T) => ranked.get(j.id)?.rank ?? Infinity;
  return [...jobs].sort((a, b) => (rank(a) === rank(b) ? 0 : rank(a) < rank(b) ? -1 : 1));
}
