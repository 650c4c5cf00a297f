import { describe, expect, it } from 'vitest';
import { ImageViewStore } from './imageViewStore';

const images = ['a.png', 'b.png', 'c.png'].map((filename) => ({ filename, type: 'output' }));

describe('ImageViewStore', () => {
  it('opens on an image and steps through the batch with wrap-around', () => {
    const s = new ImageViewStore();
    s.open(images, 2);
    expect(s.get().lightbox?.index).toBe(2);
    s.step(1);
    expect(s.get().lightbox?.index).toBe(0);
    s.step(-1);
    s.step(-1);
    expect(s.get().lightbox?.index).toBe(1);
    s.close();
    expect(s.get().lightbox).toBeNull();
  });
  it('does not open on an empty batch, and opening closes the menu', () => {
    const s = new ImageViewStore();
    s.open([], 0);
    expect(s.get().lightbox).toBeNull();
    s.openMenu(images[0], 10, 20);
    expect(s.get().menu).toEqual({ image: images[0], x: 10, y: 20 });
    s.open(images, 0);
    expect(s.get().menu).toBeNull();
  });
});
