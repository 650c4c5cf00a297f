/** What a node shows of the run: the live latent preview and the `ui` output (images, text). */
import { viewUrl } from '../api/client';
import type { ImageRef } from '../api/types';
import { runStore } from '../store/runStore';
import { useStore } from '../store/store';

export function NodeOutputs({ nodeId }: { nodeId: string }) {
  const preview = useStore(runStore, (s) => s.previews[nodeId]);
  const output = useStore(runStore, (s) => s.outputs[nodeId]);
  if (!preview && !output) return null;
  const images = (output?.images ?? []) as ImageRef[];
  const texts = (output?.text ?? output?.string ?? []) as unknown[];
  const others = Object.entries(output ?? {}).filter(([k]) => !['images', 'text', 'string', 'animated'].includes(k));
  return (
    <div className="lg-outputs-view nodrag">
      {preview && <img className="lg-preview" src={preview} alt="latent preview" />}
      {images.map((img, i) => (
        <a key={i} href={viewUrl(img)} target="_blank" rel="noreferrer">
          <img className="lg-output-image" src={viewUrl(img)} alt={img.filename} />
        </a>
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
