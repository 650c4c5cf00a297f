import { describe, expect, it } from 'vitest';
import type { ObjectInfo } from '../api/types';
import { parseObjectInfo } from '../workflow/nodeDefs';
import { buildNodeTree } from './nodeTree';

const info = (category: string, display: string) => ({ input: {}, output: [], name: display, display_name: display, category });
const defs = parseObjectInfo({
  KSampler: info('sampling', 'KSampler'),
  VAEDecode: info('latent', 'VAE Decode'),
  VAEDecodeTiled: info('_for_testing', 'VAE Decode (Tiled)'),
  VAEEncode: info('latent', 'VAE Encode'),
  ImageOnlyCheckpointLoader: info('loaders/video_models', 'Image Only Checkpoint Loader'),
  CheckpointLoaderSimple: info('loaders', 'Load Checkpoint'),
} as unknown as ObjectInfo).defs;

describe('the node library tree', () => {
  it('puts each node type in the folder its category path names, alphabetically', () => {
    const tree = buildNodeTree(defs);
    expect(tree.folders.map((f) => f.name)).toEqual(['_for_testing', 'latent', 'loaders', 'sampling']);
    const loaders = tree.folders.find((f) => f.name === 'loaders')!;
    expect(loaders.nodes.map((n) => n.name)).toEqual(['CheckpointLoaderSimple']);
    expect(loaders.folders[0]).toMatchObject({ path: 'loaders/video_models', name: 'video_models', count: 1 });
    expect(loaders.count).toBe(2);
    expect(tree.count).toBe(6);
    expect(tree.folders.find((f) => f.name === 'latent')!.nodes.map((n) => n.displayName)).toEqual(['VAE Decode', 'VAE Encode']);
  });

  it('keeps only what the add-node search finds, best match first', () => {
    const tree = buildNodeTree(defs, 'vae dec');
    expect(tree.count).toBe(2);
    expect(tree.folders.map((f) => f.name)).toEqual(['_for_testing', 'latent']);
    expect(tree.folders.find((f) => f.name === 'latent')!.nodes.map((n) => n.name)).toEqual(['VAEDecode']);
    expect(buildNodeTree(defs, 'zzz').count).toBe(0);
  });
});
