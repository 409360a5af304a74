// Providers: provider groups with their keys; the preset and custom forms
// (a group and its first key in one write); edit a group; add, edit, ban,
// unban and delete keys; delete a group (the API's 409 says what still
// refers to it).
import { h, clear, text } from './dom.js';
import { api } from './api.js';
import { action, form, note, pagedList, section, table } from './widgets.js';

const TYPES = ['', 'openai', 'compatible', 'anthropic', 'claude', 'claude-code', 'codex', 'gemini-cli',
  'antigravity', 'gemini', 'google', 'aistudio', 'vertex', 'vertex-express'];

function created(r) {
  return note(`created group #${r.group.id} ${r.group.name} with key #${r.api_key.id} (${r.api_key.api_key})`, 'ok');
}

// Edits one key's weight and status in a form under the key list.
function editKey(k, box, msg, reload) {
  const slot = box.parentNode.querySelector('.key-edit');
  clear(slot).appendChild(form({
    title: `Edit key #${k.id}`, submit: 'Save key', class: 'card key-edit-form',
    fields: [
      { name: 'weight', label: 'weight', type: 'number', min: 0, value: k.weight },
      { name: 'status', label: 'status', type: 'select', options: ['active', 'auto_disabled', 'manual_disabled'], value: k.status },
      { name: 'ban_reason', label: 'ban_reason', value: k.ban_reason },
      { name: 'ban_until', label: 'ban_until (RFC 3339 with a zone)', value: k.ban_until },
    ],
    onsubmit: async (v) => {
      await api('PUT', `/admin/api-keys/${k.id}`, v);
      clear(slot);
      clear(box).appendChild(reload());
      clear(msg).appendChild(note(`saved key #${k.id}`, 'ok'));
      return null;
    },
  }));
}

function keyRows(group, box, msg) {
  const reload = () => keyRows(group, box, msg);
  const fail = (err) => { clear(msg).appendChild(note(err.message, 'error')); };
  return pagedList({
    path: '/admin/api-keys',
    fixed: { group_id: group.id },
    filters: [{ name: 'api_key_status', label: 'status', type: 'select', options: ['', 'active', 'auto_disabled', 'manual_disabled'] }],
    columns: [
      { title: 'key', get: (k) => `#${k.id}` },
      { title: 'secret', get: (k) => k.api_key },
      { title: 'weight', get: (k) => k.weight },
      { title: 'status', get: (k) => k.status },
      { title: 'ban', get: (k) => (k.ban_reason || k.ban_until ? `${text(k.ban_reason)} until ${text(k.ban_until)}` : '') },
      {
        title: 'actions',
        get: (k) => h('div', { class: 'actions' },
          k.status === 'active'
            ? action('Ban', async () => {
              await api('PUT', `/admin/api-keys/${k.id}`, { status: 'manual_disabled', ban_reason: 'banned from the console' });
              clear(box).appendChild(reload());
            }, { onerror: fail })
            : action('Unban', async () => {
              await api('PUT', `/admin/api-keys/${k.id}`, { status: 'active', ban_reason: null, ban_until: null });
              clear(box).appendChild(reload());
            }, { onerror: fail }),
          h('button', { type: 'button', onclick: () => editKey(k, box, msg, reload) }, 'Edit'),
          action('Delete', async () => {
            await api('DELETE', `/admin/api-keys/${k.id}`);
            clear(box).appendChild(reload());
          }, { danger: true, confirm: 'Really delete?', onerror: fail })),
      },
    ],
  });
}

