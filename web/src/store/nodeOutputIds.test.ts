/** Run results by prompt id shown on the canvas node they belong to, inside and outside subgraphs. */
import { describe, expect, it } from 'vitest';
import { errorsOnNode, outputsOnNode, previewOnNode, promptIdOf, runIdOnNode } from './nodeOutputIds';

const img = (filename: string) => ({ filename, subfolder: '', type: 'output' });
const outputs = {
  '9': { images: [img('top.png')] },
  '10:9': { images: [img('inner.png')] },
  '10:3:5': { images: [img('nested.png')], text: ['hi'] },
  '100': { images: [img('other.png')] },
};

describe('run results on canvas nodes', () => {
  it('gives a root node its own results', () => {
    expect(outputsOnNode(outputs, [], '9')).toBe(outputs['9']);
    expect(outputsOnNode(outputs, [], '4')).toBeUndefined();
  });

  it('shows the images of every node inside an instance on the instance (not those of node 100)', () => {
    expect(outputsOnNode(outputs, [], '10')).toEqual({ images: [img('inner.png'), img('nested.png')], text: ['hi'] });
  });

  it('inside an instance, maps the inner ids; nested instances show their inside', () => {
    expect(promptIdOf(['10'], '9')).toBe('10:9');
    expect(outputsOnNode(outputs, ['10'], '9')).toBe(outputs['10:9']);
    expect(outputsOnNode(outputs, ['10'], '3')).toEqual(outputs['10:3:5']);
    expect(outputsOnNode(outputs, ['10', '3'], '5')).toBe(outputs['10:3:5']);
    expect(outputsOnNode(outputs, ['10', '3'], '9')).toBeUndefined();
  });

  it('finds previews the same way', () => {
    const previews = { '10:3': 'blob:a', '7': 'blob:b' };
    expect(previewOnNode(previews, [], '10')).toBe('blob:a');
    expect(previewOnNode(previews, ['10'], '3')).toBe('blob:a');
    expect(previewOnNode(previews, [], '1')).toBeUndefined();
    expect(previewOnNode(previews, [], '7')).toBe('blob:b');
  });
});

describe('run state on canvas nodes', () => {
  it('marks an instance while a node inside it runs, and the inner node when the subgraph is open', () => {
    expect(runIdOnNode('10:9', [], '10')).toBe(true);
    expect(runIdOnNode('10:3:5', [], '10')).toBe(true);
    expect(runIdOnNode('10:9', ['10'], '9')).toBe(true);
    expect(runIdOnNode('10:9', [], '1')).toBe(false);
    expect(runIdOnNode('100:9', [], '10')).toBe(false);
    expect(runIdOnNode('10', ['10'], '10')).toBe(false);
    expect(runIdOnNode(null, [], '10')).toBe(false);
  });

  it('shows an inner node’s validation errors on its instance, its own first', () => {
    const errors = { '10:9': 'bad seed', '4': 'no model' };
    expect(errorsOnNode(errors, [], '10')).toBe('bad seed');
    expect(errorsOnNode(errors, ['10'], '9')).toBe('bad seed');
    expect(errorsOnNode(errors, [], '4')).toBe('no model');
    expect(errorsOnNode(errors, [], '7')).toBeUndefined();
    expect(errorsOnNode({ ...errors, '10': 'own' }, [], '10')).toBe('own');
  });
});
