/** What a node shows of the run: the live latent preview and the `ui` output (images, text). */
import { viewUrl } from '../api/client';
import { runStore } from '../store/runStore';
import { useStore } from '../store/store';
import { outputImages } from '../workflow/gallery';
import { imageHandlers } from './ImageViewer';

export function NodeOutputs({ nodeId }: { nodeId: string }) {
  const preview = useStore(runStore, (s) => s.previews[nodeId]);
  const output = useStore(runStore, (s) => s.outputs[nodeId]);
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
