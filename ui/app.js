// The console's shell: sign-in (a token typed in, or handed over in the
// URL fragment by `ezapi token admin --url`), the page menu and the router
// (#/page). Each page is a module that renders into <main>.
import { h, clear } from './dom.js';
import { api, session, whenRefused } from './api.js';
import { form, note } from './widgets.js';
import * as overview from './page_overview.js';
import * as providers from './page_providers.js';
import * as catalog from './page_catalog.js';
import * as masters from './page_masters.js';
import * as audit from './page_audit.js';
import * as sync from './page_sync.js';
import * as migrate from './page_migrate.js';

const pages = [
  ['overview', 'Overview', overview.render],
  ['providers', 'Providers', providers.render],
  ['models', 'Models', catalog.renderModels],
  ['namespaces', 'Namespaces', catalog.renderNamespaces],
  ['bindings', 'Bindings', catalog.renderBindings],
  ['explain', 'Route explain', catalog.renderExplain],
  ['masters', 'Masters', masters.render],
  ['audit', 'Audit', audit.render],
  ['features', 'Features', catalog.renderFeatures],
  ['outbox', 'Outbox', sync.renderOutbox],
  ['resync', 'Full resync', sync.renderResync],
  ['migrate', 'Import / export', migrate.render],
];

const main = document.getElementById('main');
const nav = document.getElementById('nav');
const who = document.getElementById('who');

// A token in the fragment (#token=...) moves to sessionStorage and leaves
// the address bar at once: the fragment never reached the server, and it
// must not stay in the history either.
function takeFragmentToken() {
  const m = /^#token=([A-Za-z0-9._-]+)$/.exec(window.location.hash);
  if (!m) return false;
  session.set(m[1]);
  window.history.replaceState(null, '', `${window.location.pathname}#/overview`);
  return true;
}

function signIn(reason) {
  session.forget();
  nav.hidden = true;
  who.hidden = true;
  clear(main).appendChild(h('div', { class: 'signin' },
    h('h1', {}, 'Sign in'),
    reason ? note(reason, 'error') : null,
    form({
      title: 'Admin token', submit: 'Sign in', write: false,
      fields: [{ name: 'token', label: 'Admin token (JWT from `ezapi token admin`)', type: 'password', required: true }],
      onsubmit: async (v) => {
        if (!v.token) throw Object.assign(new Error('a token is required'), { param: 'token' });
        session.set(v.token.trim());
        try {
          await api('GET', '/admin/namespaces?limit=1');
        } catch (err) {
          if (err.status !== 401) session.forget();
          if (err.status === 401) return null; // signIn already shown with the reason
          throw Object.assign(err, { param: 'token' });
        }
        if (!window.location.hash.startsWith('#/')) window.location.hash = '#/overview';
        route();
        return null;
      },
    })));
}

whenRefused((reason) => signIn(`Signed out: ${reason}`));

function signOut() {
  session.forget();
  signIn('Signed out.');
}

function drawChrome(current) {
  clear(nav);
  for (const [id, title] of pages) {
    nav.appendChild(h('a', { href: `#/${id}`, 'aria-current': id === current ? 'page' : null }, title));
  }
  nav.hidden = false;
  const c = session.claims() || {};
  clear(who).append(
    h('span', { class: 'role' }, `${c.sub || '?'} (${session.viewer() ? 'viewer: read-only' : 'admin'})`),
    h('button', { type: 'button', id: 'signout', onclick: signOut }, 'Sign out'));
  who.hidden = false;
}

function route() {
  if (!session.token()) {
    signIn(null);
    return;
  }
  const id = (window.location.hash.match(/^#\/([a-z]+)/) || [])[1] || 'overview';
  const page = pages.find((p) => p[0] === id) || pages[0];
  drawChrome(page[0]);
  document.title = `${page[1]} \u2014 ezapi console`;
  clear(main).appendChild(h('h1', {}, page[1]));
  const root = h('div', { class: 'page', id: `page-${page[0]}` });
  main.appendChild(root);
  page[2](root);
}

takeFragmentToken();
// A link opened in a tab already showing the console changes only the hash.
window.addEventListener('hashchange', () => {
  if (takeFragmentToken() || session.token()) route();
});
route();
