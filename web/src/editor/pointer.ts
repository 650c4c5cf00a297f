/** Last mouse position over the canvas (paste goes there). */
export const pointer: { screen: { x: number; y: number } | null } = { screen: null };
