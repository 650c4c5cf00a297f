import { describe, expect, it } from 'vitest';
import { formatDuration, lightboxAction, loadImageTargets, outputImages, runDurationMs, runImages, stepIndex } from './gallery';
import type { EditorGraph, EditorNode } from './types';

describe('stepIndex', () => {
  it('wraps around both ends of the batch', () => {
    expect(stepIndex(0, 1, 3)).toBe(1);
    expect(stepIndex(2, 1, 3)).toBe(0);
    expect(stepIndex(0, -1, 3)).toBe(2);
    expect(stepIndex(0, 1, 0)).toBe(0);
  });
});

describe('lightboxAction', () => {
  it('maps arrows and Escape, ignores other keys', () => {
    expect(lightboxAction('ArrowRight')).toBe('next');
    expect(lightboxAction('ArrowLeft')).toBe('previous');
    expect(lightboxAction('Escape')).toBe('close');
    expect(lightboxAction('a')).toBeNull();
  });
});

describe('output images', () => {
  it('keeps only entries with a file name', () => {
    const out = { images: [{ filename: 'a.png', type: 'output' }, null, { nope: 1 }] as unknown[] };
    expect(outputImages(out)).toEqual([{ filename: 'a.png', type: 'output' }]);
    expect(outputImages(undefined)).toEqual([]);
  });
  it('collects the images of every node of a run', () => {
    const outputs = { '9': { images: [{ filename: 'a.png' }] }, '10': { text: ['x'] }, '11': { images: [{ filename: 'b.png' }] } };
    expect(runImages(outputs).map((i) => i.filename)).toEqual(['a.png', 'b.png']);
  });
});

describe('loadImageTargets', () => {
  it('lists LoadImage nodes with their titles', () => {
    const node = (id: string, type: string, title: string) => ({ id, type, title }) as unknown as EditorNode;
    const graph = {
      nodes: [node('1', 'LoadImage', 'LoadImage'), node('2', 'KSampler', 'KSampler'), node('3', 'LoadImage', 'Init')],
    } as EditorGraph;
    expect(loadImageTargets(graph)).toEqual([
      { id: '1', label: 'LoadImage #1' },
      { id: '3', label: 'Init #3' },
    ]);
  });
});

describe('run durations', () => {
  it('measures from execution_start to the final message', () => {
    const messages: [string, Record<string, unknown>][] = [
      ['execution_start', { timestamp: 1000 }],
      ['execution_cached', { nodes: [], timestamp: 1001 }],
      ['execution_success', { timestamp: 3500 }],
    ];
    expect(runDurationMs(messages)).toBe(2500);
    expect(runDurationMs([['execution_error', { timestamp: 5 }]])).toBeNull();
    expect(runDurationMs(undefined)).toBeNull();
  });
  it('formats for people', () => {
    expect(formatDuration(850)).toBe('850 ms');
    expect(formatDuration(12340)).toBe('12.3 s');
    expect(formatDuration(125000)).toBe('2 min 05 s');
  });
});
