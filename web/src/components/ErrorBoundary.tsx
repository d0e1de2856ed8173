/**
 * Last line of defence against a blank screen: a render error anywhere below shows what broke and how
 * to recover (reload, or go back to the dashboard). A failed lazy chunk (e.g. after a redeploy) is the
 * commonest case, so the message says a reload fixes it.
 */
import { Component, type ErrorInfo, type ReactNode } from 'react';

interface Props {
  children: ReactNode;
  /** Resets the boundary when this changes (the route), so one broken view does not stick. */
  resetKey?: string;
}
interface State {
  error: Error | null;
  resetKey?: string;
}

export class ErrorBoundary extends Component<Props, State> {
  override state: State = { error: null, resetKey: this.props.resetKey };

  static getDerivedStateFromError(error: Error): Partial<State> {
    return { error };
  }

  static getDerivedStateFromProps(props: Props, state: State): Partial<State> | null {
    return props.resetKey !== state.resetKey ? { error: null, resetKey: props.resetKey } : null;
  }

  override componentDidCatch(error: Error, info: ErrorInfo): void {
    console.error('View crashed', error, info.componentStack);
  }

  override render(): ReactNode {
    const { error } = this.state;
    if (!error) return this.props.children;
    const chunk = /dynamically imported module|Loading chunk|Failed to fetch/i.test(error.message);
    return (
      <section className="panel error-panel" role="alert">
        <h2>This view failed to display</h2>
        <p className="mono">{error.message}</p>
        <p className="muted">
          {chunk
            ? 'Part of the app could not be downloaded (a new version may have been deployed).'
            : 'This is a bug in the web app; the data on the server is unaffected.'}{' '}
          Reload the page, or go back to the dashboard.
        </p>
        <div className="row">
          <button type="button" className="btn" onClick={() => window.location.reload()}>
            Reload
          </button>
          <a className="btn ghost" href="/">
            Dashboard
          </a>
        </div>
      </section>
    );
  }
}
