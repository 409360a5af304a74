// The pieces every page is made of: forms whose inputs are named after the
// API fields they set, lists paged with the API's cursors, buttons that a
// viewer cannot press, and the box that shows a new secret once.
import { h, clear, text, nextId } from './dom.js';
import { api, session } from './api.js';

export function viewer() { return session.viewer(); }

// A message line; kind is 'ok' or 'error'.
export function note(msg, kind) {
  return h('p', { class: `note ${kind || ''}`, role: kind === 'error' ? 'alert' : 'status' }, msg);
}

function fieldInput(f, id) {
  const common = { id, name: f.name, required: f.required };
  if (f.type === 'select') {
    return h('select', common,
      (f.options || []).map((o) => h('option', { value: o, selected: o === f.value ? 'selected' : null }, o === '' ? '(any)' : o)));
  }
  if (f.type === 'checkbox') return h('input', { ...common, type: 'checkbox', checked: f.value });
  if (f.type === 'textarea') return h('textarea', { ...common, rows: f.rows || 3, spellcheck: 'false' }, f.value || '');
  if (f.type === 'file') return h('input', { ...common, type: 'file', accept: f.accept });
  return h('input', {
    ...common,
    type: f.type === 'number' ? 'number' : f.type === 'password' ? 'password' : 'text',
    value: f.value === undefined || f.value === null ? null : Array.isArray(f.value) ? f.value.join(', ') : f.value,
    placeholder: f.placeholder,
    autocomplete: 'off',
    spellcheck: 'false',
    min: f.min,
  });
}

// The value the API gets for one field, or undefined to leave it out.
function fieldValue(f, el) {
  if (f.type === 'checkbox') return el.checked;
  if (f.type === 'file') return el.files.length ? el.files[0] : undefined;
  const v = el.value.trim();
  if (v === '') return f.emptyAs;
  if (f.type === 'number') return Number(v);
  if (f.type === 'list') return v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  return v;
}

// Shows err next to the input its param names, else under the form.
export function showError(formEl, err) {
  clearErrors(formEl);
  const param = err && err.param;
  const input = param ? formEl.querySelector(`[name="${CSS.escape(param)}"]`) : null;
  const msg = h('span', { class: 'field-error', role: 'alert', 'data-param': param || '' }, err.message || String(err));
  if (input) input.closest('.field').appendChild(msg);
  else formEl.querySelector('.form-result').appendChild(note(err.message || String(err), 'error'));
}

export function clearErrors(formEl) {
  formEl.querySelectorAll('.field-error').forEach((e) => e.remove());
  clear(formEl.querySelector('.form-result'));
}

// form({title, fields, submit, write, onsubmit(values, formEl)}): onsubmit
// may return a node shown under the form, or throw an ApiError.
export function form(spec) {
  const result = h('div', { class: 'form-result' });
  const fields = spec.fields.map((f) => {
    const id = nextId('f');
    const input = fieldInput(f, id);
    return h('div', { class: `field ${f.type === 'checkbox' ? 'check' : ''}` },
      h('label', { for: id }, f.label), input,
      f.help ? h('small', {}, f.help) : null);
  });
  const readOnly = spec.write !== false && viewer();
  fields.forEach((el, i) => { if (spec.fields[i].write && viewer()) el.querySelector('[name]').disabled = true; });
  const fs = h('fieldset', { disabled: readOnly }, spec.title ? h('legend', {}, spec.title) : null,
    fields, h('button', { type: 'submit' }, spec.submit || 'Save'),
    readOnly ? h('small', { class: 'viewer-note' }, 'read-only: viewer token') : null);
  const el = h('form', { class: spec.class || 'card', novalidate: true }, fs, result);
  el.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (readOnly) return;
    clearErrors(el);
    const values = {};
    for (const f of spec.fields) {
      const input = el.elements.namedItem(f.name);
      const v = fieldValue(f, input);
      if (v !== undefined) values[f.name] = v;
    }
    const button = el.querySelector('button[type=submit]');
    button.disabled = true;
    try {
      const shown = await spec.onsubmit(values, el);
      if (shown) result.appendChild(shown);
    } catch (err) {
      showError(el, err);
    } finally {
      button.disabled = false;
    }
  });
  return el;
}

