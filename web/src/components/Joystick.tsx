/**
 * A joystick for policies that follow velocity commands: arrow keys (↑/↓ forward and back, ←/→ turn,
 * A/D sideways) and an on-screen pad (drag: up = forward, sideways = turn) with a sideways slider.
 * Commands go to the server as (forward m/s, sideways m/s, yaw rad/s); a command program, if the
 * policy has one, plays until the joystick is touched and can be given back.
 */
import { useEffect, useRef, useState } from "react";
import { commandFromKeys, commandFromPad, JOYSTICK_KEYS, type CommandRange } from "../sim/live";

type Props = {
  range: CommandRange;
  /** The command in force (from the server's frames). */
  command: number[] | null;
  driver: string;
  program: boolean;
  onCommand(value: [number, number, number] | null): void;
};

const PAD_SEND_MS = 50; // the pad sends at most 20 commands a second

const typing = (el: EventTarget | null) =>
  el instanceof HTMLElement && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);

export function Joystick({ range, command, driver, program, onCommand }: Props) {
  const held = useRef(new Set<string>());
  const send = useRef(onCommand);
  send.current = onCommand;
  const [knob, setKnob] = useState({ x: 0, y: 0 });
  const [sideways, setSideways] = useState(0);
  const pad = useRef<HTMLDivElement>(null);
  const lastPadSend = useRef(0);

  useEffect(() => {
    const down = (e: KeyboardEvent) => {
      if (!(e.code in JOYSTICK_KEYS) || typing(e.target) || e.metaKey || e.ctrlKey || e.altKey) return;
      e.preventDefault(); // arrows would scroll the page
      if (held.current.has(e.code)) return; // key repeat
      held.current.add(e.code);
      send.current(commandFromKeys(held.current, range));
    };
    const up = (e: KeyboardEvent) => {
      if (!held.current.delete(e.code)) return;
      send.current(commandFromKeys(held.current, range));
    };
    const blur = () => {
      if (held.current.size === 0) return;
      held.current.clear();
      send.current([0, 0, 0]);
    };
    window.addEventListener("keydown", down);
    window.addEventListener("keyup", up);
    window.addEventListener("blur", blur);
    return () => {
      window.removeEventListener("keydown", down);
      window.removeEventListener("keyup", up);
      window.removeEventListener("blur", blur);
    };
  }, [range]);

  const padMove = (e: React.PointerEvent<HTMLDivElement>, force = false) => {
    const box = pad.current?.getBoundingClientRect();
    if (!box || (!force && !(e.buttons & 1))) return;
    const x = Math.max(-1, Math.min(1, ((e.clientX - box.left) / box.width) * 2 - 1));
    const y = Math.max(-1, Math.min(1, 1 - ((e.clientY - box.top) / box.height) * 2));
    setKnob({ x, y });
    const now = performance.now();
    if (force || now - lastPadSend.current > PAD_SEND_MS) {
      lastPadSend.current = now;
      send.current(commandFromPad(x, y, sideways, range));
    }
  };
  const padUp = () => {
    setKnob({ x: 0, y: 0 });
    send.current(commandFromPad(0, 0, sideways, range));
  };

  const fmt = (v: number | undefined) => (v ?? 0).toFixed(2);
  const from = driver === "joystick" ? "your joystick" : driver === "program" ? "the command program" : "standing still";
  return (
    <div className="joystick" role="group" aria-label="Joystick" data-testid="joystick">
      <div
        ref={pad}
        className="joystick-pad"
        role="slider"
        aria-label="Joystick pad: drag up to walk forward, left or right to turn"
        aria-valuetext={`forward ${fmt(knob.y * range[0])} m/s, yaw ${fmt(-knob.x * range[2])} rad/s`}
        tabIndex={0}
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          padMove(e, true);
        }}
        onPointerMove={(e) => padMove(e)}
        onPointerUp={padUp}
        onPointerCancel={padUp}
      >
        <span className="joystick-knob" style={{ left: `${50 + knob.x * 40}%`, top: `${50 - knob.y * 40}%` }} />
      </div>
      <div className="joystick-side">
        <label className="field">
          <span className="label">Sideways (m/s)</span>
          <input
            type="range"
            min={-1}
            max={1}
            step={0.05}
            value={sideways}
            aria-label="Sideways speed"
            onChange={(e) => {
              const s = Number(e.target.value);
              setSideways(s);
              send.current(commandFromPad(knob.x, knob.y, s, range));
            }}
          />
        </label>
        <p className="small" data-testid="joystick-command" data-driver={driver}>
          forward {fmt(command?.[0])} m/s · sideways {fmt(command?.[1])} m/s · yaw {fmt(command?.[2])} rad/s
          <br />
          <span className="muted">from {from}</span>
        </p>
        <p className="muted small">Keys: ↑/↓ forward and back, ←/→ turn, A/D sideways.</p>
        {program && driver === "joystick" && (
          <button
            type="button"
            className="btn small"
            onClick={() => {
              held.current.clear();
              setKnob({ x: 0, y: 0 });
              setSideways(0);
              send.current(null);
            }}
          >
            ▶ Back to the program
          </button>
        )}
      </div>
    </div>
  );
}
