/** What the image context menu does: open, download, copy, and send an output to a LoadImage node. */
import { viewUrl } from '../api/client';
import { runStore } from '../store/runStore';
import type { ImageRefLike } from '../workflow/gallery';
import { uploadToImageNode } from './imageUpload';
import { viewport } from './viewport';

export function openInNewTab(image: ImageRefLike): void {
  window.open(viewUrl(image), '_blank', 'noopener');
}

export function downloadImage(image: ImageRefLike): void {
  const a = document.createElement('a');
  a.href = viewUrl(image);
  a.download = image.filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
}

/** Whether this browser can put an image on the clipboard (secure context with ClipboardItem). */
export function canCopyImage(): boolean {
  return typeof ClipboardItem !== 'undefined' && !!navigator.clipboard?.write;
}

async function fetchImage(image: ImageRefLike): Promise<Blob> {
  const res = await fetch(viewUrl(image));
  if (!res.ok) throw new Error(`${image.filename}: HTTP ${res.status}`);
  return res.blob();
}

export async function copyImage(image: ImageRefLike): Promise<void> {
  try {
    const blob = await fetchImage(image);
    // The clipboard takes PNG only; outputs are PNG, others are re-encoded through a canvas.
    const png = blob.type === 'image/png' ? blob : await toPng(blob);
    await navigator.clipboard.write([new ClipboardItem({ 'image/png': png })]);
    runStore.notify(`Copied ${image.filename}`);
  } catch (e) {
    runStore.notify(`Could not copy the image: ${(e as Error).message}`, 'error');
  }
}

async function toPng(blob: Blob): Promise<Blob> {
  const bitmap = await createImageBitmap(blob);
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  canvas.getContext('2d')!.drawImage(bitmap, 0, 0);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('PNG encoding failed'))), 'image/png'));
}

/**
 * Uploads the image into input/ and makes LoadImage node `nodeId` use it; with no node id a new
 * LoadImage is added in the middle of the view. Returns the node id, or null on failure.
 */
export async function sendToLoadImage(image: ImageRefLike, nodeId: string | null): Promise<string | null> {
  let blob: Blob;
  try {
    blob = await fetchImage(image);
  } catch (e) {
    runStore.notify(`Could not send the image: ${(e as Error).message}`, 'error');
    return null;
  }
  const at = nodeId ? undefined : (viewport.api?.toFlow({ x: window.innerWidth / 2, y: window.innerHeight / 2 }) ?? { x: 100, y: 100 });
  const file = new File([blob], image.filename, { type: blob.type || 'image/png' });
  const result = await uploadToImageNode(file, { nodeId, at, widget: 'image' });
  if (!result.ok) {
    runStore.notify(`Could not send the image: ${result.message}`, 'error');
    return null;
  }
  runStore.notify(`Sent ${image.filename} to LoadImage #${result.nodeId} as ${result.value}`);
  return result.nodeId;
}
