/**
 * Layout and routes. Each view is its own lazy chunk, so the first paint downloads only the shell and
 * the view being opened; deep links (`/analyses/:id`, `/backtests/:id`) work on a reload because the
 * host serves index.html for every app route.
 */
import { lazy, Suspense } from 'react';
import { NavLink, Route, Routes, useLocation } from 'react-router-dom';
import { ErrorBoundary } from './components/ErrorBoundary';
import { Spinner } from './components/ui';

const Dashboard = lazy(() => import('./views/Dashboard'));
const AnalysisView = lazy(() => import('./views/AnalysisView'));
const AnalysesList = lazy(() => import('./views/AnalysesList'));
const PortfolioView = lazy(() => import('./views/PortfolioView'));
const BacktestsView = lazy(() => import('./views/BacktestsView'));
const BacktestView = lazy(() => import('./views/BacktestView'));
const CostsView = lazy(() => import('./views/CostsView'));
const PromptsView = lazy(() => import('./views/PromptsView'));
const StudiesView = lazy(() => import('./views/StudiesView'));
const StudyView = lazy(() => import('./views/StudyView'));
const LearningView = lazy(() => import('./views/LearningView'));

const NAV = [
  { to: '/', label: 'Dashboard', end: true },
  { to: '/analyses', label: 'Analyses', end: false },
  { to: '/portfolio', label: 'Portfolio', end: false },
  { to: '/backtests', label: 'Backtests', end: false },
  { to: '/studies', label: 'Studies', end: false },
  { to: '/learning', label: 'Learning', end: false },
  { to: '/prompts', label: 'Prompts', end: false },
  { to: '/costs', label: 'Costs', end: false },
];

export function App() {
  const location = useLocation();
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="topbar">
        <div className="brand">
          <svg viewBox="0 0 16 16" width="18" height="18" aria-hidden="true">
            <path d="M2 12l3.5-4.5 3 2.5L14 3.5" stroke="currentColor" strokeWidth="2" fill="none" />
          </svg>
          <span>Agent Trading Firm</span>
        </div>
        <nav className="mainnav" aria-label="Main">
          {NAV.map((n) => (
            <NavLink key={n.to} to={n.to} end={n.end}>
              {n.label}
            </NavLink>
          ))}
        </nav>
        <div
          className="sim-label"
          title="Every order is simulated against market data. No exchange account is used."
        >
          Simulated portfolio — no real trading
        </div>
      </header>
      <main id="main" className="content">
        <ErrorBoundary resetKey={location.pathname}>
          <Suspense fallback={<Spinner label="Loading view…" />}>
            <Routes>
              <Route path="/" element={<Dashboard />} />
              <Route path="/analyses" element={<AnalysesList />} />
              <Route path="/analyses/:id" element={<AnalysisView />} />
              <Route path="/portfolio" element={<PortfolioView />} />
              <Route path="/backtests" element={<BacktestsView />} />
              <Route path="/backtests/:id" element={<BacktestView />} />
              <Route path="/studies" element={<StudiesView />} />
              <Route path="/studies/:id" element={<StudyView />} />
              <Route path="/learning" element={<LearningView />} />
              <Route path="/prompts" element={<PromptsView />} />
              <Route path="/prompts/:agent" element={<PromptsView />} />
              <Route path="/costs" element={<CostsView />} />
              <Route path="*" element={<NotFound />} />
            </Routes>
          </Suspense>
        </ErrorBoundary>
      </main>
      <footer className="footer muted small">
        Market data: Binance public API. Agents: LLMs or the offline rules provider. Paper trading only;
        nothing here is financial advice.
      </footer>
    </div>
  );
}

function NotFound() {
  const location = useLocation();
  return (
    <section className="panel">
      <h1>Page not found</h1>
      <p className="muted">
        Nothing lives at <span className="mono">{location.pathname}</span>. Use the navigation above, or go to
        the <NavLink to="/">dashboard</NavLink>.
      </p>
    </section>
  );
}
