/** Undo/redo stacks of immutable snapshots; consecutive edits with the same key coalesce. */
export class UndoHistory<T> {
  private undoStack: T[] = [];
  private redoStack: T[] = [];
  private lastKey: string | null = null;
  private lastTime = 0;

  constructor(private readonly limit = 200) {}

  /** Records `before` (the state before an edit). Same `key` within `windowMs` = same step. */
  record(before: T, key?: string, now = Date.now(), windowMs = 1500): void {
    if (key && key === this.lastKey && now - this.lastTime < windowMs) {
      this.lastTime = now;
      return;
    }
    this.undoStack.push(before);
    if (this.undoStack.length > this.limit) this.undoStack.shift();
    this.redoStack = [];
    this.lastKey = key ?? null;
    this.lastTime = now;
  }

  undo(current: T): T | undefined {
    const prev = this.undoStack.pop();
    if (prev !== undefined) this.redoStack.push(current);
    this.lastKey = null;
    return prev;
  }

  redo(current: T): T | undefined {
    const next = this.redoStack.pop();
    if (next !== undefined) this.undoStack.push(current);
    this.lastKey = null;
    return next;
  }

  get canUndo(): boolean {
    return this.undoStack.length > 0;
  }

  get canRedo(): boolean {
    return this.redoStack.length > 0;
  }
}
