// Shared pieces of the end-to-end scripts: a free port, the server's health, Chromium's flags.
import { createServer } from "node:net";

/** Flags for Debian's headless Chromium on a machine with no GPU and no sandbox. */
export const CHROMIUM_ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
  "--disable-sync", "--no-first-run", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
  "--autoplay-policy=no-user-gesture-required",
];

export function freePort() {
  return new Promise((res, rej) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => res(port));
    });
    s.on("error", rej);
  });
}

export async function waitForHealth(base, proc, timeoutS = 180) {
  const until = Date.now() + timeoutS * 1000;
  while (Date.now() < until) {
    if (proc && proc.exitCode != null) throw new Error(`the server exited early (code ${proc.exitCode})`);
    try {
      const r = await fetch(`${base}/api/health`);
      if (r.ok) return r.json();
    } catch {
      /* not up yet */
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`the server did not answer /api/health within ${timeoutS} s`);
}