function groupDetail(g, detail, list) {
  const msg = h('div', {});
  const keysBox = h('div', {});
  keysBox.appendChild(keyRows(g, keysBox, msg));
  clear(detail).appendChild(section(`Group #${g.id} ${g.name}`,
    h('p', {}, `type ${g.type}, base_url ${text(g.base_url)}, status ${g.status}, models ${g.models.join(', ')}`),
    msg,
    form({
      title: 'Edit group', submit: 'Save group', class: 'card group-edit',
      fields: [
        { name: 'name', label: 'name', value: g.name },
        { name: 'type', label: 'type', type: 'select', options: TYPES.slice(1), value: g.type },
        { name: 'base_url', label: 'base_url', value: g.base_url, placeholder: 'https://llm.example.com/v1' },
        { name: 'status', label: 'status', type: 'select', options: ['active', 'disabled'], value: g.status },
        { name: 'models', label: 'models (comma-separated)', type: 'list', value: g.models },
      ],
      onsubmit: async (v) => {
        const r = await api('PUT', `/admin/provider-groups/${g.id}`, v);
        list.reload();
        groupDetail(r, detail, list);
        return null;
      },
    }),
    h('h3', {}, 'Keys'), keysBox, h('div', { class: 'key-edit' }),
    form({
      title: 'Add a key', submit: 'Add key',
      fields: [
        { name: 'api_key', label: 'api_key', type: 'password', required: true },
        { name: 'weight', label: 'weight', type: 'number', min: 0 },
      ],
      onsubmit: async (v) => {
        const k = await api('POST', '/admin/api-keys', { group_id: g.id, ...v });
        clear(keysBox).appendChild(keyRows(g, keysBox, msg));
        return note(`added key #${k.id}`, 'ok');
      },
    }),
    h('p', {}, action('Delete group', async () => {
      await api('DELETE', `/admin/provider-groups/${g.id}`);
      clear(detail).appendChild(note(`deleted group #${g.id}`, 'ok'));
      list.reload();
    }, { danger: true, confirm: 'Really delete the group?', onerror: (err) => clear(msg).appendChild(note(`cannot delete: ${err.message}`, 'error')) }))));
}

export function render(root) {
  const detail = h('div', { id: 'group-detail' });
  const list = pagedList({
    path: '/admin/provider-groups',
    filters: [
      { name: 'group_status', label: 'status', type: 'select', options: ['', 'active', 'disabled'] },
      { name: 'group_type', label: 'type', type: 'select', options: TYPES },
    ],
    columns: [
      { title: 'id', get: (g) => g.id },
      { title: 'name', get: (g) => g.name },
      { title: 'type', get: (g) => g.type },
      { title: 'base_url', get: (g) => g.base_url },
      { title: 'models', get: (g) => g.models.join(', ') },
      { title: 'status', get: (g) => g.status },
      { title: '', get: (g) => h('button', { type: 'button', onclick: () => groupDetail(g, detail, list) }, 'Open') },
    ],
  });
  root.append(
    section('Provider groups', list),
    detail,
    h('div', { class: 'grid' },
      form({
        title: 'New provider from a preset', submit: 'Create preset provider',
        fields: [
          { name: 'preset', label: 'preset', type: 'select', options: ['openai', 'anthropic', 'gemini'], required: true },
          { name: 'api_key', label: 'api_key', type: 'password', required: true },
          { name: 'name', label: 'name (optional)' },
          { name: 'models', label: 'models (comma-separated, optional)', type: 'list' },
          { name: 'weight', label: 'weight', type: 'number', min: 0 },
        ],
        onsubmit: async (v) => { const r = await api('POST', '/admin/providers/preset', v); list.reload(); return created(r); },
      }),
      form({
        title: 'New custom provider (OpenAI-compatible)', submit: 'Create custom provider', class: 'card custom-provider',
        fields: [
          { name: 'name', label: 'name', required: true },
          { name: 'base_url', label: 'base_url', placeholder: 'https://llm.example.com/v1', required: true },
          { name: 'api_key', label: 'api_key', type: 'password', required: true },
          { name: 'models', label: 'models (comma-separated)', type: 'list', required: true, emptyAs: [] },
          { name: 'weight', label: 'weight', type: 'number', min: 0 },
        ],
        onsubmit: async (v) => { const r = await api('POST', '/admin/providers/custom', v); list.reload(); return created(r); },
      })));
}
