import { describe, expect, it } from 'vitest';
import type { UiOutput } from '../api/types';
import { RunStore } from '../store/runStore';
import { outputsQueuedFrom } from './appForm';

const image = (filename: string) => ({ images: [{ filename, subfolder: '', type: 'output' }] }) as unknown as UiOutput;

describe('app view outputs of this tab only', () => {
  it('keeps the outputs of runs queued from this tab and leaves out another tab’s, whatever the node ids', () => {
    const run = new RunStore();
    run.recordQueued('p1', 1);
    run.recordQueued('p2', 2);
    run.handleEvent('executed', { node: '9', output: image('tab1.png'), prompt_id: 'p1' });
    run.handleEvent('executed', { node: '10', output: image('tab1-b.png'), prompt_id: 'p1' });
    run.handleEvent('executed', { node: '9', output: image('tab2.png'), prompt_id: 'p2' }); // same node id, other tab
    const { outputs, queuedFrom } = run.get();
    expect(Object.keys(outputsQueuedFrom(outputs, 1, run.promptOfOutput, queuedFrom))).toEqual(['10']);
    expect(outputsQueuedFrom(outputs, 2, run.promptOfOutput, queuedFrom)).toEqual({ '9': image('tab2.png') });
  });

  it('shows a run’s outputs once its queueing is recorded, even when they came first', () => {
    const run = new RunStore();
    run.handleEvent('executed', { node: '9', output: image('early.png'), prompt_id: 'p7' });
    expect(outputsQueuedFrom(run.get().outputs, 1, run.promptOfOutput, run.get().queuedFrom)).toEqual({});
    run.recordQueued('p7', 1);
    expect(outputsQueuedFrom(run.get().outputs, 1, run.promptOfOutput, run.get().queuedFrom)).toEqual({ '9': image('early.png') });
  });

  it('leaves out outputs of runs this page did not queue, or without a prompt id', () => {
    const run = new RunStore();
    run.handleEvent('executed', { node: '9', output: image('elsewhere.png'), prompt_id: 'other-client' });
    run.handleEvent('executed', { node: '3', output: image('anonymous.png') });
    expect(outputsQueuedFrom(run.get().outputs, 1, run.promptOfOutput, run.get().queuedFrom)).toEqual({});
  });

  it('follows outputs parked with a tab and put back (the same objects)', () => {
    const run = new RunStore();
    run.recordQueued('p1', 1);
    run.handleEvent('executed', { node: '9', output: image('tab1.png'), prompt_id: 'p1' });
    const parked = run.get().outputs;
    run.set({ outputs: {} }); // tab 2 becomes active
    run.recordQueued('p2', 2);
    run.handleEvent('executed', { node: '9', output: image('tab2.png'), prompt_id: 'p2' });
    run.set({ outputs: parked }); // back on tab 1
    expect(outputsQueuedFrom(run.get().outputs, 1, run.promptOfOutput, run.get().queuedFrom)).toEqual({ '9': image('tab1.png') });
  });
});
