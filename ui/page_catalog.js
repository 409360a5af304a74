// The catalog pages: models and the model registry, namespaces, bindings
// (with the candidate the data plane resolves), route explain, features.
import { h, clear, text } from './dom.js';
import { api } from './api.js';
import { action, form, load, note, pagedList, section, table } from './widgets.js';

function deleteButton(path, list, msg, label) {
  return action(label || 'Delete', async () => {
    await api('DELETE', path);
    list.reload();
  }, { danger: true, confirm: 'Really delete?', onerror: (err) => clear(msg).appendChild(note(`cannot delete: ${err.message}`, 'error')) });
}

async function registry(box) {
  const r = await load(box, '/admin/model-registry');
  if (!r) return;
  clear(box).appendChild(table([
    { title: 'model', get: (m) => m.name },
    { title: 'groups', get: (m) => m.groups.map((g) => `#${g.id} ${g.name} (${g.type})`).join(', ') },
    { title: 'keys', get: (m) => m.keys.length },
    { title: 'registered', get: (m) => (m.registered ? 'yes' : 'no') },
    { title: 'capabilities', get: (m) => m.capabilities },
  ], r.data));
}

// PUT of one model: the fields left empty are left as they are.
function editModel(m, slot, list) {
  clear(slot).appendChild(form({
    title: `Edit model #${m.id} (${m.name})`, submit: 'Save model', class: 'card model-edit',
    fields: [
      { name: 'name', label: 'name', value: m.name },
      { name: 'kind', label: 'kind', type: 'select', options: ['chat', 'embedding', 'rerank', 'other'], value: m.kind },
      { name: 'context_window', label: 'context_window', type: 'number', min: 0, value: m.context_window },
      { name: 'max_output_tokens', label: 'max_output_tokens', type: 'number', min: 0, value: m.max_output_tokens },
      { name: 'cost_per_token', label: 'cost_per_token', type: 'number', min: 0, value: m.cost_per_token },
    ],
    onsubmit: async (v) => {
      const r = await api('PUT', `/admin/models/${m.id}`, v);
      list.reload();
      return note(`saved model #${r.id} ${r.name}`, 'ok');
    },
  }));
}

export function renderModels(root) {
  const msg = h('div', {});
  const list = pagedList({
    path: '/admin/models',
    filters: [{ name: 'model_name', label: 'name' }],
    columns: [
      { title: 'id', get: (m) => m.id },
      { title: 'name', get: (m) => m.name },
      { title: 'kind', get: (m) => m.kind },
      { title: 'context_window', get: (m) => m.context_window },
      { title: 'max_output_tokens', get: (m) => m.max_output_tokens },
      { title: 'cost_per_token', get: (m) => m.cost_per_token },
      {
        title: '',
        get: (m) => h('div', { class: 'actions' },
          h('button', { type: 'button', onclick: () => editModel(m, edit, list) }, 'Edit'),
          deleteButton(`/admin/models/${m.id}`, list, msg)),
      },
    ],
  });
  const edit = h('div', { id: 'model-edit' });
  const reg = h('div', {}, note('loading\u2026'));
  root.append(
    section('Registered models', msg, list),
    edit,
    form({
      title: 'Register a model', submit: 'Register model',
      fields: [
        { name: 'name', label: 'name', required: true },
        { name: 'kind', label: 'kind', type: 'select', options: ['chat', 'embedding', 'rerank', 'other'] },
        { name: 'context_window', label: 'context_window', type: 'number', min: 0 },
        { name: 'max_output_tokens', label: 'max_output_tokens', type: 'number', min: 0 },
      ],
      onsubmit: async (v) => { const m = await api('POST', '/admin/models', v); list.reload(); return note(`registered model #${m.id}`, 'ok'); },
    }),
    section('Model registry (every model an active group and key offer)', reg));
  registry(reg);
}

function editNamespace(n, slot, list) {
  clear(slot).appendChild(form({
    title: `Edit namespace ${n.name}`, submit: 'Save namespace', class: 'card namespace-edit',
    fields: [{ name: 'description', label: 'description', type: 'textarea', value: n.description, emptyAs: '' }],
    onsubmit: async (v) => {
      const r = await api('PUT', `/admin/namespaces/${encodeURIComponent(n.name)}`, v);
      list.reload();
      return note(`saved namespace ${r.name}`, 'ok');
    },
  }));
}

