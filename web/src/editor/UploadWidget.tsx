/** LoadImage's upload button and preview of the chosen input image. */
import { useRef, useState } from 'react';
import { inputImageUrl, uploadImage } from '../api/client';
import { graphStore } from '../store/graphStore';
import { runStore } from '../store/runStore';
import type { InputDef } from '../workflow/nodeDefs';
import { refreshDefs } from './defsLoader';

export function UploadWidget({ nodeId, input, value }: { nodeId: string; input: InputDef; value: unknown }) {
  const fileInput = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
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
      <input ref={fileInput} type="file" accept="image/*" hidden onChange={(e) => onFile(e.target.files?.[0])} />
      {typeof value === 'string' && value && <img className="lg-upload-preview" src={inputImageUrl(value)} alt={value} />}
    </div>
  );
}
