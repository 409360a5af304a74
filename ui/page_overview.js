// Overview: readiness of PostgreSQL, Redis, syncer and logger; sync status,
// outbox depth and the last full resync; per-process request and error
// counts read from /metrics; and "verify" (Redis against PostgreSQL).
import { h, clear, text } from './dom.js';
import { api } from './api.js';
import { action, load, note, section, table } from './widgets.js';

function badge(ok, yes, no) {
  return h('span', { class: `badge ${ok ? 'ok' : 'bad'}` }, ok ? yes : no);
}

// Sums of the Prometheus text by process: requests, 4xx, 5xx and the
// PostgreSQL and Redis error counters.
export function perProcess(textBody) {
  const out = {};
  const get = (p) => (out[p] = out[p] || { requests: 0, client: 0, server: 0, pg: 0, redis: 0 });
  for (const line of textBody.split('\n')) {
    const m = /^(ezapi_[a-z_]+)\{([^}]*)\} ([0-9.eE+-]+)$/.exec(line);
    if (!m) continue;
    const labels = {};
    for (const l of m[2].matchAll(/([a-z_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2];
    const n = Number(m[3]);
    if (!labels.process) continue;
    const p = get(labels.process);
    if (m[1] === 'ezapi_http_requests_total') {
      p.requests += n;
      if (labels.code && labels.code[0] === '4') p.client += n;
      if (labels.code && labels.code[0] === '5') p.server += n;
    } else if (m[1] === 'ezapi_pg_errors_total') {
      p.pg += n;
    } else if (m[1] === 'ezapi_redis_errors_total') {
      p.redis += n;
    }
  }
  return out;
}

async function health(box) {
  let r;
  try {
    r = await api('GET', '/health/ready');
  } catch (err) {
    // 503 answers the same shape: not ready
    clear(box).appendChild(note(`readiness: ${err.message}`, 'error'));
    return;
  }
  clear(box).appendChild(table([
    { title: 'part', get: (x) => x[0] },
    { title: 'state', get: (x) => x[1] },
    { title: 'detail', get: (x) => x[2] },
  ], [
    ['PostgreSQL', badge(r.postgres.ok, 'ok', 'down'), ''],
    ['Redis', badge(r.redis.ok, 'ok', 'down'), ''],
    ['syncer', badge(r.syncer.alive, 'alive', 'not alive'), `pid ${r.syncer.pid}, queue ${r.syncer.queue_depth}, restarts ${r.syncer.restarts}`],
    ['logger', badge(r.logger.alive, 'alive', 'not alive'), `pid ${r.logger.pid}, queue ${r.logger.queue_depth}, restarts ${r.logger.restarts}`],
    ['overall', badge(r.status === 'ready', 'ready', 'not ready'), ''],
  ]));
}

async function syncStatus(box) {
  const s = await load(box, '/admin/sync/status');
  if (!s) return;
  const run = s.last_full_resync;
  clear(box).appendChild(h('dl', { class: 'facts' },
    h('dt', {}, 'syncer'), h('dd', {}, badge(s.syncer.alive, 'alive', 'not alive'), ` lag ${s.syncer.lag_seconds}s, queue ${s.syncer.queue_depth}`),
    h('dt', {}, 'Redis'), h('dd', {}, badge(s.redis.ok, 'ok', 'down'), ` meta:sync version ${text(s.redis.version)}`),
    h('dt', {}, 'outbox depth'), h('dd', { id: 'outbox-depth' }, `${s.outbox.pending} pending, ${s.outbox.failed} failed`,
      s.outbox.oldest_pending_at ? `, oldest ${s.outbox.oldest_pending_at}` : ''),
    h('dt', {}, 'last full resync'), h('dd', { id: 'last-resync' }, run
      ? `#${run.id} ${run.status}, requested ${run.requested_at}, finished ${text(run.finished_at)}${run.error ? `, error: ${run.error}` : ''}`
      : 'none yet'),
    h('dt', {}, 'last full sync'), h('dd', {}, s.last_full_sync_at ? new Date(s.last_full_sync_at * 1000).toISOString() : 'never')));
}

async function metrics(box) {
  let body;
  try {
    body = await api('GET', '/metrics');
  } catch (err) {
    clear(box).appendChild(note(`${err.message} (/metrics answers only the addresses in metrics_allow)`, 'error'));
    return;
  }
  const procs = perProcess(body);
  const rows = Object.keys(procs).sort().map((p) => [p, procs[p]]);
  clear(box).appendChild(table([
    { title: 'process', get: (r) => r[0] },
    { title: 'requests', get: (r) => r[1].requests },
    { title: '4xx', get: (r) => r[1].client },
    { title: '5xx', get: (r) => r[1].server },
    { title: 'PostgreSQL errors', get: (r) => r[1].pg },
    { title: 'Redis errors', get: (r) => r[1].redis },
  ], rows));
}

async function verify(box) {
  clear(box).appendChild(note('comparing Redis with PostgreSQL\u2026'));
  const v = await load(box, '/admin/sync/verify');
  if (!v) return;
  clear(box);
  box.appendChild(note(v.equal ? `equal: ${text(v.keys_checked)} keys checked` : 'Redis differs from PostgreSQL', v.equal ? 'ok' : 'error'));
  const rows = [];
  for (const [res, list] of Object.entries(v.differences || {}))
    for (const d of list) rows.push({ res, ...d });
  if (rows.length) {
    box.appendChild(table([
      { title: 'resource', get: (d) => d.res },
      { title: 'key', get: (d) => d.key },
      { title: 'field', get: (d) => d.field },
      { title: 'expected (PostgreSQL)', get: (d) => d.expected },
      { title: 'actual (Redis)', get: (d) => d.actual },
    ], rows));
  }
}

export function render(root) {
  const hb = h('div', {}, note('loading\u2026'));
  const sb = h('div', {}, note('loading\u2026'));
  const mb = h('div', {}, note('loading\u2026'));
  const vb = h('div', { id: 'verify-result' });
  root.append(
    h('div', { class: 'grid' }, section('Health', hb), section('Sync', sb)),
    section('Requests per process (/metrics)', mb),
    section('Verify', h('p', {}, 'Compare what Redis holds with what PostgreSQL projects.'),
      action('Verify now', () => verify(vb), { write: false }), vb),
    h('p', {}, action('Refresh', () => Promise.all([health(hb), syncStatus(sb), metrics(mb)]), { write: false })));
  health(hb);
  syncStatus(sb);
  metrics(mb);
}
