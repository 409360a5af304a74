// Audit: records newest first, filtered the way the API filters them and
// paged with its cursor; each record's before/after shown as a diff.
import { h } from './dom.js';
import { pagedList } from './widgets.js';

// Every path whose value differs between before and after, as
// [path, before, after]; values are JSON text.
export function diff(before, after, path, out) {
  const o = out || [];
  const p = path || '';
  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  if (isObj(before) && isObj(after)) {
    const keys = new Set([...Object.keys(before), ...Object.keys(after)]);
    for (const k of [...keys].sort()) diff(before[k], after[k], p ? `${p}.${k}` : k, o);
  } else if (JSON.stringify(before) !== JSON.stringify(after)) {
    o.push([p || '(value)', before, after]);
  }
  return o;
}

function show(v) {
  return v === undefined ? '(absent)' : JSON.stringify(v);
}

function changes(rec) {
  const c = rec.changes;
  if (!c) return '';
  if (!('before' in c) && !('after' in c)) return h('code', {}, JSON.stringify(c));
  // a create has no before, a delete no after: compare with an empty row
  const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);
  const before = c.before === null || c.before === undefined ? (isObj(c.after) ? {} : undefined) : c.before;
  const after = c.after === null || c.after === undefined ? (isObj(c.before) ? {} : undefined) : c.after;
  const rows = diff(before, after);
  const d = h('details', {}, h('summary', {}, `${rows.length} change(s)`),
    h('table', { class: 'diff' }, h('tbody', {}, rows.map((r) => h('tr', {},
      h('th', { scope: 'row' }, r[0]),
      h('td', { class: 'before' }, show(r[1])),
      h('td', { class: 'after' }, show(r[2])))))));
  return d;
}

export function render(root) {
  root.appendChild(pagedList({
    path: '/admin/audit',
    limit: 25,
    filters: [
      { name: 'actor_type', label: 'actor_type', type: 'select', options: ['', 'admin', 'master', 'anonymous'] },
      { name: 'actor', label: 'actor' },
      { name: 'action', label: 'action', placeholder: 'namespace.create' },
      { name: 'resource', label: 'resource' },
      { name: 'resource_id', label: 'resource_id' },
      { name: 'since', label: 'since (RFC 3339)' },
      { name: 'until', label: 'until (RFC 3339)' },
    ],
    columns: [
      { title: 'time', get: (r) => r.time },
      { title: 'actor', get: (r) => `${r.actor_type} ${r.actor}` },
      { title: 'action', get: (r) => r.action },
      { title: 'resource', get: (r) => `${r.resource} ${r.resource_id}` },
      { title: 'request', get: (r) => `${r.method} ${r.path} \u2192 ${r.status}` },
      { title: 'from', get: (r) => `${r.remote_addr} ${r.user_agent}` },
      { title: 'before \u2192 after', get: changes },
    ],
  }));
}
