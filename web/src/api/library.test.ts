import { describe, expect, it } from 'vitest';
import { workflowFileName } from './library';

describe('saved workflow names', () => {
  it('become one file name in the workflows folder', () => {
    expect(workflowFileName('  my flow ')).toBe('my flow.json');
    expect(workflowFileName('inpaint.JSON')).toBe('inpaint.json');
    expect(workflowFileName('../a/b:c')).toBe('_a_b_c.json');
  });
  it('refuses an empty name', () => {
    expect(() => workflowFileName('  ')).toThrow('A workflow needs a name');
    expect(() => workflowFileName('.json')).toThrow('A workflow needs a name');
  });
});
