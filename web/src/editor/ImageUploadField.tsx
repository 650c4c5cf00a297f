/**
 * An image upload button with a preview of the chosen input image, or a notice when that file is not in
 * the input folder. Shared by LoadImage's own widget (UploadWidget) and a promoted LoadImage `image`
 * widget on a subgraph instance (PromotedUpload); `onUploaded` stores the uploaded file's name where
 * each of them keeps its value, and `tools` (e.g. the mask editor button) show while the file loads.
 */
import { type ReactNode, useEffect, useRef, useState } from 'react';
import { inputImageUrl } from '../api/client';
import { runStore } from '../store/runStore';
import { refreshDefs } from './defsLoader';
import { uploadImageFile } from './imageUpload';

export function ImageUploadField({ value, onUploaded, tools }: { value: unknown; onUploaded: (name: string) => void; tools?: ReactNode }) {
  const fileInput = useRef<HTMLInputElement>(null);
  const [busy, setBusy] = useState(false);
  // The chosen file could not be loaded (not in input/, e.g. a workflow from another machine).
  const [missing, setMissing] = useState<string | null>(null);
  useEffect(() => setMissing(null), [value]);
  const onFile = async (file: File | undefined) => {
    if (!file) return;
    setBusy(true);
    try {
      const uploaded = await uploadImageFile(file);
      if (!uploaded.ok) {
        runStore.notify(`Upload failed: ${uploaded.message}`, 'error');
        return;
      }
      await refreshDefs();
      onUploaded(uploaded.value);
    } finally {
      setBusy(false);
    }
  };
  const shown = typeof value === 'string' && value ? value : null;
  return (
    <div className="lg-upload nodrag">
      <button onClick={() => fileInput.current?.click()} disabled={busy}>
        {busy ? 'uploading…' : 'choose file to upload'}
      </button>
      {shown && missing !== shown && tools}
      <input ref={fileInput} type="file" accept="image/*" hidden onChange={(e) => onFile(e.target.files?.[0])} />
      {shown && missing !== shown && (
        <img className="lg-upload-preview" src={inputImageUrl(shown)} alt={shown} onError={() => setMissing(shown)} />
      )}
      {shown && missing === shown && (
        <div className="lg-upload-missing" role="status">
          Image file not found: <b>{shown}</b> is not in the input folder. Upload it or choose another file.
        </div>
      )}
    </div>
  );
}