export function renderNamespaces(root) {
  const msg = h('div', {});
  const list = pagedList({
    path: '/admin/namespaces',
    filters: [{ name: 'namespace_status', label: 'status', type: 'select', options: ['', 'active', 'suspended'] }],
    columns: [
      { title: 'name', get: (n) => n.name },
      { title: 'description', get: (n) => n.description },
      { title: 'status', get: (n) => n.status },
      {
        title: 'actions',
        get: (n) => h('div', { class: 'actions' },
          action(n.status === 'active' ? 'Suspend' : 'Activate', async () => {
            await api('PUT', `/admin/namespaces/${encodeURIComponent(n.name)}`, { status: n.status === 'active' ? 'suspended' : 'active' });
            list.reload();
          }, { onerror: (err) => clear(msg).appendChild(note(err.message, 'error')) }),
          h('button', { type: 'button', onclick: () => editNamespace(n, edit, list) }, 'Edit'),
          deleteButton(`/admin/namespaces/${encodeURIComponent(n.name)}`, list, msg)),
      },
    ],
  });
  const edit = h('div', { id: 'namespace-edit' });
  root.append(
    section('Namespaces', msg, list),
    edit,
    form({
      title: 'Create a namespace', submit: 'Create namespace',
      fields: [
        { name: 'name', label: 'name', required: true, placeholder: 'lowercase letters, digits, - and _' },
        { name: 'description', label: 'description' },
      ],
      onsubmit: async (v) => { const n = await api('POST', '/admin/namespaces', v); list.reload(); return note(`created namespace ${n.name}`, 'ok'); },
    }));
}

// One line per routable key (`key #3 → gpt-4o`), or why it routes nowhere.
function candidateText(c) {
  if (!c) return 'not resolved';
  if (c.error) return `routes nowhere: ${c.error}`;
  const ups = Object.entries(c.upstreams || {});
  if (!ups.length) return 'no routable key';
  return h('ul', { class: 'candidates' }, ups.map(([k, m]) => h('li', {}, `key #${k} \u2192 ${m}`)));
}

function candidateView(c) {
  if (!c) return note('no candidate could be computed');
  return h('pre', { class: 'json' }, JSON.stringify(c, null, 2));
}

// Weight, status and selector of one binding; the answer carries the
// candidate the data plane now resolves.
function editBinding(b, slot, list) {
  clear(slot).appendChild(form({
    title: `Edit binding #${b.id} (${b.namespace} / ${b.public_model})`, submit: 'Save binding', class: 'card binding-edit',
    fields: [
      { name: 'weight', label: 'weight', type: 'number', min: 0, value: b.weight },
      { name: 'status', label: 'status', type: 'select', options: ['active', 'disabled'], value: b.status },
      { name: 'selector_type', label: 'selector_type', type: 'select', options: ['exact', 'regex', 'normalize_exact'], value: b.selector_type },
      { name: 'selector_value', label: 'selector_value', value: b.selector_value },
    ],
    onsubmit: async (v) => {
      const r = await api('PUT', `/admin/bindings/${b.id}`, v);
      list.reload();
      return h('div', {}, note(`saved binding #${r.id}; resolved candidate:`, 'ok'), candidateView(r.candidate));
    },
  }));
}

export function renderBindings(root) {
  const msg = h('div', {});
  const list = pagedList({
    path: '/admin/bindings',
    fixed: { resolve: 'true' },
    filters: [{ name: 'namespace', label: 'namespace' }, { name: 'group_id', label: 'group_id', type: 'number' }],
    columns: [
      { title: 'id', get: (b) => b.id },
      { title: 'namespace', get: (b) => b.namespace },
      { title: 'public_model', get: (b) => b.public_model },
      { title: 'group_id', get: (b) => b.group_id },
      { title: 'weight', get: (b) => b.weight },
      { title: 'selector', get: (b) => `${b.selector_type} ${b.selector_value}` },
      { title: 'status', get: (b) => b.status },
      { title: 'resolves to', get: (b) => candidateText(b.candidate) },
      {
        title: '',
        get: (b) => h('div', { class: 'actions' },
          h('button', { type: 'button', onclick: () => editBinding(b, edit, list) }, 'Edit'),
          deleteButton(`/admin/bindings/${b.id}`, list, msg)),
      },
    ],
  });
  const edit = h('div', { id: 'binding-edit' });
  root.append(
    section('Bindings', msg, list),
    edit,
    form({
      title: 'Bind a public model to a provider group', submit: 'Create binding', class: 'card binding-form',
      fields: [
        { name: 'namespace', label: 'namespace', required: true },
        { name: 'public_model', label: 'public_model', required: true },
        { name: 'group_id', label: 'group_id', type: 'number', required: true },
        { name: 'weight', label: 'weight', type: 'number', min: 0 },
        { name: 'selector_type', label: 'selector_type', type: 'select', options: ['exact', 'regex', 'normalize_exact'] },
        { name: 'selector_value', label: 'selector_value' },
      ],
      onsubmit: async (v) => {
        const b = await api('POST', '/admin/bindings', v);
        list.reload();
        return h('div', {}, note(`created binding #${b.id}; resolved candidate:`, 'ok'), candidateView(b.candidate));
      },
    }));
}

