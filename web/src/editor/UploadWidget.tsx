/** LoadImage's upload button and preview of the chosen input image, with the mask editor. */
import { useCallback, useState } from 'react';
import { graphStore } from '../store/graphStore';
import type { InputDef } from '../workflow/nodeDefs';
import { ImageUploadField } from './ImageUploadField';
import { MaskEditor } from './MaskEditor';

export function UploadWidget({ nodeId, input, value }: { nodeId: string; input: InputDef; value: unknown }) {
  const [masking, setMasking] = useState(false);
  const closeMask = useCallback(() => setMasking(false), []);
  const tools = (
    <>
      <button onClick={() => setMasking(true)}>edit mask</button>
      {masking && typeof value === 'string' && <MaskEditor nodeId={nodeId} input={input.name} value={value} onClose={closeMask} />}
    </>
  );
  return <ImageUploadField value={value} onUploaded={(name) => graphStore.setWidget(nodeId, input.name, name)} tools={tools} />;
}
