/** Shared fixtures for the converter unit tests. */
import objectInfo from './__fixtures__/object_info.json';
import sdxl from './__fixtures__/comfyui_sdxl_simple_ui.json';
import type { ObjectInfo } from '../api/types';
import { parseObjectInfo } from './nodeDefs';
import type { UiWorkflow } from './types';

export const defs = parseObjectInfo(objectInfo as unknown as ObjectInfo).defs;

/** A deep copy of ComfyUI's "SDXL simple" template as ComfyUI saved it. */
export function sdxlWorkflow(): UiWorkflow {
  return structuredClone(sdxl) as unknown as UiWorkflow;
}
