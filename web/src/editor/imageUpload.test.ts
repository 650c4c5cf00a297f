import { beforeEach, describe, expect, it, vi } from 'vitest';

const refreshDefs = vi.fn(async () => true);
vi.mock('./defsLoader', () => ({ refreshDefs }));
vi.mock('./files', () => ({ loadJson: vi.fn() }));

const { graphStore } = await import('../store/graphStore');
const { runStore } = await import('../store/runStore');
const { defsWithLoadImage } = await import('../workflow/testUtil');
const { uploadImageFile, uploadToImageNode } = await import('./imageUpload');
const { putImage } = await import('./imagePasteActions');

const defs = defsWithLoadImage;

const png = () => new File([new Uint8Array([137, 80, 78, 71])], 'cat.png', { type: 'image/png' });

interface Sent {
  path: string;
  fields: Record<string, string>;
  filename: string;
}
let sent: Sent[] = [];

/** Stubs fetch with `answer` and records each request's path and form fields. */
function server(answer: () => Response | Promise<Response>) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (path: string, init: RequestInit) => {
      const form = init.body as FormData;
      const fields: Record<string, string> = {};
      form.forEach((v, k) => {
        if (typeof v === 'string') fields[k] = v;
      });
      sent.push({ path, fields, filename: (form.get('image') as File).name });
      return answer();
    }),
  );
}

const stored =
  (name: string, subfolder = '', type = 'input') =>
  () =>
    new Response(JSON.stringify({ name, subfolder, type }));

function withLoadImage(): string {
  graphStore.restoreSession(null);
  graphStore.setDefs(defs);
  const id = graphStore.addNode('LoadImage', { x: 0, y: 0 }, undefined, { image: 'a.png' });
  expect(id).not.toBeNull();
  return id!;
}

describe('uploadImageFile', () => {
  beforeEach(() => {
    sent = [];
  });

  it('posts the file to /upload/image with its type and subfolder and answers the widget value', async () => {
    server(stored('cat.png', 'pasted'));
    const result = await uploadImageFile(png(), { subfolder: 'pasted' });
    expect(sent).toEqual([{ path: '/upload/image', fields: { type: 'input', subfolder: 'pasted' }, filename: 'cat.png' }]);
    expect(result).toEqual({ ok: true, image: { name: 'cat.png', subfolder: 'pasted', type: 'input' }, value: 'pasted/cat.png' });
  });

  it('posts a mask to /upload/mask with the image it masks', async () => {
    server(stored('m.png', 'clipspace'));
    const ref = { filename: 'a.png', subfolder: '', type: 'input' };
    const result = await uploadImageFile(new Blob([new Uint8Array([1])]), { filename: 'm.png', subfolder: 'clipspace', maskOf: ref });
    expect(sent[0].path).toBe('/upload/mask');
    expect(sent[0].filename).toBe('m.png');
    expect(JSON.parse(sent[0].fields.original_ref)).toEqual(ref);
    expect(result.ok && result.value).toBe('clipspace/m.png');
  });

  it("names the file, the status and ComfyUI's error type and message on a 400", async () => {
    const body = { error: { type: 'not_an_image', message: 'The upload is not an image.', details: '', extra_info: {} } };
    server(() => new Response(JSON.stringify(body), { status: 400 }));
    const result = await uploadImageFile(png());
    expect(result).toEqual({ ok: false, message: 'the server refused cat.png (HTTP 400 not_an_image: The upload is not an image.)' });
  });

  it('shows a plain-text refusal and leaves out an HTML error page', async () => {
    server(() => new Response('Disk full', { status: 500 }));
    expect(await uploadImageFile(png())).toEqual({ ok: false, message: 'the server refused cat.png (HTTP 500 Disk full)' });
    server(() => new Response('<html><body>Bad Gateway</body></html>', { status: 502 }));
    expect(await uploadImageFile(png())).toEqual({ ok: false, message: 'the server refused cat.png (HTTP 502)' });
  });

  it('says the server did not answer on a network failure', async () => {
    server(() => Promise.reject(new TypeError('Failed to fetch')));
    expect(await uploadImageFile(png())).toEqual({
      ok: false,
      message: 'cat.png could not be sent: the server did not answer (Failed to fetch)',
    });
  });

  it('refuses an answer without a file name', async () => {
    server(() => new Response('{}'));
    const result = await uploadImageFile(png());
    expect(result.ok).toBe(false);
  });
});

describe('uploadToImageNode', () => {
  beforeEach(() => {
    sent = [];
    refreshDefs.mockClear();
  });

  it("sets the stored name on the node's image widget in one undo step, after refreshing the lists", async () => {
    const id = withLoadImage();
    server(stored('cat.png'));
    expect(await uploadToImageNode(png(), { nodeId: id })).toEqual({ ok: true, nodeId: id, value: 'cat.png' });
    expect(refreshDefs).toHaveBeenCalledTimes(1);
    expect(graphStore.node(id)?.widgets.image).toBe('cat.png');
    graphStore.undo();
    expect(graphStore.node(id)?.widgets.image).toBe('a.png');
  });

  it('adds a LoadImage with the image when no node is named', async () => {
    withLoadImage();
    server(stored('cat.png', 'pasted'));
    const result = await uploadToImageNode(png(), { nodeId: null, at: { x: 5, y: 5 } }, { subfolder: 'pasted' });
    expect(result.ok).toBe(true);
    expect(graphStore.get().nodes).toHaveLength(2);
    expect(result.ok && graphStore.node(result.nodeId)?.widgets.image).toBe('pasted/cat.png');
  });

  it.each([
    ['a 400', () => new Response(JSON.stringify({ error: { type: 'not_an_image', message: 'bad' } }), { status: 400 })],
    ['a 500', () => new Response('Internal Server Error', { status: 500 })],
    ['a network failure', () => Promise.reject(new TypeError('Failed to fetch'))],
  ])('changes nothing in the graph on %s and the user is told why', async (_, answer) => {
    const id = withLoadImage();
    const before = graphStore.get();
    server(answer);
    expect(await putImage(png(), id)).toBe(false);
    expect(await putImage(png(), null, { x: 1, y: 1 })).toBe(false);
    const after = graphStore.get();
    expect(after.nodes).toBe(before.nodes);
    expect(after.revision).toBe(before.revision);
    expect(after.canUndo).toBe(before.canUndo);
    expect(refreshDefs).not.toHaveBeenCalled();
    expect(runStore.get().message?.kind).toBe('error');
    expect(runStore.get().message?.text).toMatch(
      /^Upload failed: (the server refused cat\.png \(HTTP [45]00|cat\.png could not be sent: the server did not answer)/,
    );
  });

  it('says so when the node is gone by the time the upload is stored', async () => {
    withLoadImage();
    server(stored('cat.png'));
    const result = await uploadToImageNode(png(), { nodeId: '99' });
    expect(result).toEqual({ ok: false, message: 'uploaded input/cat.png, but the node it was meant for is gone' });
  });
});
