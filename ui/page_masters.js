// Masters: create with limits and access, rotate the master key, revoke
// every child key, delete; a master's child keys (issue, revoke). A new
// secret is shown once, in a box with a copy button, and kept nowhere.
import { h, clear } from './dom.js';
import { api } from './api.js';
import { action, form, note, pagedList, secretBox, section } from './widgets.js';

// PUT /admin/keys/{id} (name, status, expiry, model and IP limits) and
// PUT /admin/keys/{id}/access (namespaces) of one child key.
function editChildKey(k, slot, list) {
  const saved = (r) => { list.reload(); return note(`saved key #${r.id}`, 'ok'); };
  clear(slot).appendChild(h('div', { class: 'grid' },
    form({
      title: `Edit child key #${k.id}`, submit: 'Save key', class: 'card child-key-edit',
      fields: [
        { name: 'name', label: 'name', value: k.name },
        { name: 'status', label: 'status', type: 'select', options: ['active', 'suspended'], value: k.status },
        { name: 'expires_at', label: 'expires_at (RFC 3339; empty: never)', value: k.expires_at, emptyAs: null },
        { name: 'model_limits', label: 'model_limits (comma-separated; empty: any model)', type: 'list', value: k.model_limits, emptyAs: null },
        { name: 'allow_ips', label: 'allow_ips (addresses or CIDRs, comma-separated; empty: any)', type: 'list', value: k.allow_ips, emptyAs: null },
      ],
      onsubmit: async (v) => saved(await api('PUT', `/admin/keys/${k.id}`, v)),
    }),
    form({
      title: `Access of child key #${k.id}`, submit: 'Save key access', class: 'card child-key-access',
      fields: [
        { name: 'namespaces', label: 'namespaces (comma-separated)', type: 'list', value: k.namespaces, emptyAs: [] },
        { name: 'default_namespace', label: 'default_namespace', value: k.default_namespace, emptyAs: null },
      ],
      onsubmit: async (v) => saved(await api('PUT', `/admin/keys/${k.id}/access`, v)),
    })));
}

function childKeys(m, box, msg, edit) {
  const list = pagedList({
    path: `/admin/masters/${m.id}/keys`,
    filters: [{ name: 'key_status', label: 'status', type: 'select', options: ['', 'active', 'suspended', 'revoked', 'expired'] }],
    columns: [
      { title: 'id', get: (k) => k.id },
      { title: 'name', get: (k) => k.name },
      { title: 'prefix', get: (k) => k.key_prefix },
      { title: 'namespaces', get: (k) => k.namespaces.join(', ') },
      { title: 'status', get: (k) => k.status },
      { title: 'expires_at', get: (k) => k.expires_at },
      {
        title: '',
        get: (k) => (k.status === 'revoked' ? '' : h('div', { class: 'actions' },
          h('button', { type: 'button', onclick: () => editChildKey(k, edit, list) }, 'Edit'),
          action('Revoke', async () => {
            await api('DELETE', `/admin/keys/${k.id}`);
            list.reload();
          }, { danger: true, confirm: 'Really revoke?', onerror: (err) => clear(msg).appendChild(note(err.message, 'error')) }))),
      },
    ],
  });
  return list;
}

