import { describe, expect, it } from 'vitest';
import { isLowQualityZoom, MIN_FONT_SIZE_FOR_DETAIL, NODE_FONT_SIZE } from './lowQualityRendering';

describe('isLowQualityZoom', () => {
  it('draws full detail at zoom 1 and when zoomed in', () => {
    expect(isLowQualityZoom(1)).toBe(false);
    expect(isLowQualityZoom(2.5)).toBe(false);
  });
  it('switches to low quality where node text would be smaller than the threshold', () => {
    const threshold = MIN_FONT_SIZE_FOR_DETAIL / NODE_FONT_SIZE; // about 0.62
    expect(isLowQualityZoom(threshold + 0.01)).toBe(false);
    expect(isLowQualityZoom(threshold - 0.01)).toBe(true);
    expect(isLowQualityZoom(0.21)).toBe(true); // 300 nodes fitted to the screen
  });
  it('follows a given minimum font size; 0 turns low quality off', () => {
    expect(isLowQualityZoom(0.5, 4)).toBe(false);
    expect(isLowQualityZoom(0.2, 4)).toBe(true);
    expect(isLowQualityZoom(0.05, 0)).toBe(false);
  });
});
