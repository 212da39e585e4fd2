/** The app shell: header with navigation and the server's device, then the routed page. */
import { api, unwrap } from "./api/client";
import { Batch } from "./pages/Batch";
import { Compose } from "./pages/Compose";
import { Gallery } from "./pages/Gallery";
import { Live } from "./pages/Live";
import { Models } from "./pages/Models";
import { href, useRoute, type Route } from "./lib/router";
import { useAsync } from "./lib/useAsync";

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case "gallery":
      return <Gallery />;
    case "compose":
      return <Compose key={route.sceneId} sceneId={route.sceneId} />;
    case "batch":
      return <Batch key={route.batchId} batchId={route.batchId} />;
    case "models":
      return <Models />;
    case "live":
      return <Live key={`${route.modelId}/${route.sceneId}`} modelId={route.modelId} sceneId={route.sceneId} />;
    default:
      return (
        <section>
          <h1>Nothing here</h1>
          <p className="muted">
            “{route.path}” is not a page. <a href={href.gallery()}>Go to the scene gallery.</a>
          </p>
        </section>
      );
  }
}

export function App() {
  const route = useRoute();
  const health = useAsync(async () => unwrap(await api.GET("/api/health"), "Contacting the server"), []);
  return (
    <>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <a className="logo" href={href.gallery()} aria-label="TabRL home">
          <span className="logo-mark">T</span> TabRL
        </a>
        <nav aria-label="Main">
          <a href={href.gallery()} aria-current={route.page === "gallery" || route.page === "compose" ? "page" : undefined}>
            Scenes
          </a>
          <a href={href.models()} aria-current={route.page === "models" ? "page" : undefined}>
            Models
          </a>
        </nav>
        <span
          className={`badge ${health.error ? "bad" : "neutral"}`}
          title={health.error ?? "Where training runs"}
          data-testid="health"
        >
          {health.error ? "server offline" : health.data ? `${health.data.device.toUpperCase()} · v${health.data.version}` : "…"}
        </span>
      </header>
      <main id="main" tabIndex={-1}>
        {health.error && (
          <div className="error" role="alert">
            {health.error} <button className="btn small" onClick={health.reload}>Retry</button>
          </div>
        )}
        <Page route={route} />
      </main>
    </>
  );
}