function explanation(e) {
  const rows = [];
  for (const c of e.candidates) {
    if (!c.keys.length) rows.push([c, null]);
    for (const k of c.keys) rows.push([c, k]);
  }
  return h('div', { class: 'explanation' },
    note(e.routed ? `routed: ${text(e.namespace)} / ${text(e.public_model)}` : `not routed: ${text(e.error || e.token.reason)}`, e.routed ? 'ok' : 'error'),
    h('dl', { class: 'facts' },
      h('dt', {}, 'token'), h('dd', {}, e.token.accepted ? `accepted (key #${text(e.token.key_id)}, master #${text(e.token.master_id)})` : `refused: ${text(e.token.reason)}`),
      h('dt', {}, 'namespace'), h('dd', {}, text(e.namespace)),
      h('dt', {}, 'public model'), h('dd', {}, text(e.public_model))),
    table([
      { title: 'group', get: (r) => `#${r[0].group_id} ${r[0].group}` },
      { title: 'group weight', get: (r) => r[0].weight },
      { title: 'group error', get: (r) => r[0].error },
      { title: 'key', get: (r) => (r[1] ? `#${r[1].id}` : '') },
      { title: 'key weight', get: (r) => (r[1] ? r[1].weight : '') },
      { title: 'upstream model', get: (r) => (r[1] ? r[1].upstream_model : '') },
      { title: 'excluded', get: (r) => (r[1] ? r[1].excluded : '') },
    ], rows),
    (e.warnings || []).map((w) => note(w, 'error')));
}

export function renderExplain(root) {
  root.append(
    h('p', {}, 'What a data plane reading Redis now would do with a request for a model made with a child key: the namespace it lands in, the groups and keys it may pick, and why others are left out.'),
    form({
      title: 'Explain a route', submit: 'Explain', write: false, class: 'card explain-form',
      fields: [
        { name: 'key_id', label: 'key_id (child key id)', type: 'number' },
        { name: 'token', label: 'token (or the child key itself)', type: 'password' },
        { name: 'model', label: 'model', required: true },
      ],
      onsubmit: async (v) => explanation(await api('POST', '/admin/route/explain', v)),
    }));
}

async function features(box, msg) {
  const f = await load(box, '/admin/features');
  if (!f) return;
  clear(box).appendChild(table([
    { title: 'switch', get: (r) => r[0] },
    { title: 'value', get: (r) => r[1] },
    {
      title: '',
      get: (r) => action('Delete', async () => {
        await api('PUT', '/admin/features', { [r[0]]: null });
        features(box, msg);
      }, { danger: true, confirm: 'Really delete?', onerror: (err) => clear(msg).appendChild(note(err.message, 'error')) }),
    },
  ], Object.entries(f)));
}

export function renderFeatures(root) {
  const box = h('div', {});
  const msg = h('div', {});
  root.append(
    section('Data-plane switches', msg, box),
    form({
      title: 'Set a switch', submit: 'Set switch',
      fields: [{ name: 'feature', label: 'switch name', required: true }, { name: 'value', label: 'value', required: true }],
      onsubmit: async (v) => {
        try {
          await api('PUT', '/admin/features', { [v.feature || '']: v.value === undefined ? '' : v.value });
        } catch (err) {
          // the API names the switch itself as param: point at the name field
          if (err.param && err.param !== 'value') err.param = 'feature';
          throw err;
        }
        features(box, msg);
        return note('saved', 'ok');
      },
    }));
  features(box, msg);
}