function masterDetail(m, detail, masters) {
  const msg = h('div', {});
  const secret = h('div', { class: 'secret-slot' });
  const keysBox = h('div', {});
  const keyEdit = h('div', { class: 'child-key-slot' });
  const keys = childKeys(m, keysBox, msg, keyEdit);
  keysBox.appendChild(keys);
  const fail = (err) => clear(msg).appendChild(note(err.message, 'error'));
  clear(detail).appendChild(section(`Master #${m.id} ${m.name}`,
    h('p', {}, `group ${m.group}, status ${m.status}, epoch ${m.epoch}, max_child_keys ${m.max_child_keys}, global_qps ${m.global_qps}, namespaces ${m.namespaces.join(', ') || '(none)'}, active keys ${m.active_keys}`),
    msg, secret,
    h('div', { class: 'actions' },
      action('Rotate master key', async () => {
        const r = await api('POST', `/admin/masters/${m.id}/rotate-key`, {});
        clear(secret).appendChild(secretBox(`New master key of ${r.name}`, r.master_key));
      }, { confirm: 'The old key stops now: rotate?', onerror: fail }),
      action('Revoke all child keys', async () => {
        await api('POST', `/admin/masters/${m.id}/revoke-keys`, {});
        keys.reload();
        clear(msg).appendChild(note('every child key issued so far is revoked', 'ok'));
      }, { danger: true, confirm: 'Really revoke them all?', onerror: fail }),
      action('Delete master', async () => {
        await api('DELETE', `/admin/masters/${m.id}`);
        clear(detail).appendChild(note(`deleted master #${m.id}`, 'ok'));
        masters.reload();
      }, { danger: true, confirm: 'Really delete, with all its keys?', onerror: fail })),
    h('div', { class: 'grid' },
      form({
        title: 'Edit limits and status', submit: 'Save master', class: 'card edit-master',
        fields: [
          { name: 'name', label: 'name', value: m.name },
          { name: 'status', label: 'status', type: 'select', options: ['active', 'suspended'], value: m.status },
          { name: 'max_child_keys', label: 'max_child_keys', type: 'number', min: 0, value: m.max_child_keys },
          { name: 'global_qps', label: 'global_qps', type: 'number', min: 0, value: m.global_qps },
        ],
        onsubmit: async (v) => {
          const r = await api('PUT', `/admin/masters/${m.id}`, v);
          masters.reload();
          masterDetail(r, detail, masters);
          return null;
        },
      }),
      form({
        title: 'Access (namespaces)', submit: 'Save access', class: 'card master-access',
        fields: [
          { name: 'namespaces', label: 'namespaces (comma-separated)', type: 'list', value: m.namespaces, emptyAs: [] },
          { name: 'default_namespace', label: 'default_namespace', value: m.default_namespace, emptyAs: null },
          { name: 'propagate', label: 'propagate to its child keys', type: 'select', options: ['none', 'restrict', 'all'] },
        ],
        onsubmit: async (v) => {
          const r = await api('PUT', `/admin/masters/${m.id}/access`, v);
          masters.reload();
          masterDetail(r, detail, masters);
          return null;
        },
      })),
    h('h3', {}, 'Child keys'), keysBox, keyEdit,
    form({
      title: 'Issue a child key', submit: 'Issue child key', class: 'card issue-key',
      fields: [
        { name: 'name', label: 'name' },
        { name: 'namespaces', label: 'namespaces (comma-separated)', type: 'list' },
        { name: 'default_namespace', label: 'default_namespace' },
        { name: 'expires_at', label: 'expires_at (RFC 3339, optional)' },
      ],
      onsubmit: async (v) => {
        const k = await api('POST', `/admin/masters/${m.id}/keys`, v);
        keys.reload();
        clear(secret).appendChild(secretBox(`Child key #${k.id}`, k.token));
        return null;
      },
    })));
}

export function render(root) {
  const detail = h('div', { id: 'master-detail' });
  const secret = h('div', { class: 'secret-slot' });
  const masters = pagedList({
    path: '/admin/masters',
    filters: [{ name: 'master_status', label: 'status', type: 'select', options: ['', 'active', 'suspended'] }],
    columns: [
      { title: 'id', get: (m) => m.id },
      { title: 'name', get: (m) => m.name },
      { title: 'group', get: (m) => m.group },
      { title: 'status', get: (m) => m.status },
      { title: 'namespaces', get: (m) => m.namespaces.join(', ') },
      { title: 'active keys', get: (m) => `${m.active_keys} / ${m.max_child_keys}` },
      { title: 'key prefix', get: (m) => m.key_prefix },
      { title: '', get: (m) => h('button', { type: 'button', onclick: () => { clear(secret); masterDetail(m, detail, masters); } }, 'Open') },
    ],
  });
  root.append(
    section('Masters', masters),
    secret,
    detail,
    form({
      title: 'Create a master', submit: 'Create master', class: 'card create-master',
      fields: [
        { name: 'name', label: 'name', required: true },
        { name: 'group', label: 'group' },
        { name: 'max_child_keys', label: 'max_child_keys', type: 'number', min: 0 },
        { name: 'global_qps', label: 'global_qps', type: 'number', min: 0 },
        { name: 'namespaces', label: 'namespaces (comma-separated)', type: 'list' },
        { name: 'default_namespace', label: 'default_namespace' },
      ],
      onsubmit: async (v) => {
        const m = await api('POST', '/admin/masters', v);
        masters.reload();
        clear(secret).appendChild(secretBox(`Master key of ${m.name} (#${m.id})`, m.master_key));
        return null;
      },
    }));
}
