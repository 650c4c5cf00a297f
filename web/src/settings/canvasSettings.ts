/**
 * The React Flow props the settings decide: link drawing, snap to grid, light or dark colours.
 * Canvas.tsx spreads them onto <ReactFlow>, so a changed setting shows at once.
 */
import { BezierEdge, type ColorMode, type EdgeTypes, StepEdge, StraightEdge } from '@xyflow/react';
import { useMemo } from 'react';
import { useStore } from '../store/store';
import { edgeTypeFor } from './settingsSchema';
import { settingsStore } from './settingsStore';

// Links have no type of their own, so they are drawn by whatever "default" names. Fixed objects:
// React Flow warns when edgeTypes changes identity on every render.
const EDGE_TYPES: Record<ReturnType<typeof edgeTypeFor>, EdgeTypes> = {
  default: { default: BezierEdge },
  straight: { default: StraightEdge },
  step: { default: StepEdge },
};

export interface CanvasSettingProps {
  edgeTypes: EdgeTypes;
  snapToGrid: boolean;
  snapGrid: [number, number];
  colorMode: ColorMode;
}

export function useCanvasSettings(): CanvasSettingProps {
  const linkMode = useStore(settingsStore, (s) => s.linkRenderMode);
  const snapToGrid = useStore(settingsStore, (s) => s.snapToGrid);
  const gridSize = useStore(settingsStore, (s) => s.gridSize);
  const theme = useStore(settingsStore, (s) => s.theme);
  return useMemo(
    () => ({
      edgeTypes: EDGE_TYPES[edgeTypeFor(linkMode)],
      snapToGrid,
      snapGrid: [gridSize, gridSize],
      colorMode: theme,
    }),
    [linkMode, snapToGrid, gridSize, theme],
  );
}
