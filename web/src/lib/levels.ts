/**
 * The progressive strategy in words: level 1 plays a command program on a joystick base policy (instant),
 * level 2 fine-tunes a base policy (minutes), level 3 trains from scratch (as long as it takes).
 */
import { formatEstimate } from "./format";

export type Level = "command" | "fine_tune" | "from_scratch";
export type Budget = "instant" | "minutes" | "unlimited";

export const BUDGETS: readonly Budget[] = ["instant", "minutes", "unlimited"];
export const BUDGET_LABEL: Record<Budget, string> = {
  instant: "Instant",
  minutes: "A few minutes",
  unlimited: "As long as it takes",
};

const LEVEL_NUMBER: Record<string, number> = { command: 1, fine_tune: 2, from_scratch: 3 };

export function levelNumber(level: string | null | undefined): number {
  return LEVEL_NUMBER[level ?? ""] ?? 3;
}

/** "Level 1 · plays instantly", "Level 2 · fine-tune go1-joystick", "Level 3 · from scratch". */
export function levelBadge(level: string | null | undefined, baseId?: string | null): string {
  switch (level) {
    case "command":
      return "Level 1 · plays instantly";
    case "fine_tune":
      return `Level 2 · fine-tune${baseId ? ` ${baseId}` : " a base policy"}`;
    default:
      return "Level 3 · from scratch";
  }
}

/** How a model in the library was made, in a few words. */
export function levelSummary(level: string | null | undefined): string {
  switch (level) {
    case "command":
      return "Level 1 · command program";
    case "fine_tune":
      return "Level 2 · fine-tuned";
    default:
      return "Level 3 · from scratch";
  }
}

/** "instant" for a command program (or 0 s), else a rounded estimate ("about 3 min"). */
export function formatLevelEstimate(level: string | null | undefined, seconds: number | null | undefined): string {
  if (level === "command" || seconds === 0) return "instant";
  return formatEstimate(seconds);
}
