import { describe, expect, it, vi } from 'vitest';
import { MESSAGE_MS, RunStore } from './runStore';

describe('run state from WebSocket events', () => {
  it('follows a run: executing, progress, previews, outputs, done', () => {
    const run = new RunStore();
    run.handleEvent('status', { status: { exec_info: { queue_remaining: 1 } } });
    expect(run.get().queueRemaining).toBe(1);
    run.handleEvent('execution_start', { prompt_id: 'p1' });
    run.handleEvent('execution_cached', { nodes: ['4'], prompt_id: 'p1' });
    run.handleEvent('executing', { node: '3', display_node: '3', prompt_id: 'p1' });
    expect(run.get().executing).toBe('3');
    run.handleEvent('progress', { value: 2, max: 20, node: '3', prompt_id: 'p1' });
    expect(run.get().progress).toEqual({ value: 2, max: 20, node: '3' });
    run.handleBinary({ kind: 'preview', mime: 'image/jpeg', image: new Uint8Array([1, 2, 3]) });
    expect(run.get().previews['3']).toMatch(/^blob:/);
    run.handleEvent('executing', { node: '9', prompt_id: 'p1' });
    run.handleEvent('executed', { node: '9', output: { images: [{ filename: 'a.png', subfolder: '', type: 'output' }] }, prompt_id: 'p1' });
    expect(run.get().outputs['9'].images).toHaveLength(1);
    expect(run.get().nodeStates).toEqual({ '4': 'cached', '3': 'done', '9': 'done' });
    run.handleEvent('executing', { node: null, prompt_id: 'p1' });
    expect(run.get().executing).toBeNull();
    expect(run.get().previews).toEqual({});
    expect(run.get().outputs['9']).toBeDefined();
  });

  it('puts execution errors on the failing node', () => {
    const run = new RunStore();
    run.handleEvent('execution_error', {
      node_id: '5',
      node_type: 'IntMath',
      exception_type: 'ValueError',
      exception_message: 'division by zero',
    });
    expect(run.get().executionError).toEqual({ nodeId: '5', message: 'ValueError: division by zero' });
    expect(run.get().message?.kind).toBe('error');
  });
});

describe('message line', () => {
  it('dismisses itself: info sooner than errors, a newer message restarting the clock', () => {
    vi.useFakeTimers();
    try {
      const run = new RunStore();
      run.notify('saved');
      vi.advanceTimersByTime(MESSAGE_MS.info - 1);
      expect(run.get().message?.text).toBe('saved');
      vi.advanceTimersByTime(1);
      expect(run.get().message).toBeNull();
      run.notify('it broke', 'error');
      vi.advanceTimersByTime(MESSAGE_MS.info);
      expect(run.get().message?.text).toBe('it broke');
      run.notify('again', 'error');
      vi.advanceTimersByTime(MESSAGE_MS.error - 1);
      expect(run.get().message?.text).toBe('again');
      vi.advanceTimersByTime(1);
      expect(run.get().message).toBeNull();
    } finally {
      vi.useRealTimers();
    }
  });
});
