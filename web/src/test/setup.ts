import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach, vi } from "vitest";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  if (typeof sessionStorage !== "undefined") sessionStorage.clear();
  if (typeof window !== "undefined") window.location.hash = "";
});

// jsdom has no layout: CodeMirror measures text ranges; give it empty rectangles.
if (typeof Range !== "undefined") {
  const empty = { length: 0, item: () => null, [Symbol.iterator]: function* () {} };
  Range.prototype.getClientRects = () => empty as unknown as DOMRectList;
  Range.prototype.getBoundingClientRect = () => new DOMRect(0, 0, 0, 0);
}