// A button for a write (disabled for a viewer). With confirm, the first
// press asks and the second, within a few seconds, acts.
export function action(label, fn, opts) {
  const o = opts || {};
  const write = o.write !== false;
  const b = h('button', { type: 'button', class: o.danger ? 'danger' : null, disabled: write && viewer(), 'data-action': label });
  b.textContent = label;
  let armed = null;
  b.addEventListener('click', async () => {
    if (write && viewer()) return;
    if (o.confirm && !armed) {
      b.textContent = o.confirm;
      armed = setTimeout(() => { armed = null; b.textContent = label; }, 5000);
      return;
    }
    clearTimeout(armed);
    armed = null;
    b.textContent = label;
    b.disabled = true;
    try {
      await fn(b);
    } catch (err) {
      if (o.onerror) o.onerror(err);
    } finally {
      if (b.isConnected) b.disabled = false;
    }
  });
  return b;
}

// A secret the API answers once: shown with a copy button, kept nowhere.
export function secretBox(label, value) {
  const code = h('code', { class: 'secret-value' }, value);
  const status = h('span', { class: 'copied', role: 'status' });
  const copy = h('button', { type: 'button', class: 'copy' }, 'Copy');
  copy.addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(value);
      status.textContent = 'copied';
    } catch (e) {
      const r = document.createRange();
      r.selectNodeContents(code);
      const s = window.getSelection();
      s.removeAllRanges();
      s.addRange(r);
      status.textContent = 'selected: press Ctrl+C';
    }
  });
  return h('div', { class: 'secret', role: 'status' },
    h('strong', {}, label), h('p', {}, 'Shown once: copy it now. It cannot be displayed again.'),
    code, copy, status);
}

export function table(columns, rows) {
  return h('div', { class: 'table-wrap' }, h('table', {},
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c.title)))),
    h('tbody', {}, rows.length === 0
      ? h('tr', {}, h('td', { colspan: columns.length, class: 'empty' }, 'nothing here'))
      : rows.map((r) => h('tr', {}, columns.map((c) => {
        const v = c.get(r);
        return h('td', { 'data-label': c.title }, v instanceof Node || Array.isArray(v) ? v : text(v));
      }))))));
}

// A list paged with the API's cursors (never the whole table): filters is
// a list of form fields sent as query parameters.
export function pagedList(spec) {
  const wrap = h('section', { class: 'list' });
  const body = h('div', {});
  const pager = h('div', { class: 'pager' });
  const msg = h('div', {});
  let filterValues = {};
  let cursors = [null];
  const limit = spec.limit || 50;

  async function load() {
    clear(msg);
    const cursor = cursors[cursors.length - 1];
    const params = { ...(spec.fixed || {}), ...filterValues, limit, cursor };
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== '') q.set(k, v);
    let page;
    try {
      page = await api('GET', `${spec.path}?${q}`);
    } catch (err) {
      clear(body);
      msg.appendChild(note(err.message, 'error'));
      return;
    }
    clear(body).appendChild(table(spec.columns, page.data));
    clear(pager);
    pager.appendChild(h('span', {}, `page ${cursors.length}, ${page.data.length} row(s)`));
    if (cursors.length > 1) {
      pager.appendChild(h('button', { type: 'button', onclick: () => { cursors.pop(); load(); } }, 'Previous page'));
    }
    if (page.has_more) {
      pager.appendChild(h('button', { type: 'button', onclick: () => { cursors.push(page.next_cursor); load(); } }, 'Next page'));
    }
  }

  if (spec.filters && spec.filters.length) {
    wrap.appendChild(form({
      class: 'filters', fields: spec.filters, submit: 'Filter', write: false,
      onsubmit: async (values) => {
        filterValues = values;
        cursors = [null];
        await load();
      },
    }));
  }
  wrap.append(msg, body, pager);
  wrap.reload = () => { cursors = [null]; return load(); };
  load();
  return wrap;
}

// GET path; on failure the box shows the API's message and null comes back.
export async function load(box, path) {
  try {
    return await api('GET', path);
  } catch (err) {
    clear(box).appendChild(note(err.message, 'error'));
    return null;
  }
}

export function section(title, ...children) {
  return h('section', { class: 'card' }, h('h2', {}, title), children);
}
