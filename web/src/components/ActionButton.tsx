/**
 * A button that runs one write (resume a backtest, resume a study), shows it is busy, reports the API's
 * error beside it, and calls `onDone` when the write succeeded (the view reloads its record).
 */
import { useState } from 'react';

export function ActionButton({
  label,
  busyLabel,
  testId,
  run,
  onDone,
}: {
  label: string;
  busyLabel: string;
  testId: string;
  run: () => Promise<unknown>;
  onDone: () => void;
}) {
  const [state, setState] = useState<{ busy: boolean; error: string | null }>({ busy: false, error: null });
  const click = async () => {
    setState({ busy: true, error: null });
    try {
      await run();
      setState({ busy: false, error: null });
      onDone();
    } catch (e) {
      setState({ busy: false, error: (e as Error).message });
    }
  };
  return (
    <div className="row">
      <button type="button" onClick={click} disabled={state.busy} data-testid={testId}>
        {state.busy ? busyLabel : label}
      </button>
      {state.error && (
        <span className="error small" role="alert">
          {state.error}
        </span>
      )}
    </div>
  );
}
