/**
 * Entry point: read /config.json (the API's address), build the API client, render the app.
 * Until the config is read the page shows a loading line; if it cannot be read, it says why.
 */
import './csp';
import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router-dom';
import { App } from './App';
import { type ApiClient, createApiClient, type WriteKeyStore } from './api/client';
import { loadRuntimeConfig } from './api/config';
import { ApiContext } from './api/context';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Spinner } from './components/ui';
import './styles.css';

/** The write key, asked for once and kept for the browser session (deployments with -c writeKey=true). */
const WRITE_KEY_ITEM = 'writeKey';
const sessionWriteKey: WriteKeyStore = {
  get: () => sessionStorage.getItem(WRITE_KEY_ITEM),
  set: (key) =>
    key ? sessionStorage.setItem(WRITE_KEY_ITEM, key) : sessionStorage.removeItem(WRITE_KEY_ITEM),
  ask: (reason) => window.prompt(reason)?.trim() || null,
};

function Root() {
  const [api, setApi] = useState<ApiClient | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    loadRuntimeConfig()
      .then((cfg) => setApi(createApiClient({ baseUrl: cfg.apiBaseUrl, writeKey: sessionWriteKey })))
      .catch((err: unknown) => setError(err instanceof Error ? err.message : String(err)));
  }, []);

  if (error)
    return (
      <main className="boot">
        <div className="notice error" role="alert">
          <div className="notice-title">The app could not start</div>
          <div>{error}</div>
          <div className="muted small">
            Start the local host with npm start, or check the deployment, then reload.
          </div>
        </div>
      </main>
    );
  if (!api)
    return (
      <main className="boot">
        <Spinner label="Starting…" />
      </main>
    );
  return (
    <ApiContext.Provider value={api}>
      <BrowserRouter>
        <App />
      </BrowserRouter>
    </ApiContext.Provider>
  );
}

const rootElement = document.getElementById('root');
if (!rootElement) throw new Error('index.html has no #root element');
createRoot(rootElement).render(
  <StrictMode>
    <ErrorBoundary>
      <Root />
    </ErrorBoundary>
  </StrictMode>,
);
