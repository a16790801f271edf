import { useState, type ReactNode } from 'react';
import { RequireSignIn, useAuth } from './auth';
import { Link, match, navigate, usePath } from './router';
import { ApiTokens } from './pages/ApiTokens';
import { AuditLog } from './pages/AuditLog';
import { Certificates } from './pages/Certificates';
import { Dashboard } from './pages/Dashboard';
import { DataExport } from './pages/DataExport';
import { DeviceConnection } from './pages/DeviceConnection';
import { DeviceGroupPage, DeviceGroups } from './pages/DeviceGroups';
import { DevicePage } from './pages/DevicePage';
import { Devices } from './pages/Devices';
import { GroupPage } from './pages/GroupPage';
import { Import } from './pages/Import';
import { JobPage } from './pages/JobPage';
import { Jobs } from './pages/Jobs';
import { RulePage, Rules } from './pages/Rules';
import { TemplatePage } from './pages/TemplatePage';
import { Templates } from './pages/Templates';
import { Users } from './pages/Users';

/** The pages, in the order of the navigation; `pattern` params are passed as props. */
const ROUTES: Array<{ pattern: string; render: (p: Record<string, string>) => ReactNode }> = [
  { pattern: '/dashboard', render: () => <Dashboard /> },
  { pattern: '/devices', render: () => <Devices /> },
  { pattern: '/devices/:id', render: (p) => <DevicePage id={p.id!} /> },
  { pattern: '/device-groups', render: () => <DeviceGroups /> },
  { pattern: '/device-groups/:id', render: (p) => <DeviceGroupPage id={p.id!} /> },
  { pattern: '/jobs', render: () => <Jobs /> },
  { pattern: '/jobs/:id', render: (p) => <JobPage id={p.id!} /> },
  { pattern: '/data-export', render: () => <DataExport /> },
  { pattern: '/rules', render: () => <Rules /> },
  { pattern: '/rules/:id', render: (p) => <RulePage id={p.id!} /> },
  { pattern: '/templates', render: () => <Templates /> },
  { pattern: '/templates/:id', render: (p) => <TemplatePage id={p.id!} /> },
  { pattern: '/connection', render: () => <DeviceConnection /> },
  { pattern: '/connection/groups/:id', render: (p) => <GroupPage id={p.id!} /> },
  { pattern: '/certificates', render: () => <Certificates /> },
  { pattern: '/users', render: () => <Users /> },
  { pattern: '/tokens', render: () => <ApiTokens /> },
  { pattern: '/import', render: () => <Import /> },
  { pattern: '/audit-log', render: () => <AuditLog /> },
];

const NAV: Array<{ to: string; label: string; section?: string }> = [
  { to: '/dashboard', label: 'Dashboard' },
  { to: '/devices', label: 'Devices' },
  { to: '/device-groups', label: 'Device groups' },
  { to: '/jobs', label: 'Jobs' },
  { to: '/data-export', label: 'Data export' },
  { to: '/rules', label: 'Rules' },
  { to: '/templates', label: 'Device templates' },
  { to: '/connection', label: 'Device connection', section: 'Administration' },
  { to: '/certificates', label: 'Certificates' },
  { to: '/users', label: 'Users' },
  { to: '/tokens', label: 'API tokens' },
  { to: '/import', label: 'Import' },
  { to: '/audit-log', label: 'Audit log' },
];

export function App() {
  return (
    <RequireSignIn>
      <Shell />
    </RequireSignIn>
  );
}

function Shell() {
  const path = usePath();
  const { user, signOut } = useAuth();
  const [menuOpen, setMenuOpen] = useState(false);
  if (path === '/' || path === '') {
    navigate('/dashboard', true);
    return null;
  }
  let page: ReactNode = (
    <section>
      <h1>Not found</h1>
      <p>
        There is no page at <code>{path}</code>. <Link to="/dashboard">Go to the dashboard</Link>.
      </p>
    </section>
  );
  for (const route of ROUTES) {
    const params = match(route.pattern, path);
    if (params) {
      page = route.render(params);
      break;
    }
  }
  return (
    <div className={menuOpen ? 'shell menu-open' : 'shell'}>
      <header className="topbar">
        <button
          type="button"
          className="ghost menu-button"
          aria-label="Menu"
          onClick={() => setMenuOpen(!menuOpen)}
        >
          ☰
        </button>
        <Link to="/dashboard" className="brand">
          Gatehouse
        </Link>
        <span className="spacer" />
        <span className="muted user-name">{user.username}</span>
        <button type="button" className="ghost" onClick={() => void signOut()}>
          Sign out
        </button>
      </header>
      <nav className="sidebar" aria-label="Main" onClick={() => setMenuOpen(false)}>
        {NAV.map((item) => (
          <div key={item.to}>
            {item.section !== undefined && <div className="nav-section">{item.section}</div>}
            <Link to={item.to} className={path === item.to || path.startsWith(item.to + '/') ? 'active' : ''}>
              {item.label}
            </Link>
          </div>
        ))}
      </nav>
      <main className="content">{page}</main>
    </div>
  );
}
