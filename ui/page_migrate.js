// Import and export (docs/migrate.md): a new-api JSON export or a LiteLLM
// config, from a file or pasted, dry run first; the answer's counts,
// warnings, item errors and the new master keys (shown once). The export
// is downloaded as a file made in the page (a Blob behind an object URL).
import { h, clear, text } from './dom.js';
import { api, query, RawBody, session } from './api.js';
import { action, form, note, secretBox, section, table, viewer } from './widgets.js';

const SECTIONS = ['namespaces', 'provider_groups', 'api_keys', 'masters', 'keys', 'bindings'];

function counts(r) {
  return table([
    { title: 'resource', get: (s) => s },
    { title: 'created', get: (s) => (r.created || {})[s] },
    { title: 'skipped', get: (s) => (r.skipped || {})[s] },
    { title: 'overwritten', get: (s) => (r.overwritten || {})[s] },
  ], SECTIONS);
}

// The whole answer; with a 422 (err) the answer is the error's `result`.
function answer(r, err) {
  const errors = r.errors || [];
  return h('div', { class: 'import-result' },
    err ? note(`nothing was written: ${err.message}`, 'error')
      : note(r.dry_run ? 'dry run: nothing was written; this is what the import would do'
        : `imported${r.committed ? ' and committed' : ''}`, 'ok'),
    counts(r),
    errors.length ? h('div', { class: 'import-errors' }, h('h3', {}, `Errors (${errors.length})`), table([
      { title: 'section', get: (e) => e.section },
      { title: 'index', get: (e) => e.index },
      { title: 'field', get: (e) => e.field },
      { title: 'message', get: (e) => e.message },
    ], errors)) : null,
    (r.warnings || []).length ? h('div', { class: 'import-warnings' }, h('h3', {}, `Warnings (${r.warnings.length})`),
      h('ul', {}, r.warnings.map((w) => h('li', {}, w)))) : null,
    (r.masters || []).filter((m) => m.master_key).map((m) => secretBox(`Master key of ${m.name}`, m.master_key)));
}

async function documentText(v) {
  if (v.document_file) return v.document_file.text();
  return v.document || '';
}

function importForm() {
  const last = h('div', { class: 'import-answer' });
  let sent = null; // what the last dry run sent, to import it for real
  async function send(opts, doc) {
    const q = query({
      from: opts.from === 'litellm' ? 'litellm' : null,
      dry_run: opts.dry_run ? 'true' : 'false',
      conflict: opts.conflict,
      include_bindings: opts.include_bindings && opts.from !== 'litellm' ? 'true' : null,
      skip_invalid: opts.skip_invalid ? 'true' : null,
      namespace: opts.from === 'litellm' ? opts.namespace : null,
    });
    const body = opts.from === 'litellm' ? new RawBody(doc, 'application/yaml') : new RawBody(doc, 'application/json');
    try {
      return answer(await api('POST', `/admin/import${q}`, body));
    } catch (err) {
      if (err.status === 422 && err.body && err.body.result) return answer(err.body.result, err);
      throw err;
    }
  }
  const f = form({
    title: 'Import', submit: 'Send', class: 'card import-form',
    fields: [
      { name: 'from', label: 'from (the document\u2019s format)', type: 'select', options: ['newapi', 'litellm'] },
      { name: 'document_file', label: 'a file (new-api JSON export or LiteLLM config.yaml)', type: 'file', accept: '.json,.yaml,.yml,application/json,application/yaml' },
      { name: 'document', label: 'or the document, pasted', type: 'textarea', rows: 8 },
      { name: 'dry_run', label: 'dry_run (write nothing, answer what would be done)', type: 'checkbox', value: true },
      { name: 'conflict', label: 'conflict (an item that exists already)', type: 'select', options: ['skip', 'overwrite'] },
      { name: 'include_bindings', label: 'include_bindings (new-api)', type: 'checkbox' },
      { name: 'skip_invalid', label: 'skip_invalid (import the valid items, list the others)', type: 'checkbox' },
      { name: 'namespace', label: 'namespace (LiteLLM: of the bindings)', placeholder: 'default' },
    ],
    onsubmit: async (v) => {
      const doc = await documentText(v);
      if (!doc.trim()) throw Object.assign(new Error('choose a file or paste a document'), { param: 'document' });
      clear(last);
      sent = { opts: v, doc };
      const shown = await send(v, doc);
      last.appendChild(shown);
      last.scrollIntoView({ block: 'start' });
      if (v.dry_run && !shown.querySelector('.import-errors')) {
        last.appendChild(h('p', {}, action('Import for real', async () => {
          clear(last).appendChild(await send({ ...sent.opts, dry_run: false }, sent.doc));
        }, { onerror: (err) => clear(last).appendChild(note(err.message, 'error')) })));
      }
      return null;
    },
  });
  return [f, last];
}

let lastUrl = null;

function exportForm() {
  return form({
    title: 'ezapi\u2019s configuration, in the import format', submit: 'Download export', write: false, class: 'card export-form',
    fields: [
      { name: 'include_secrets', label: 'include_secrets (upstream api keys in clear; admin only, audited)', type: 'checkbox', write: true },
    ],
    onsubmit: async (v) => {
      const doc = await api('GET', `/admin/export${query({ include_secrets: v.include_secrets ? 'true' : null })}`);
      const data = JSON.stringify(doc, null, 2);
      const name = `ezapi-export-${new Date().toISOString().slice(0, 19).replace(/[:T]/g, '-')}.json`;
      if (lastUrl) URL.revokeObjectURL(lastUrl);
      lastUrl = URL.createObjectURL(new Blob([data], { type: 'application/json' }));
      const link = h('a', { href: lastUrl, download: name, class: 'download' }, `${name} (${data.length} bytes)`);
      link.click();
      const d = doc.data || {};
      return h('div', {}, note(`downloaded: ${text((d.providers || []).length)} providers, ${text((d.masters || []).length)} masters, ${text((d.keys || []).length)} keys, ${text((d.bindings || []).length)} bindings`, 'ok'),
        h('p', {}, 'Again: ', link));
    },
  });
}

export function render(root) {
  root.append(
    h('p', {}, 'Bring the configuration of new-api or LiteLLM, or take ezapi\u2019s own as a file (docs/migrate.md). An import is one transaction: a dry run first shows what it would do.'),
    h('div', { class: 'grid' }, section('Import from new-api or LiteLLM', importForm()),
      section('Export', exportForm(),
        viewer() ? note(`signed in as ${session.claims()?.sub || '?'} (viewer): the export has no upstream keys`) : null)));
}
