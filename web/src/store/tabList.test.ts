import { describe, expect, it } from 'vitest';
import { closeTabIn, nextTabId, tabDirty, untitledName } from './tabList';

const tabs = [1, 2, 3].map((id) => ({ id, name: `w${id}` }));

describe('closeTabIn', () => {
  it('keeps the active tab when another one closes', () => {
    const r = closeTabIn(tabs, 2, 3);
    expect(r.tabs.map((t) => t.id)).toEqual([1, 2]);
    expect(r.activeId).toBe(2);
  });
  it('activates the right neighbour when the active tab closes', () => {
    expect(closeTabIn(tabs, 2, 2).activeId).toBe(3);
  });
  it('activates the left neighbour when the last tab was active', () => {
    expect(closeTabIn(tabs, 3, 3).activeId).toBe(2);
  });
  it('reports no active tab when the only one closes', () => {
    expect(closeTabIn([tabs[0]], 1, 1)).toEqual({ tabs: [], activeId: null });
  });
  it('ignores an unknown id', () => {
    expect(closeTabIn(tabs, 1, 9)).toEqual({ tabs, activeId: 1 });
  });
});

describe('untitledName and nextTabId', () => {
  it('numbers untitled tabs without clashing', () => {
    expect(untitledName([])).toBe('Untitled');
    expect(untitledName(['Untitled', 'Untitled 2', 'x'])).toBe('Untitled 3');
    expect(untitledName(['Untitled 2'])).toBe('Untitled');
  });
  it('gives a fresh id', () => {
    expect(nextTabId(tabs)).toBe(4);
    expect(nextTabId([])).toBe(1);
  });
  it('marks a tab dirty when its revision moved', () => {
    expect(tabDirty(3, 3)).toBe(false);
    expect(tabDirty(4, 3)).toBe(true);
  });
});
