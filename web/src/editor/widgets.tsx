/** Widgets for node inputs: numbers (drag to change), text, multiline, toggle, combo, seed control. */
import { useEffect, useRef, useState, type PointerEvent as ReactPointerEvent } from 'react';
import { CONTROL_VALUES, type InputDef } from '../workflow/nodeDefs';
import { normalizeNumber } from '../workflow/numbers';

interface WidgetProps {
  input: InputDef;
  value: unknown;
  onChange: (value: unknown) => void;
}

export function NumberWidget({ input, value, onChange }: WidgetProps) {
  const [editing, setEditing] = useState(false);
  const [text, setText] = useState('');
  const drag = useRef<{ x: number; start: number; moved: boolean } | null>(null);
  const step = typeof input.options.step === 'number' && input.options.step > 0 ? input.options.step : input.type === 'INT' ? 1 : 0.01;
  const num = typeof value === 'number' ? value : Number(value) || 0;
  const set = (v: number) => onChange(normalizeNumber(v, input));

  const onPointerDown = (e: ReactPointerEvent<HTMLDivElement>) => {
    if ((e.target as HTMLElement).tagName === 'BUTTON') return;
    drag.current = { x: e.clientX, start: num, moved: false };
    e.currentTarget.setPointerCapture(e.pointerId);
  };
  const onPointerMove = (e: ReactPointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    if (!d) return;
    const dx = e.clientX - d.x;
    if (Math.abs(dx) > 3) d.moved = true;
    if (d.moved) set(d.start + Math.round(dx / 6) * step);
  };
  const onPointerUp = () => {
    const d = drag.current;
    drag.current = null;
    if (d && !d.moved) {
      setText(String(num));
      setEditing(true);
    }
  };

  if (editing) {
    const commit = () => {
      setEditing(false);
      const v = Number(text);
      if (text.trim() !== '' && Number.isFinite(v)) set(v);
    };
    return (
      <input
        className="lg-widget-input nodrag"
        autoFocus
        value={text}
        aria-label={input.name}
        onChange={(e) => setText(e.target.value)}
        onBlur={commit}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit();
          if (e.key === 'Escape') setEditing(false);
          e.stopPropagation();
        }}
      />
    );
  }
  const tooltip = typeof input.options.tooltip === 'string' ? `${input.options.tooltip}\n` : '';
  const slider =
    input.options.display === 'slider' && typeof input.options.min === 'number' && typeof input.options.max === 'number' ? (
      <input
        type="range"
        className="lg-slider nodrag"
        aria-label={`${input.name} slider`}
        min={input.options.min}
        max={input.options.max}
        step={step}
        value={num}
        onChange={(e) => set(Number(e.target.value))}
      />
    ) : null;
  return (
    <>
      <div
        className="lg-number nodrag"
        title={`${tooltip}${input.name}: drag to change, click to type (step ${step})`}
        onPointerDown={onPointerDown}
        onPointerMove={onPointerMove}
        onPointerUp={onPointerUp}
      >
        <button className="lg-arrow" aria-label={`decrease ${input.name}`} onClick={() => set(num - step)}>
          ◀
        </button>
        <span className="lg-widget-name">{input.name}</span>
        <span className="lg-widget-value" data-value={num}>
          {num}
        </span>
        <button className="lg-arrow" aria-label={`increase ${input.name}`} onClick={() => set(num + step)}>
          ▶
        </button>
      </div>
      {slider}
    </>
  );
}

/** Single-line or multiline text; edits are committed as typed. */
export function TextWidget({ input, value, onChange }: WidgetProps) {
  const text = typeof value === 'string' ? value : value === undefined || value === null ? '' : String(value);
  const [local, setLocal] = useState(text);
  useEffect(() => setLocal(text), [text]);
  const props = {
    className: 'lg-widget-input nodrag nowheel',
    value: local,
    placeholder: input.name,
    'aria-label': input.name,
    onChange: (e: { target: { value: string } }) => {
      setLocal(e.target.value);
      onChange(e.target.value);
    },
  };
  if (input.options.multiline) return <textarea rows={4} {...props} />;
  return (
    <label className="lg-text">
      <span className="lg-widget-name">{input.name}</span>
      <input {...props} />
    </label>
  );
}

export function BooleanWidget({ input, value, onChange }: WidgetProps) {
  const on = Boolean(value);
  const labelOn = typeof input.options.label_on === 'string' ? input.options.label_on : 'true';
  const labelOff = typeof input.options.label_off === 'string' ? input.options.label_off : 'false';
  return (
    <label className="lg-toggle nodrag">
      <span className="lg-widget-name">{input.name}</span>
      <input type="checkbox" checked={on} aria-label={input.name} onChange={(e) => onChange(e.target.checked)} />
      <span>{on ? labelOn : labelOff}</span>
    </label>
  );
}

export function ComboWidget({ input, value, onChange }: WidgetProps) {
  const choices = input.choices ?? [];
  const known = choices.some((c) => c === value);
  return (
    <label className="lg-combo nodrag">
      <span className="lg-widget-name">{input.name}</span>
      <select
        className={known ? '' : 'lg-invalid'}
        value={String(value ?? '')}
        aria-label={input.name}
        onChange={(e) => onChange(choices.find((c) => String(c) === e.target.value) ?? e.target.value)}
      >
        {!known && <option value={String(value ?? '')}>{String(value ?? '')} (not available)</option>}
        {choices.map((c) => (
          <option key={String(c)} value={String(c)}>
            {String(c)}
          </option>
        ))}
      </select>
    </label>
  );
}

export function ControlWidget({ value, onChange }: { value: string; onChange: (v: string) => void }) {
  return (
    <label className="lg-combo nodrag">
      <span className="lg-widget-name">control after generate</span>
      <select value={value} aria-label="control after generate" onChange={(e) => onChange(e.target.value)}>
        {CONTROL_VALUES.map((c) => (
          <option key={c} value={c}>
            {c}
          </option>
        ))}
      </select>
    </label>
  );
}

/** The widget for one input, by kind. */
export function Widget(props: WidgetProps) {
  switch (props.input.type) {
    case 'INT':
    case 'FLOAT':
      return <NumberWidget {...props} />;
    case 'BOOLEAN':
      return <BooleanWidget {...props} />;
    case 'COMBO':
      return <ComboWidget {...props} />;
    default:
      return <TextWidget {...props} />;
  }
}
