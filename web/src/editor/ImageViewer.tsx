/**
 * The lightbox over output images (next/previous through a batch with the arrow keys, Escape
 * closes) and the context menu of an output image. Both are opened through imageViewStore.
 */
import { useEffect } from 'react';
import { viewUrl } from '../api/client';
import { graphStore } from '../store/graphStore';
import { imageViewStore } from '../store/imageViewStore';
import { useStore } from '../store/store';
import { lightboxAction, loadImageTargets, type ImageRefLike } from '../workflow/gallery';
import { canCopyImage, copyImage, downloadImage, openInNewTab, sendToLoadImage } from './imageActions';

/** Props for an output <img>: click opens the lightbox on it, right-click its menu. */
export function imageHandlers(images: ImageRefLike[], index: number) {
  return {
    onClick: (e: React.MouseEvent) => {
      e.preventDefault();
      e.stopPropagation();
      imageViewStore.open(images, index);
    },
    onContextMenu: (e: React.MouseEvent) => {
      e.preventDefault();
      e.stopPropagation();
      imageViewStore.openMenu(images[index], e.clientX, e.clientY);
    },
  };
}

function Lightbox() {
  const lb = useStore(imageViewStore, (s) => s.lightbox);
  useEffect(() => {
    if (!lb) return;
    const onKey = (e: KeyboardEvent) => {
      if (imageViewStore.get().menu) return; // the menu handles its own Escape
      // The lightbox is modal: no editor shortcut (Delete, Ctrl+Z ...) acts behind it.
      e.stopPropagation();
      const action = lightboxAction(e.key);
      if (!action) return;
      e.preventDefault();
      if (action === 'close') imageViewStore.close();
      else imageViewStore.step(action === 'next' ? 1 : -1);
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [lb]);
  if (!lb) return null;
  const image = lb.images[lb.index];
  const many = lb.images.length > 1;
  return (
    <div className="lg-lightbox" role="dialog" aria-label="image viewer" onClick={() => imageViewStore.close()}>
      <img
        src={viewUrl(image)}
        alt={image.filename}
        onClick={(e) => e.stopPropagation()}
        onContextMenu={(e) => {
          e.preventDefault();
          imageViewStore.openMenu(image, e.clientX, e.clientY);
        }}
      />
      <div className="lg-lightbox-bar" onClick={(e) => e.stopPropagation()}>
        {many && (
          <button aria-label="previous image" onClick={() => imageViewStore.step(-1)}>
            ‹
          </button>
        )}
        <span data-testid="lightbox-caption">
          {image.filename}
          {many ? ` (${lb.index + 1} / ${lb.images.length})` : ''}
        </span>
        {many && (
          <button aria-label="next image" onClick={() => imageViewStore.step(1)}>
            ›
          </button>
        )}
        <button aria-label="close viewer" onClick={() => imageViewStore.close()}>
          ×
        </button>
      </div>
    </div>
  );
}

function ImageMenu() {
  const menu = useStore(imageViewStore, (s) => s.menu);
  useEffect(() => {
    if (!menu) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key !== 'Escape') return;
      e.stopPropagation();
      imageViewStore.closeMenu();
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [menu]);
  if (!menu) return null;
  const { image } = menu;
  const targets = loadImageTargets(graphStore.graph());
  const act = (fn: () => unknown) => () => {
    imageViewStore.closeMenu();
    fn();
  };
  return (
    <div
      className="lg-menu-backdrop lg-image-menu-backdrop"
      onClick={() => imageViewStore.closeMenu()}
      onContextMenu={(e) => e.preventDefault()}
    >
      <ul
        className="lg-menu"
        role="menu"
        aria-label="image menu"
        style={{ left: Math.min(menu.x, window.innerWidth - 230), top: Math.min(menu.y, window.innerHeight - 200) }}
        onClick={(e) => e.stopPropagation()}
      >
        <li role="menuitem" onClick={act(() => openInNewTab(image))}>
          Open in new tab
        </li>
        <li role="menuitem" onClick={act(() => downloadImage(image))}>
          Save image
        </li>
        {canCopyImage() && (
          <li role="menuitem" onClick={act(() => void copyImage(image))}>
            Copy image
          </li>
        )}
        {targets.map((t) => (
          <li key={t.id} role="menuitem" onClick={act(() => void sendToLoadImage(image, t.id))}>
            Send to {t.label}
          </li>
        ))}
        <li role="menuitem" onClick={act(() => void sendToLoadImage(image, null))}>
          Send to a new LoadImage
        </li>
      </ul>
    </div>
  );
}

export function ImageViewer() {
  return (
    <>
      <Lightbox />
      <ImageMenu />
    </>
  );
}
