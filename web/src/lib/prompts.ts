/** Prompt suggestions from the product brief: people should feel invited to try funny ones. */
export const FUN_PROMPTS: readonly string[] = [
  "Keep shaking your hips aloha dude!",
  "Walk like you're on the moon",
  "Do the robot dance from the 80s",
  "Pretend you're a happy puppy",
  "Breakdance with style",
];

/** Sensible starters per scene category, shown before the fun ones. */
export const CATEGORY_PROMPTS: Record<string, readonly string[]> = {
  classic_control: ["Keep the pole perfectly upright", "Balance, then wiggle gently side to side"],
  locomotion: ["Walk forward steadily", "Trot in place with high knees"],
  manipulation: ["Lift the object gently", "Wave hello"],
};

export function suggestionsFor(category: string | undefined): string[] {
  return [...(CATEGORY_PROMPTS[category ?? ""] ?? []), ...FUN_PROMPTS];
}
