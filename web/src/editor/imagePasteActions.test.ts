import { beforeEach, describe, expect, it, vi } from 'vitest';

const uploads: { name: string; subfolder?: string }[] = [];
// The server's /upload/image: records what was sent and answers the stored name.
vi.stubGlobal(
  'fetch',
  vi.fn(async (_path: string, init: RequestInit) => {
    const form = init.body as FormData;
    const file = form.get('image') as File;
    const subfolder = (form.get('subfolder') as string | null) ?? undefined;
    uploads.push({ name: file.name, subfolder });
    return new Response(JSON.stringify({ name: file.name, subfolder: subfolder ?? '', type: 'input' }));
  }),
);
vi.mock('./defsLoader', () => ({ refreshDefs: vi.fn(async () => {}) }));
vi.mock('./files', () => ({ loadJson: vi.fn() }));

const { graphStore } = await import('../store/graphStore');
const { defsWithLoadImage } = await import('../workflow/testUtil');
const defs = defsWithLoadImage;
const { dropImageOnNode, onPaste } = await import('./imagePasteActions');

const png = () => new File([new Uint8Array([137, 80, 78, 71])], 'image.png', { type: 'image/png' });

function pasteEvent(file: File): ClipboardEvent {
  const data = { files: [file], items: [], getData: () => '' };
  return { target: null, clipboardData: data, preventDefault: () => {} } as unknown as ClipboardEvent;
}

const settle = () => new Promise((r) => setTimeout(r, 0));

describe('where pasted and dropped images are uploaded', () => {
  beforeEach(() => {
    uploads.length = 0;
    graphStore.setDefs(defs);
  });

  it('uploads a pasted image into input/pasted/ and the new LoadImage reads "pasted/image.png"', async () => {
    onPaste(pasteEvent(png()), () => {});
    await settle();
    await settle();
    expect(uploads).toEqual([{ name: 'image.png', subfolder: 'pasted' }]);
    const added = graphStore.get().nodes.at(-1);
    expect((added?.data as { node: { type: string } }).node.type).toBe('LoadImage');
    expect((added?.data as { node: { type: string; widgets: Record<string, unknown> } }).node.widgets.image).toBe('pasted/image.png');
  });

  it('uploads an image dropped on a LoadImage node into input/ itself', async () => {
    const id = graphStore.get().nodes.at(-1)?.id ?? null;
    expect(dropImageOnNode(png(), id)).toBe(true);
    await settle();
    expect(uploads).toEqual([{ name: 'image.png', subfolder: undefined }]);
  });
});
