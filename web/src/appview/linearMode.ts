/**
 * Whether a workflow opens in the app view, stored where ComfyUI's frontend keeps it: the boolean
 * `extra.linearMode` (true: it opens in app mode, false: in the graph, absent: never chosen, the
 * graph). ComfyUI reads it into the workflow's `initialMode` on load and writes it when a workflow
 * is saved as an app or its default view is set. Pure functions on `extra`.
 */

export const LINEAR_MODE_KEY = 'linearMode';

/** True when the workflow was saved in the app view. */
export function savedInAppView(extra: Record<string, unknown>): boolean {
  return extra[LINEAR_MODE_KEY] === true;
}

/**
 * `extra` recording the view the workflow is shown in: `linearMode: true` for the app view; for the
 * graph `false`, or nothing when the workflow never named a view (unchanged when already so).
 */
export function withViewMode(extra: Record<string, unknown>, appView: boolean): Record<string, unknown> {
  const stored = extra[LINEAR_MODE_KEY];
  if (appView) return stored === true ? extra : { ...extra, [LINEAR_MODE_KEY]: true };
  return stored === undefined || stored === false ? extra : { ...extra, [LINEAR_MODE_KEY]: false };
}
