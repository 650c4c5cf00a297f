/**
 * What a node shows of the run: the live latent preview and the `ui` output (images, text). A
 * subgraph instance shows those of the nodes inside it; inside a subgraph, results are found under
 * the prompt's "<instance>:<inner>" ids (see nodeOutputIds.ts).
 */
import { useMemo } from 'react';
import { viewUrl } from '../api/client';
import { outputsOnNode, previewOnNode } from '../store/nodeOutputIds';
import { runStore } from '../store/runStore';
import { useStore } from '../store/store';
import { subgraphNav } from '../store/subgraphNav';
import { outputImages } from '../workflow/gallery';
import { imageHandlers } from './ImageViewer';

export function NodeOutputs({ nodeId }: { nodeId: string }) {
  const frames = useStore(subgraphNav, (s) => s.frames);
  const path = useMemo(() => frames.map((f) => f.instanceId), [frames]);
  const outputs = useStore(runStore, (s) => s.outputs);
  // A string: nodes re-render only when their own preview changes, not on every preview frame.
  const preview = useStore(runStore, (s) => previewOnNode(s.previews, path, nodeId));
  const output = useMemo(() => outputsOnNode(outputs, path, nodeId), [outputs, path, nodeId]);
  if (!preview && !output) return null;
  const images = outputImages(output);
  const texts = (output?.text ?? output?.string ?? []) as unknown[];
  const others = Object.entries(output ?? {}).filter(([k]) => !['images', 'text', 'string', 'animated'].includes(k));
  return (
    <div className="lg-outputs-view nodrag">
      {preview && <img className="lg-preview" src={preview} alt="latent preview" />}
      {images.map((img, i) => (
        <img key={i} className="lg-output-image" src={viewUrl(img)} alt={img.filename} {...imageHandlers(images, i)} />
      ))}
      {texts.map((t, i) => (
        <pre key={i} className="lg-output-text">
          {typeof t === 'string' ? t : JSON.stringify(t)}
        </pre>
      ))}
      {others.map(([k, v]) => (
        <pre key={k} className="lg-output-text">
          {k}: {JSON.stringify(v)}
        </pre>
      ))}
    </div>
  );
}
