/**
 * The shortcut list of the settings dialog, editable: each command with the combos that run it
 * now. Clicking a combo (or "+") records a new one from the next key press (Escape cancels); a
 * combo another command has is shown as a conflict to confirm or cancel; "×" leaves a combo
 * unbound; "Reset" puts a command's defaults back and "Reset all" every command's.
 */
import { useEffect, useState } from 'react';
import { currentBindings, DEFAULT_KEYBINDINGS, SHORTCUTS } from '../editor/keyboard';
import { useStore } from '../store/store';
import {
  comboLabel,
  findConflict,
  isModified,
  type KeyCombo,
  type Keybinding,
  NO_USER_KEYBINDINGS,
  rebind,
  recordPress,
  resetCommand,
  sameCombo,
  unbind,
} from './keybindings';
import { changeKeybindings, keybindingStore } from './keybindingStore';

/** The combo being recorded: for which command, replacing which of its combos (none: an added one). */
interface Recording {
  commandId: string;
  old?: KeyCombo;
}

/** A recorded combo that another command has, waiting for the user's yes or no. */
interface PendingConflict extends Recording {
  combo: KeyCombo;
  other: Keybinding;
}

const DESCRIPTIONS = new Map(SHORTCUTS.map((s) => [s.id, s.description]));

function describe(commandId: string): string {
  return DESCRIPTIONS.get(commandId) ?? commandId;
}

/** Listens (capturing, before any other handler) for the combo while `recording` is set. */
function useRecorder(recording: Recording | null, onCombo: (combo: KeyCombo) => void, onCancel: () => void): void {
  useEffect(() => {
    if (!recording) return;
    const onKey = (e: KeyboardEvent) => {
      e.preventDefault();
      e.stopPropagation();
      const got = recordPress(e);
      if (got === 'cancel') onCancel();
      else if (got) onCombo(got);
    };
    window.addEventListener('keydown', onKey, true);
    return () => window.removeEventListener('keydown', onKey, true);
  }, [recording, onCombo, onCancel]);
}

export function KeybindingEditor() {
  const user = useStore(keybindingStore, (s) => s);
  const [recording, setRecording] = useState<Recording | null>(null);
  const [pending, setPending] = useState<PendingConflict | null>(null);
  const effective = currentBindings(user);

  const apply = (r: Recording, combo: KeyCombo) => {
    changeKeybindings(rebind(DEFAULT_KEYBINDINGS, keybindingStore.get(), r.commandId, r.old, combo));
  };
  const onCombo = (combo: KeyCombo) => {
    if (!recording) return;
    setRecording(null);
    const now = currentBindings();
    const other = findConflict(now, recording.commandId, combo);
    if (other) setPending({ ...recording, combo, other });
    else if (!now.some((b) => b.commandId === recording.commandId && sameCombo(b.combo, combo))) apply(recording, combo);
    else if (recording.old && !sameCombo(recording.old, combo)) {
      // The command already has this combo too: the one being changed just goes.
      changeKeybindings(unbind(DEFAULT_KEYBINDINGS, keybindingStore.get(), { commandId: recording.commandId, combo: recording.old }));
    }
  };
  const onCancel = () => setRecording(null);
  useRecorder(recording, onCombo, onCancel);

  const start = (r: Recording) => {
    setPending(null);
    setRecording(r);
  };

  return (
    <section className="lg-keybindings">
      <h4>
        Keyboard shortcuts{' '}
        <button
          className="lg-keybindings-reset-all"
          disabled={user.newBindings.length === 0 && user.unsetBindings.length === 0}
          onClick={() => {
            setPending(null);
            changeKeybindings({ ...NO_USER_KEYBINDINGS });
          }}
        >
          Reset all
        </button>
      </h4>
      {pending && (
        <div className="lg-keybinding-conflict" role="alert">
          <kbd>{comboLabel(pending.combo)}</kbd> already runs “{describe(pending.other.commandId)}”. Give it to “
          {describe(pending.commandId)}” instead?{' '}
          <button
            onClick={() => {
              apply(pending, pending.combo);
              setPending(null);
            }}
          >
            Reassign
          </button>{' '}
          <button onClick={() => setPending(null)}>Cancel</button>
        </div>
      )}
      <table className="lg-shortcuts" aria-label="Keyboard shortcuts">
        <tbody>
          {SHORTCUTS.map((sc) => {
            const combos = effective.filter((b) => b.commandId === sc.id).map((b) => b.combo);
            const here = recording?.commandId === sc.id;
            return (
              <tr key={sc.id} data-command={sc.id}>
                <td>
                  {combos.map((c) => (
                    <span key={comboLabel(c)} className="lg-binding">
                      <button
                        className="lg-binding-combo"
                        aria-label={`Change ${comboLabel(c)} of ${sc.description}`}
                        title="Click, then press the new combination"
                        onClick={() => start({ commandId: sc.id, old: c })}
                      >
                        <kbd>{comboLabel(c)}</kbd>
                      </button>
                      <button
                        className="lg-binding-remove"
                        aria-label={`Remove ${comboLabel(c)} from ${sc.description}`}
                        title="Remove this shortcut"
                        onClick={() => changeKeybindings(unbind(DEFAULT_KEYBINDINGS, user, { commandId: sc.id, combo: c }))}
                      >
                        ×
                      </button>
                    </span>
                  ))}
                  {combos.length === 0 && !here && <span className="lg-binding-none">unbound</span>}
                  {here && (
                    <span className="lg-binding-recording" role="status">
                      Press the new combination… (Esc cancels)
                    </span>
                  )}
                </td>
                <td>{sc.description}</td>
                <td className="lg-binding-actions">
                  <button
                    aria-label={`Add a shortcut to ${sc.description}`}
                    title="Add a shortcut"
                    onClick={() => start({ commandId: sc.id })}
                  >
                    +
                  </button>
                  {isModified(DEFAULT_KEYBINDINGS, user, sc.id) && (
                    <button
                      aria-label={`Reset ${sc.description}`}
                      title="Back to the default"
                      onClick={() => changeKeybindings(resetCommand(DEFAULT_KEYBINDINGS, user, sc.id))}
                    >
                      Reset
                    </button>
                  )}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </section>
  );
}
