/** Shared fixtures for the converter unit tests. */
import objectInfo from './__fixtures__/object_info.json';
import sdxl from './__fixtures__/comfyui_sdxl_simple_ui.json';
import type { ObjectInfo } from '../api/types';
import { parseNodeInfo, parseObjectInfo } from './nodeDefs';
import type { UiWorkflow } from './types';

export const defs = parseObjectInfo(objectInfo as unknown as ObjectInfo).defs;

/** ComfyUI's LoadImage as /object_info gives it (an `image` combo with an upload button). */
const loadImageInfo = {
  input: { required: { image: [['a.png'], { image_upload: true }] } },
  input_order: { required: ['image'] },
  output: ['IMAGE', 'MASK'],
  output_is_list: [false, false],
  output_name: ['IMAGE', 'MASK'],
  name: 'LoadImage',
  display_name: 'Load Image',
  description: '',
  python_module: 'nodes',
  category: 'image',
  output_node: false,
};

/** `defs` with LoadImage added (the image paste and upload tests). */
export const defsWithLoadImage = { ...defs, LoadImage: parseNodeInfo('LoadImage', loadImageInfo as never) };

/** A deep copy of ComfyUI's "SDXL simple" template as ComfyUI saved it. */
export function sdxlWorkflow(): UiWorkflow {
  return structuredClone(sdxl) as unknown as UiWorkflow;
}
