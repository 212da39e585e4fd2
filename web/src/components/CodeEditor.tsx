/**
 * Python code editor (CodeMirror 6, bundled): syntax highlighting, line numbers, and compiler errors shown
 * at their lines as lint diagnostics.
 */
import { python } from "@codemirror/lang-python";
import { lintGutter, setDiagnostics, type Diagnostic } from "@codemirror/lint";
import { EditorState } from "@codemirror/state";
import { EditorView } from "@codemirror/view";
import { basicSetup } from "codemirror";
import { useEffect, useRef } from "react";

export type LineError = { line: number | null; message: string };

/** Maps line-numbered errors onto document ranges (whole line; errors without a line go on line 1). */
export function toDiagnostics(doc: EditorState["doc"], errors: readonly LineError[]): Diagnostic[] {
  return errors.map((e) => {
    const n = Math.min(Math.max(e.line ?? 1, 1), doc.lines);
    const line = doc.line(n);
    return { from: line.from, to: Math.max(line.to, line.from), severity: "error", message: e.message };
  });
}

export function CodeEditor({
  value,
  onChange,
  errors,
  label,
}: {
  value: string;
  onChange: (v: string) => void;
  errors: readonly LineError[];
  label: string;
}) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  const onChangeRef = useRef(onChange);
  onChangeRef.current = onChange;

  useEffect(() => {
    if (!host.current) return;
    const v = new EditorView({
      parent: host.current,
      state: EditorState.create({
        doc: value,
        extensions: [
          basicSetup,
          python(),
          lintGutter(),
          EditorView.lineWrapping,
          EditorView.contentAttributes.of({ "aria-label": label }),
          EditorView.updateListener.of((u) => {
            if (u.docChanged) onChangeRef.current(u.state.doc.toString());
          }),
        ],
      }),
    });
    view.current = v;
    return () => {
      v.destroy();
      view.current = null;
    };
    // The editor owns the text after creation; outside changes come through the effect below.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value)
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
  }, [value]);

  useEffect(() => {
    const v = view.current;
    if (v) v.dispatch(setDiagnostics(v.state, toDiagnostics(v.state.doc, errors)));
  }, [errors]);

  return <div className="code-editor" ref={host} />;
}
