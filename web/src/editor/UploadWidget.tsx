/** LoadImage's upload button and preview of the chosen input image. */
import { useCallback, useEffect, useRef, useState } from 'react';
import { inputImageUrl, uploadImage } from '../api/client';
import { graphStore } from '../store/graphStore';
import { runStore } from '../store/runStore';
import type { InputDef } from '../workflow/nodeDefs';
import { refreshDefs } from './defsLoader';
import { MaskEditor } from './MaskEditor';

export function UploadWidget({ nodeId, input, value }: { nodeId: string; input: InputDef; value: unknown }) {
  const fileInput = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  // The chosen file could not be loaded (not in input/, e.g. a workflow from another machine).
  const [missing, setMissing] = useState<string | null>(null);
  useEffect(() => setMissing(null), [value]);
  const [masking, setMasking] = useState(false);
  const closeMask = useCallback(() => setMasking(false), []);
  const onFile = async (file: File | undefined) => {
    if (!file) return;
    setBusy(true);
    try {
      const name = await uploadImage(file);
      await refreshDefs();
      graphStore.setWidget(nodeId, input.name, name);
    } catch (e) {
      runStore.notify(`Upload failed: ${(e as Error).message}`, 'error');
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="lg-upload nodrag">
      <button onClick={() => fileInput.current?.click()} disabled={busy}>
        {busy ? 'uploading…' : 'choose file to upload'}
      </button>
      {typeof value === 'string' && value && missing !== value && <button onClick={() => setMasking(true)}>edit mask</button>}
      {masking && typeof value === 'string' && <MaskEditor nodeId={nodeId} input={input.name} value={value} onClose={closeMask} />}
      <input ref={fileInput} type="file" accept="image/*" hidden onChange={(e) => onFile(e.target.files?.[0])} />
      {typeof value === 'string' && value && missing !== value && (
        <img className="lg-upload-preview" src={inputImageUrl(value)} alt={value} onError={() => setMissing(value)} />
      )}
      {typeof value === 'string' && value && missing === value && (
        <div className="lg-upload-missing" role="status">
          Image file not found: <b>{value}</b> is not in the input folder. Upload it or choose another file.
        </div>
      )}
    </div>
  );
}
