/**
 * ComfyUI's "low quality rendering" for large graphs: zoomed out so far that a node's text would
 * be drawn smaller than MIN_FONT_SIZE_FOR_DETAIL pixels, the canvas root carries `lg-low-quality`,
 * and styles.css ("low quality rendering") then draws titles, sockets and plain widget bars only,
 * without shadows or the dot grid. Nothing changes size, so every socket and link stays in place.
 * Measured in tests/web/test_editor_perf.py: panning 300 nodes fitted to the screen paints about
 * four times faster in the headless test browser.
 */
import { useStore as useFlowStore } from '@xyflow/react';
import { type RefObject, useEffect } from 'react';

/** The size of a node's text at zoom 1 (styles.css :root). */
export const NODE_FONT_SIZE = 13;
/** Below this rendered text size (pixels) nodes are drawn in low quality; ComfyUI's default is 8. */
export const MIN_FONT_SIZE_FOR_DETAIL = 8;

export const LOW_QUALITY_CLASS = 'lg-low-quality';

/** Whether nodes are drawn in low quality at this zoom: their text would be too small to read. */
export function isLowQualityZoom(zoom: number, minFontSize = MIN_FONT_SIZE_FOR_DETAIL): boolean {
  return minFontSize > 0 && NODE_FONT_SIZE * zoom < minFontSize;
}

/**
 * Inside <ReactFlow>: keeps `lg-low-quality` on `root` while the zoom is below the threshold. It
 * re-renders only when the threshold is crossed, and sets the class on the element directly so
 * that nothing else re-renders.
 */
export function LowQualityZoom({ root }: { root: RefObject<HTMLElement | null> }) {
  const low = useFlowStore((s) => isLowQualityZoom(s.transform[2]));
  useEffect(() => {
    root.current?.classList.toggle(LOW_QUALITY_CLASS, low);
  }, [low, root]);
  return null;
}
