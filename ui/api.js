// The admin API from the browser: the token lives in sessionStorage only
// and travels as a bearer header; every error answer becomes an ApiError
// carrying the server's type, code, message and param.

const KEY = 'ezapi.token';

export class ApiError extends Error {
  constructor(status, body) {
    const e = (body && body.error) || {};
    super(e.message || `HTTP ${status}`);
    this.status = status;
    this.code = e.code || null;
    this.param = e.param || null;
    this.requestId = e.request_id || null;
    this.body = body || null; // e.g. the import's whole `result` beside a 422
  }
}

export const session = {
  token() { return sessionStorage.getItem(KEY); },
  set(t) { sessionStorage.setItem(KEY, t); },
  forget() { sessionStorage.removeItem(KEY); },
  // The claims, for display only (the server checks the signature).
  claims() {
    const t = this.token();
    if (!t) return null;
    try {
      const part = t.split('.')[1].replace(/-/g, '+').replace(/_/g, '/');
      return JSON.parse(atob(part + '='.repeat((4 - part.length % 4) % 4)));
    } catch (e) {
      return null;
    }
  },
  viewer() {
    const c = this.claims();
    return !c || c.role !== 'admin';
  },
};

// Called with the reason when the server refuses the token (401).
let onRefused = () => {};
export function whenRefused(fn) { onRefused = fn; }

export class RawBody {
  constructor(text, type) { this.text = text; this.type = type; }
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {}))
    if (v !== undefined && v !== null && v !== '') q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

// body is sent as JSON; a body that is {raw: text, type: 'application/yaml'}
// is sent as it is, with that type (an import document, read from a file).
export async function api(method, path, body) {
  const headers = { Accept: 'application/json' };
  const t = session.token();
  if (t) headers.Authorization = `Bearer ${t}`;
  const init = { method, headers, credentials: 'omit', cache: 'no-store' };
  if (body instanceof RawBody) {
    headers['Content-Type'] = body.type;
    init.body = body.text;
  } else if (body !== undefined) {
    headers['Content-Type'] = 'application/json';
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(path, init);
  } catch (e) {
    throw new ApiError(0, { error: { message: 'the server cannot be reached' } });
  }
  const type = res.headers.get('Content-Type') || '';
  let data = null;
  if (res.status !== 204) {
    if (type.startsWith('application/json')) data = await res.json();
    else data = await res.text();
  }
  if (!res.ok) {
    const err = new ApiError(res.status, typeof data === 'object' ? data : null);
    if (res.status === 401) onRefused(err.message);
    throw err;
  }
  return data;
}
