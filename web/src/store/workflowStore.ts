/** Which workflow is open (its name, and its saved file when it came from or went to the library) and whether it changed since. */
import { graphStore } from './graphStore';
import { Store } from './store';

export interface OpenWorkflow {
  name: string;
  /** Path inside user/<user>/workflows when saved there. */
  file: string | null;
  /** graphStore's revision when it was opened or saved. */
  savedRevision: number;
}

export const workflowStore = new Store<OpenWorkflow>({ name: 'Unsaved workflow', file: null, savedRevision: 0 });

/** Marks the current graph as opened or saved under `name`. */
export function markSaved(name: string, file: string | null): void {
  workflowStore.set({ name, file, savedRevision: graphStore.get().revision });
}
