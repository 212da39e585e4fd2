/**
 * Videos side by side with one set of controls: play / pause / seek / loop drive every video together.
 * The longest video is the clock; the others are nudged back whenever they drift more than 0.15 s.
 */
import { useCallback, useEffect, useRef, useState, type ReactNode } from "react";
import { formatDuration } from "../lib/format";

export type VideoItem = {
  key: string;
  title: string;
  src: string;
  downloadName: string;
  /** how it did: e.g. its success-check verdict and rank */
  verdict?: ReactNode;
  meta?: ReactNode;
};

const DRIFT_S = 0.15;

export function VideoGrid({ items }: { items: readonly VideoItem[] }) {
  const refs = useRef<Map<string, HTMLVideoElement>>(new Map());
  const [playing, setPlaying] = useState(false);
  const [loop, setLoop] = useState(true);
  const [time, setTime] = useState(0);
  const [duration, setDuration] = useState(0);
  const [errors, setErrors] = useState<Record<string, string>>({});

  const videos = () => [...refs.current.values()];
  const clock = () => videos().reduce<HTMLVideoElement | null>((a, v) => (!a || v.duration > a.duration ? v : a), null);

  const seekAll = useCallback((t: number) => {
    for (const v of videos()) v.currentTime = Math.min(t, Number.isFinite(v.duration) ? v.duration : t);
    setTime(t);
  }, []);

  const play = useCallback(async () => {
    const c = clock();
    if (c && c.ended) seekAll(0);
    const t = c?.currentTime ?? 0;
    for (const v of videos()) if (Math.abs(v.currentTime - t) > DRIFT_S && t <= v.duration) v.currentTime = t;
    setPlaying(true);
    await Promise.all(videos().map((v) => v.play().catch(() => undefined)));
  }, [seekAll]);

  const pause = useCallback(() => {
    for (const v of videos()) v.pause();
    setPlaying(false);
  }, []);

  // Clock ticks: follow the longest video; keep the rest in step; loop all together.
  useEffect(() => {
    let raf = 0;
    const tick = () => {
      const c = clock();
      if (c) {
        setTime(c.currentTime);
        if (playing)
          for (const v of videos())
            if (v !== c && !v.ended && c.currentTime < v.duration && Math.abs(v.currentTime - c.currentTime) > DRIFT_S)
              v.currentTime = c.currentTime;
        if (playing && c.ended) {
          if (loop) {
            seekAll(0);
            for (const v of videos()) void v.play().catch(() => undefined);
          } else setPlaying(false);
        }
      }
      raf = requestAnimationFrame(tick);
    };
    raf = requestAnimationFrame(tick);
    return () => cancelAnimationFrame(raf);
  }, [playing, loop, seekAll]);

  if (items.length === 0) return null;
  return (
    <div className="video-grid-wrap">
      <div className="video-controls" role="group" aria-label="Playback for all videos">
        <button type="button" className="btn primary" onClick={() => (playing ? pause() : void play())}>
          {playing ? "❚❚ Pause all" : "▶ Play all"}
        </button>
        <input
          type="range"
          className="seek"
          aria-label="Seek all videos"
          min={0}
          max={duration || 0}
          step={0.01}
          value={Math.min(time, duration || 0)}
          onChange={(e) => seekAll(Number(e.target.value))}
        />
        <span className="muted time" aria-live="off">
          {formatDuration(time)} / {formatDuration(duration)}
        </span>
        <label className="check">
          <input type="checkbox" checked={loop} onChange={(e) => setLoop(e.target.checked)} /> Loop
        </label>
      </div>
      <div className="video-grid">
        {items.map((it) => (
          <figure key={it.key} className="video-card">
            <video
              ref={(el) => {
                if (el) refs.current.set(it.key, el);
                else refs.current.delete(it.key);
              }}
              src={it.src}
              muted
              playsInline
              preload="auto"
              data-testid="result-video"
              onLoadedMetadata={() => setDuration(Math.max(0, ...videos().map((v) => v.duration || 0)))}
              onError={() => setErrors((e) => ({ ...e, [it.key]: "This video could not be loaded or decoded." }))}
            />
            <figcaption>
              <div className="video-title">
                <strong>{it.title}</strong>
                <a className="btn small" href={it.src} download={it.downloadName}>
                  ↓ Download
                </a>
              </div>
              {errors[it.key] && (
                <div className="error" role="alert">
                  {errors[it.key]}
                </div>
              )}
              {it.verdict}
              {it.meta}
            </figcaption>
          </figure>
        ))}
      </div>
    </div>
  );
}
