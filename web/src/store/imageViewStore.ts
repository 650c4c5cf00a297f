/** Which output images are shown in the lightbox, and where the image context menu is open. */
import { stepIndex, type ImageRefLike } from '../workflow/gallery';
import { Store } from './store';

export interface ImageViewState {
  lightbox: { images: ImageRefLike[]; index: number } | null;
  menu: { image: ImageRefLike; x: number; y: number } | null;
}

export class ImageViewStore extends Store<ImageViewState> {
  constructor() {
    super({ lightbox: null, menu: null });
  }

  /** Opens the lightbox on image `index` of a batch. */
  open(images: ImageRefLike[], index: number): void {
    if (images.length === 0) return;
    this.set({ lightbox: { images, index: stepIndex(index, 0, images.length) }, menu: null });
  }

  /** Shows the next (`delta` 1) or previous (-1) image of the batch, wrapping around. */
  step(delta: number): void {
    const lb = this.get().lightbox;
    if (lb) this.set({ lightbox: { ...lb, index: stepIndex(lb.index, delta, lb.images.length) } });
  }

  close(): void {
    this.set({ lightbox: null });
  }

  openMenu(image: ImageRefLike, x: number, y: number): void {
    this.set({ menu: { image, x, y } });
  }

  closeMenu(): void {
    this.set({ menu: null });
  }
}

export const imageViewStore = new ImageViewStore();
