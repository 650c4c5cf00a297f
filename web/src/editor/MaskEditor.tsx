/** Mask editor for a LoadImage image: paint or erase the mask, brush size, invert, clear; saved through /upload/mask. */
import { type PointerEvent as ReactPointerEvent, useEffect, useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import { inputImageUrl } from '../api/client';
import { runStore } from '../store/runStore';
import { annotatedName, invertMask, MASK_RGB, maskFromImage, maskUploadPixels, originalRef } from '../workflow/maskPixels';
import { uploadToImageNode } from './imageUpload';

interface Props {
  nodeId: string;
  input: string;
  value: string;
  onClose: () => void;
}

export function MaskEditor({ nodeId, input, value, onClose }: Props) {
  const imageCanvas = useRef<HTMLCanvasElement>(null);
  const maskCanvas = useRef<HTMLCanvasElement>(null);
  const last = useRef<{ x: number; y: number } | null>(null);
  const [size, setSize] = useState(12);
  const [erase, setErase] = useState(false);
  const [ready, setReady] = useState(false);
  const [aspect, setAspect] = useState('1 / 1');
  const [saving, setSaving] = useState(false);

  useEffect(() => {
    const img = new Image();
    img.onload = () => {
      const [ic, mc] = [imageCanvas.current, maskCanvas.current];
      if (!ic || !mc) return;
      for (const c of [ic, mc]) {
        c.width = img.naturalWidth;
        c.height = img.naturalHeight;
      }
      const ictx = ic.getContext('2d')!;
      ictx.drawImage(img, 0, 0);
      const pixels = ictx.getImageData(0, 0, ic.width, ic.height);
      mc.getContext('2d')!.putImageData(new ImageData(maskFromImage(pixels.data), ic.width, ic.height), 0, 0);
      // Show the picture opaque: the mask layer above tells what is masked.
      ictx.globalCompositeOperation = 'destination-over';
      ictx.fillStyle = '#000';
      ictx.fillRect(0, 0, ic.width, ic.height);
      setAspect(`${ic.width} / ${ic.height}`);
      setReady(true);
    };
    img.onerror = () => {
      runStore.notify(`Cannot open ${value} for the mask editor`, 'error');
      onClose();
    };
    img.src = inputImageUrl(value);
  }, [value, onClose]);

  const toImage = (e: ReactPointerEvent<HTMLCanvasElement>) => {
    const c = e.currentTarget;
    const r = c.getBoundingClientRect();
    return { x: ((e.clientX - r.left) * c.width) / r.width, y: ((e.clientY - r.top) * c.height) / r.height, scale: c.width / r.width };
  };
  const stroke = (e: ReactPointerEvent<HTMLCanvasElement>) => {
    const ctx = maskCanvas.current!.getContext('2d')!;
    const p = toImage(e);
    const from = last.current ?? p;
    ctx.globalCompositeOperation = erase ? 'destination-out' : 'source-over';
    ctx.strokeStyle = `rgb(${MASK_RGB.join(',')})`;
    ctx.lineCap = 'round';
    ctx.lineWidth = size * p.scale;
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(p.x + 0.01, p.y);
    ctx.stroke();
    last.current = p;
  };
  const edit = (fn: (d: Uint8ClampedArray) => void) => {
    const c = maskCanvas.current!;
    const ctx = c.getContext('2d')!;
    const data = ctx.getImageData(0, 0, c.width, c.height);
    fn(data.data);
    ctx.putImageData(data, 0, 0);
  };

  const save = async () => {
    const c = maskCanvas.current!;
    const out = document.createElement('canvas');
    [out.width, out.height] = [c.width, c.height];
    const mask = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
    out.getContext('2d')!.putImageData(new ImageData(maskUploadPixels(mask), c.width, c.height), 0, 0);
    setSaving(true);
    try {
      const blob = await new Promise<Blob>((ok, fail) => out.toBlob((b) => (b ? ok(b) : fail(new Error('no PNG'))), 'image/png'));
      const result = await uploadToImageNode(
        blob,
        { nodeId, widget: input, valueFor: (ref) => annotatedName(ref.name, ref.subfolder, ref.type) },
        { filename: `clipspace-mask-${Date.now()}.png`, subfolder: 'clipspace', maskOf: originalRef(value) },
      );
      if (!result.ok) throw new Error(result.message);
      onClose();
    } catch (e) {
      runStore.notify(`Saving the mask failed: ${(e as Error).message}`, 'error');
    } finally {
      setSaving(false);
    }
  };

  // Rendered into <body>: inside the node, the canvas transform would scale and clip the dialog.
  return createPortal(
    <div className="lg-modal-backdrop">
      <div className="lg-modal lg-mask-editor" role="dialog" aria-label="Mask editor">
        <div className="lg-mask-tools">
          <button aria-pressed={!erase} onClick={() => setErase(false)}>
            Paint
          </button>
          <button aria-pressed={erase} onClick={() => setErase(true)}>
            Erase
          </button>
          <label>
            brush{' '}
            <input type="range" min={1} max={200} value={size} aria-label="brush size" onChange={(e) => setSize(Number(e.target.value))} />{' '}
            {size}px
          </label>
          <button onClick={() => edit(invertMask)}>Invert</button>
          <button onClick={() => edit((d) => d.fill(0))}>Clear</button>
        </div>
        <div className="lg-mask-stage" data-ready={ready ? 'true' : 'false'} style={{ aspectRatio: aspect }}>
          <canvas ref={imageCanvas} className="lg-mask-image" />
          <canvas
            ref={maskCanvas}
            className="lg-mask-layer"
            aria-label="mask"
            onPointerDown={(e) => {
              e.currentTarget.setPointerCapture(e.pointerId);
              last.current = null;
              stroke(e);
            }}
            onPointerMove={(e) => {
              if (e.buttons & 1) stroke(e);
            }}
            onPointerUp={() => {
              last.current = null;
            }}
          />
        </div>
        <div className="lg-modal-buttons">
          <button onClick={onClose}>Cancel</button>
          <button className="lg-primary" disabled={!ready || saving} onClick={() => void save()}>
            {saving ? 'Saving…' : 'Save mask'}
          </button>
        </div>
      </div>
    </div>,
    document.body,
  );
}
