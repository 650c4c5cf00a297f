/**
 * The one way the editor uploads an image and puts it on a node: `uploadImageFile` posts a blob to
 * /upload/image (or /upload/mask with the image it masks) and answers the stored file or a message
 * that says what went wrong (the server's refusal with its error text, or no answer at all);
 * `uploadToImageNode` also refreshes the image lists and sets the stored name on a LoadImage-like
 * node (or a new LoadImage), in one undo step. A failed upload changes nothing in the graph; the
 * caller shows the message in its own words. Used by image paste and drop, "send to Load Image",
 * the A1111 img2img import and the mask editor.
 */
import { graphStore } from '../store/graphStore';
import { withUpdatedNode } from '../store/graphEditsNodes';
import { refreshDefs } from './defsLoader';
import { imageWidgetOf, NEW_IMAGE_NODE } from './imagePaste';

/** Where the upload goes: input/ unless told otherwise; a mask upload names the image it masks. */
export interface UploadTarget {
  subfolder?: string;
  type?: 'input' | 'temp' | 'output';
  /** The file name sent (defaults to the File's name, else "image.png"). */
  filename?: string;
  /** Upload to /upload/mask: the server keeps `originalRef`'s pixels with this image's alpha. */
  maskOf?: { filename: string; subfolder: string; type: string };
}

/** The file as the server stored it. */
export interface StoredImage {
  name: string;
  subfolder: string;
  type: string;
}

export type UploadResult = { ok: true; image: StoredImage; value: string } | { ok: false; message: string };

/** The value a LoadImage widget holds for a stored input image ("sub/name.png", or "name.png"). */
export function widgetValue(image: StoredImage): string {
  return image.subfolder ? `${image.subfolder}/${image.name}` : image.name;
}

/** The server's reason for refusing: ComfyUI-style JSON {"error": {type, message}} or plain text. */
async function refusalDetail(res: Response): Promise<string> {
  let text = '';
  try {
    text = (await res.text()).trim();
  } catch {
    return '';
  }
  try {
    const err = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof err === 'string') return err;
    if (err && typeof err === 'object') {
      const { type, message } = err as { type?: unknown; message?: unknown };
      return [type, message].filter((s) => typeof s === 'string' && s).join(': ');
    }
  } catch {
    /* not JSON: the text itself */
  }
  return text.startsWith('<') ? '' : text.slice(0, 300); // an HTML error page says nothing useful
}

/** Uploads `file`; the stored image, or `{ok: false, message}` naming the file and the reason. */
export async function uploadImageFile(file: Blob, target: UploadTarget = {}): Promise<UploadResult> {
  const filename = target.filename ?? ((file as File).name || 'image.png');
  const form = new FormData();
  form.append('image', file, filename);
  form.append('type', target.type ?? 'input');
  if (target.subfolder) form.append('subfolder', target.subfolder);
  if (target.maskOf) form.append('original_ref', JSON.stringify(target.maskOf));
  let res: Response;
  try {
    res = await fetch(target.maskOf ? '/upload/mask' : '/upload/image', { method: 'POST', body: form });
  } catch (e) {
    return { ok: false, message: `${filename} could not be sent: the server did not answer (${(e as Error).message})` };
  }
  if (!res.ok) {
    const detail = await refusalDetail(res);
    return { ok: false, message: `the server refused ${filename} (HTTP ${res.status}${detail ? ` ${detail}` : ''})` };
  }
  try {
    const data = (await res.json()) as Partial<StoredImage>;
    if (typeof data.name !== 'string' || !data.name) throw new Error('no name');
    const image = { name: data.name, subfolder: data.subfolder ?? '', type: data.type ?? target.type ?? 'input' };
    return { ok: true, image, value: widgetValue(image) };
  } catch {
    return { ok: false, message: `the server's answer to the upload of ${filename} could not be read` };
  }
}

/** Where `uploadToImageNode` puts the image: node `nodeId`, or a new LoadImage at `at` when null. */
export interface ImageNodeTarget {
  nodeId: string | null;
  at?: { x: number; y: number };
  /** The widget set (defaults to the node's image upload widget). */
  widget?: string;
  /** The widget's value for the stored image (defaults to `widgetValue`). */
  valueFor?: (image: StoredImage) => string;
}

export type NodeUploadResult = { ok: true; nodeId: string; value: string } | { ok: false; message: string };

/**
 * Uploads `file`, refreshes the image lists and sets the stored name on the node (one undo step);
 * on any failure the graph is left as it was and the message says why.
 */
export async function uploadToImageNode(file: Blob, node: ImageNodeTarget, target: UploadTarget = {}): Promise<NodeUploadResult> {
  const up = await uploadImageFile(file, target);
  if (!up.ok) return up;
  await refreshDefs(); // the new file joins the image lists
  const value = node.valueFor ? node.valueFor(up.image) : up.value;
  const where = `${up.image.type}/${up.value}`;
  const { defs } = graphStore.get();
  if (node.nodeId === null) {
    const widget = node.widget ?? defs[NEW_IMAGE_NODE]?.inputs.find((i) => i.upload)?.name ?? 'image';
    const id = graphStore.addNode(NEW_IMAGE_NODE, node.at ?? { x: 0, y: 0 }, undefined, { [widget]: value });
    if (id === null) return { ok: false, message: `uploaded ${where}, but this server has no ${NEW_IMAGE_NODE} node to show it` };
    return { ok: true, nodeId: id, value };
  }
  const existing = graphStore.node(node.nodeId);
  const widget = existing && (node.widget ?? imageWidgetOf(existing, defs));
  if (!widget) return { ok: false, message: `uploaded ${where}, but the node it was meant for is gone` };
  const id = node.nodeId;
  graphStore.commit({ nodes: withUpdatedNode(graphStore.get().nodes, id, (n) => ({ ...n, widgets: { ...n.widgets, [widget]: value } })) });
  return { ok: true, nodeId: id, value };
}
