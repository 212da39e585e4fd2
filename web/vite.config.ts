/// <reference types="vitest/config" />
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

// The API server (`uv run tabrl serve`) for `npm run dev`; the built app is served by the server itself.
const api = process.env.TABRL_API ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  base: "./",
  build: {
    outDir: "dist",
    // MuJoCo's wasm (10 MB) and onnxruntime are big by nature; they load lazily on the live view.
    chunkSizeWarningLimit: 2000,
    assetsInlineLimit: 0,
  },
  optimizeDeps: { exclude: ["@mujoco/mujoco", "onnxruntime-web"] },
  server: {
    proxy: { "/api": { target: api, changeOrigin: true, ws: true } },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    testTimeout: 20000,
  },
});
