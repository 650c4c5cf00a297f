/**
 * The upload button and preview of a promoted LoadImage `image` widget on a subgraph instance: the
 * inner node's upload field, but the uploaded file's name becomes the instance's promoted value (what
 * queuing sends to the inner node). No mask editor: it edits a node's own widget.
 */
import { setPromotedWidget } from '../store/promotedWidgetEdit';
import { ImageUploadField } from './ImageUploadField';

export function PromotedUpload({ instanceId, index, value }: { instanceId: string; index: number; value: unknown }) {
  return <ImageUploadField value={value} onUploaded={(name) => setPromotedWidget(instanceId, index, name)} />;
}
