// Jobs dashboard — plain JavaScript, no build step, no dependencies. Served by the jobs-api
// binary under /dashboard with a strict Content-Security-Policy: no inline scripts or styles,
// every piece of data goes in through textContent (never innerHTML).
//
// Data comes from /api with the browser's stytch_session cookie (same origin) and the chosen
// organization in X-Organization-ID. Live updates come from the Server-Sent Events routes, read
// with fetch() (EventSource cannot send X-Organization-ID); when they are missing (404) the page
// polls every 2 s instead.
'use strict';

(function () {
  const TERMINAL = ['completed', 'completed_with_warnings', 'partial_success', 'failed', 'cancelled'];
  const STATUSES = ['pending', 'in_progress'].concat(TERMINAL);
  const STATUS_LABELS = {
    pending: 'Pending',
    in_progress: 'Running',
    completed: 'Completed',
    completed_with_warnings: 'Completed with warnings',
    partial_success: 'Partial success',
    failed: 'Failed',
    cancelled: 'Cancelled',
  };
  const PAGE_SIZE = 50;
  const ITEMS_PAGE_SIZE = 25;
  const POLL_MS = 2000;
  const RECONNECT_MS = 1500;
  const ORG_KEY = 'jobs-dashboard.organization';

  const state = {
    me: null,
    org: null, // organization id sent as X-Organization-ID (null: let the server choose)
    permissions: [],
    view: null, // { stop() } of the current page
  };

  // ---------- small helpers ----------

  function el(tag, props, children) {
    const node = document.createElement(tag);
    if (props) {
      for (const key of Object.keys(props)) {
        const value = props[key];
        if (value === undefined || value === null || value === false) continue;
        if (key === 'text') node.textContent = String(value);
        else if (key === 'className') node.className = value;
        else if (key === 'dataset') Object.assign(node.dataset, value);
        else if (key === 'onclick') node.addEventListener('click', value);
        else if (key === 'onchange') node.addEventListener('change', value);
        else node.setAttribute(key, value === true ? '' : String(value));
      }
    }
    for (const child of children || []) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  function isTerminal(status) {
    return TERMINAL.indexOf(status) >= 0;
  }

  function sleep(ms, signal) {
    return new Promise(function (resolve) {
      const timer = setTimeout(resolve, ms);
      if (signal) signal.addEventListener('abort', function () { clearTimeout(timer); resolve(); }, { once: true });
    });
  }

  const numberFormat = new Intl.NumberFormat('en-US');
  function formatCount(n) {
    return typeof n === 'number' ? numberFormat.format(n) : '—';
  }
  function formatPercent(n) {
    return typeof n === 'number' ? n.toFixed(1) + ' %' : '—';
  }
  function formatDuration(seconds) {
    if (typeof seconds !== 'number' || !isFinite(seconds)) return '—';
    if (seconds < 60) return seconds.toFixed(1) + ' s';
    const s = Math.floor(seconds);
    const h = Math.floor(s / 3600);
    const m = Math.floor((s % 3600) / 60);
    const sec = s % 60;
    if (h > 0) return h + ' h ' + String(m).padStart(2, '0') + ' m';
    return m + ' m ' + String(sec).padStart(2, '0') + ' s';
  }
  // "Nov 30, 2026, 14:05:09" (local time, 24-hour clock); `short` drops the year (tables).
  function formatTime(iso, short) {
    if (!iso) return '—';
    const date = new Date(iso);
    if (isNaN(date.getTime())) return iso;
    const options = { month: 'short', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' };
    if (!short) options.year = 'numeric';
    return date.toLocaleString(undefined, options);
  }

  // Stage and last message of a job (full Job JSON) or of a stream summary (its own fields).
  function stageOf(job) {
    if ('stage' in job) return job.stage;
    const meta = job.metadata || {};
    return typeof meta.stage === 'string' ? meta.stage : null;
  }
  function messageOf(job) {
    if ('message' in job && !('metadata' in job)) return job.message;
    const meta = job.metadata || {};
    if (typeof meta.last_message === 'string') return meta.last_message;
    if (typeof meta.message === 'string') return meta.message;
    return job.error_message || null;
  }
  function successRateOf(job) {
    return (job.processed_items || 0) + (job.failed_items || 0) > 0 ? job.success_rate : null;
  }

  // ---------- API ----------

  class ApiError extends Error {
    constructor(status, detail) {
      super(detail || 'HTTP ' + status);
      this.status = status;
    }
  }

  function apiHeaders(extra) {
    const headers = Object.assign({ Accept: 'application/json' }, extra || {});
    if (state.org) headers['X-Organization-ID'] = state.org;
    return headers;
  }

  async function api(path, options) {
    options = options || {};
    const init = {
      method: options.method || 'GET',
      credentials: 'same-origin',
      cache: 'no-store',
      headers: apiHeaders(options.noOrg ? null : undefined),
      signal: options.signal,
    };
    if (options.noOrg) delete init.headers['X-Organization-ID'];
    if (options.body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(options.body);
    }
    const response = await fetch(path, init);
    let data = null;
    try {
      data = await response.json();
    } catch (e) {
      data = null;
    }
    if (!response.ok) {
      let detail = data && data.detail;
      if (Array.isArray(detail)) detail = detail.map(function (d) { return d.msg; }).join('; ');
      if (response.status === 401) handleUnauthorized();
      throw new ApiError(response.status, typeof detail === 'string' ? detail : null);
    }
    return data;
  }

  function handleUnauthorized() {
    if (state.view) state.view.stop();
    state.view = null;
    setLive('', '');
    const main = document.getElementById('main');
    main.replaceChildren(
      el('div', { className: 'card narrow', 'data-testid': 'signed-out' }, [
        el('h1', { text: 'Sign in to see your jobs' }),
        el('p', { text: 'You are not signed in, or your session has ended.' }),
        el('a', { className: 'button button-primary', href: '/dashboard/sign-in', 'data-testid': 'sign-in-link', text: 'Sign in' }),
      ])
    );
    document.getElementById('sign-out-form').hidden = true;
    document.getElementById('org-area').hidden = true;
  }

  // ---------- Server-Sent Events over fetch ----------

  // Reads `url` as text/event-stream until `signal` aborts or `handlers.event` returns 'stop'
  // (and the server then ends the stream). Reconnects after a drop, sending Last-Event-ID.
  // handlers: event(type, data, id) → 'stop' | undefined; open(); unavailable(status); dropped().
  async function readEventStream(url, handlers, signal) {
    let lastEventId = null;
    let retryMs = RECONNECT_MS;
    let failures = 0;
    while (!signal.aborted) {
      let response;
      try {
        const headers = apiHeaders({ Accept: 'text/event-stream' });
        if (lastEventId !== null) headers['Last-Event-ID'] = lastEventId;
        response = await fetch(url, { credentials: 'same-origin', cache: 'no-store', headers: headers, signal: signal });
      } catch (e) {
        if (signal.aborted) return;
        failures += 1;
        handlers.dropped();
        await sleep(Math.min(retryMs * failures, 10000), signal);
        continue;
      }
      const type = response.headers.get('Content-Type') || '';
      if (response.status === 401) {
        handleUnauthorized();
        return;
      }
      if (response.status === 404 || response.status === 405 || response.status === 501 ||
          (response.ok && type.indexOf('text/event-stream') < 0)) {
        handlers.unavailable(response.status);
        return;
      }
      if (!response.ok || !response.body) {
        // 429/503 (too many streams, draining) and the like: try again later.
        failures += 1;
        handlers.dropped();
        const retryAfter = parseInt(response.headers.get('Retry-After') || '', 10);
        await sleep(retryAfter > 0 ? retryAfter * 1000 : Math.min(retryMs * failures, 10000), signal);
        continue;
      }
      failures = 0;
      handlers.open();
      let stop = false;
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      let buffer = '';
      let eventType = '';
      let data = [];
      let hasData = false;
      try {
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) break;
          buffer += decoder.decode(chunk.value, { stream: true });
          let newline;
          while ((newline = buffer.indexOf('\n')) >= 0) {
            let line = buffer.slice(0, newline);
            buffer = buffer.slice(newline + 1);
            if (line.endsWith('\r')) line = line.slice(0, -1);
            if (line === '') {
              if (hasData) {
                const result = handlers.event(eventType || 'message', data.join('\n'), lastEventId);
                if (result === 'stop') stop = true;
              }
              eventType = '';
              data = [];
              hasData = false;
              continue;
            }
            if (line.charAt(0) === ':') continue; // comment (heartbeat)
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            let value = colon < 0 ? '' : line.slice(colon + 1);
            if (value.charAt(0) === ' ') value = value.slice(1);
            if (field === 'event') eventType = value;
            else if (field === 'data') { data.push(value); hasData = true; }
            else if (field === 'id') { if (value.indexOf('\u0000') < 0) lastEventId = value; }
            else if (field === 'retry') { if (/^\d+$/.test(value)) retryMs = Math.max(500, parseInt(value, 10)); }
          }
        }
      } catch (e) {
        if (signal.aborted) return;
      }
      if (signal.aborted || stop) return;
      handlers.dropped();
      await sleep(retryMs, signal);
    }
  }

  // ---------- live status indicator ----------

  function setLive(stateName, text) {
    const node = document.getElementById('live-status');
    node.dataset.state = stateName;
    node.textContent = text;
  }

  // ---------- shared rendering of a job's live fields ----------

  function makeBadge() {
    return el('span', { className: 'badge', 'data-testid': 'status-badge' });
  }
  function setBadge(node, status) {
    node.dataset.status = status;
    node.textContent = STATUS_LABELS[status] || status;
  }

  // "Stalled": a running job whose worker sent no report for its stall threshold (the server
  // decides: `stalled` in every view; the stall watch pushes the change to live streams).
  function makeStallBadge() {
    return el('span', { className: 'badge badge-stalled', 'data-testid': 'stalled-badge', hidden: true, text: 'Stalled' });
  }
  function setStallBadge(node, job) {
    node.hidden = !job.stalled;
    node.title = job.stalled
      ? 'No progress report since ' + formatTime(job.last_reported_at || job.updated_at) +
        ' (more than ' + formatDuration(job.stall_after_seconds) + ')'
      : '';
  }

  function makeProgress(label, large) {
    const fill = el('div', { className: 'progress-fill' });
    const bar = el('div', {
      className: 'progress' + (large ? ' progress-large' : ''),
      role: 'progressbar',
      'aria-valuemin': '0',
      'aria-valuemax': '100',
      'aria-valuenow': '0',
      'aria-label': label,
      'data-testid': 'progress',
    }, [fill]);
    const text = el('span', { className: 'progress-label', 'data-testid': 'progress-label', 'aria-hidden': 'true' });
    return { bar: bar, fill: fill, text: text };
  }
  function setProgress(progress, job) {
    const pct = Math.max(0, Math.min(100, Number(job.progress_percentage) || 0));
    progress.bar.setAttribute('aria-valuenow', String(pct));
    progress.bar.setAttribute('aria-valuetext',
      pct.toFixed(1) + ' % (' + formatCount(job.processed_items + job.failed_items) + ' of ' + formatCount(job.total_items) + ' items)');
    progress.bar.dataset.status = job.status;
    progress.fill.style.width = pct + '%';
    progress.text.textContent = pct.toFixed(1) + ' %';
  }

  // Durations of running jobs tick locally between updates, from the server's own number (no
  // clock skew): base + time since it arrived.
  function durationTracker() {
    const entries = new Map(); // key → { node, base, at, running }
    const timer = setInterval(function () {
      const now = performance.now();
      entries.forEach(function (entry) {
        if (entry.running && typeof entry.base === 'number') {
          entry.node.textContent = formatDuration(entry.base + (now - entry.at) / 1000);
        }
      });
    }, 1000);
    return {
      set: function (key, node, job) {
        const running = job.status === 'in_progress' && job.duration_seconds !== null;
        entries.set(key, { node: node, base: job.duration_seconds, at: performance.now(), running: running });
        node.textContent = formatDuration(job.duration_seconds);
      },
      stop: function () { clearInterval(timer); entries.clear(); },
    };
  }

  // ---------- organization switcher ----------

  function renderOrgSwitcher() {
    const area = document.getElementById('org-area');
    const select = document.getElementById('org-select');
    const orgs = (state.me && state.me.organizations) || [];
    select.replaceChildren();
    for (const org of orgs) {
      if (!org.organization_id) continue;
      const label = org.organization_id + (org.role ? ' (' + org.role + ')' : '');
      select.append(el('option', { value: org.organization_id, text: label, selected: org.organization_id === state.org }));
    }
    area.hidden = select.options.length === 0;
    select.disabled = select.options.length < 2;
    select.onchange = function () {
      chooseOrg(select.value);
      navigate('/dashboard', true);
    };
  }

  function chooseOrg(orgID) {
    const orgs = (state.me && state.me.organizations) || [];
    const found = orgs.find(function (o) { return o.organization_id === orgID; }) || orgs[0] || null;
    state.org = found ? found.organization_id : null;
    state.permissions = found && Array.isArray(found.permissions) ? found.permissions : [];
    try {
      if (state.org) localStorage.setItem(ORG_KEY, state.org);
    } catch (e) { /* storage disabled: the choice lasts this page only */ }
  }

  async function loadMe() {
    return api('/api/me', { noOrg: true });
  }

  // ---------- routing ----------

  function navigate(path, replace) {
    if (replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
    route();
  }

  function route() {
    if (state.view) state.view.stop();
    state.view = null;
    const main = document.getElementById('main');
    main.replaceChildren();
    const match = /^\/dashboard\/jobs\/([^/]+)\/?$/.exec(location.pathname);
    if (match) state.view = jobView(main, decodeURIComponent(match[1]));
    else state.view = listView(main);
  }

  // Links inside the app change the view without a page load (so the org choice and the
  // signed-in state are not fetched again); modified clicks keep their usual meaning.
  function linkTo(path, props, children) {
    const link = el('a', Object.assign({ href: path }, props), children);
    link.addEventListener('click', function (event) {
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      navigate(path);
      document.getElementById('main').focus();
    });
    return link;
  }

  // ---------- the list ----------

  function listView(main) {
    const controller = new AbortController();
    const signal = controller.signal;
    const durations = durationTracker();
    const rows = new Map(); // job_id → { tr, refs, job }
    const params = new URLSearchParams(location.search);
    let filter = STATUSES.indexOf(params.get('status')) >= 0 ? params.get('status') : '';
    let nextCursor = null;
    let pollTimer = null;
    let generation = 0;

    document.title = 'Jobs — dashboard';
    const statusSelect = el('select', { id: 'status-filter', 'data-testid': 'status-filter' }, [
      el('option', { value: '', text: 'All statuses' }),
    ].concat(STATUSES.map(function (s) { return el('option', { value: s, text: STATUS_LABELS[s] }); })));
    statusSelect.value = filter;
    const countNode = el('span', { className: 'count num', 'data-testid': 'job-count', 'aria-live': 'polite' });
    const tbody = el('tbody', { 'data-testid': 'jobs-body' });
    const emptyNode = el('div', { className: 'empty', 'data-testid': 'jobs-empty', hidden: true, text: 'No jobs yet.' });
    const errorNode = el('p', { className: 'alert', role: 'alert', hidden: true, 'data-testid': 'list-error' });
    const loadMore = el('button', { type: 'button', className: 'button', 'data-testid': 'load-more', hidden: true, text: 'Load more' });

    function th(text, className) { return el('th', { scope: 'col', className: className, text: text }); }
    const table = el('table', { className: 'jobs-table', 'data-testid': 'jobs-table' }, [
      el('caption', { className: 'sr-only', text: 'Jobs of the organization, newest first' }),
      el('colgroup', null, [
        el('col', { className: 'col-job' }), el('col', { className: 'col-status' }), el('col', { className: 'col-progress' }),
        el('col', { className: 'col-processed' }), el('col', { className: 'col-count' }), el('col', { className: 'col-count' }),
        el('col', { className: 'col-rate' }), el('col', { className: 'col-duration' }), el('col', { className: 'col-stage' }),
      ]),
      el('thead', null, [el('tr', null, [
        th('Job'), th('Status'), th('Progress'), th('Processed', 'num'), th('Failed', 'num'), th('Warned', 'num'),
        th('Success', 'num'), th('Duration', 'num'), th('Stage / message'),
      ])]),
      tbody,
    ]);

    main.append(
      el('h1', { text: 'Jobs' }),
      el('div', { className: 'toolbar' }, [
        el('label', { for: 'status-filter', text: 'Status' }),
        statusSelect,
        countNode,
      ]),
      errorNode,
      el('div', { className: 'table-wrap jobs-wrap' }, [table, emptyNode]),
      el('div', { className: 'load-more' }, [loadMore])
    );

    function matchesFilter(job) {
      return !filter || job.status === filter;
    }

    function updateCount() {
      countNode.textContent = rows.size === 1 ? '1 job shown' : formatCount(rows.size) + ' jobs shown';
      emptyNode.hidden = rows.size > 0;
      if (rows.size === 0) emptyNode.textContent = filter ? 'No ' + STATUS_LABELS[filter].toLowerCase() + ' jobs.' : 'No jobs yet.';
    }

    function buildRow(job) {
      const id = job.job_id;
      const path = '/dashboard/jobs/' + encodeURIComponent(id);
      const badge = makeBadge();
      const stall = makeStallBadge();
      const progress = makeProgress('Progress of ' + job.job_type + ' ' + id, false);
      const refs = {
        badge: badge,
        stall: stall,
        progress: progress,
        type: el('span', { 'data-testid': 'job-type' }),
        processed: el('td', { className: 'num', 'data-label': 'Processed', 'data-testid': 'processed' }),
        failed: el('td', { className: 'num count-failed', 'data-label': 'Failed', 'data-testid': 'failed' }),
        warned: el('td', { className: 'num count-warned', 'data-label': 'Warned', 'data-testid': 'warned' }),
        rate: el('td', { className: 'num', 'data-label': 'Success', 'data-testid': 'success-rate' }),
        duration: el('td', { className: 'num', 'data-label': 'Duration', 'data-testid': 'duration' }),
        stage: el('span', { className: 'stage', 'data-testid': 'stage' }),
        message: el('span', { className: 'message', 'data-testid': 'message' }),
      };
      const tr = el('tr', { 'data-testid': 'job-row', 'data-job-id': id }, [
        el('td', { className: 'cell-job' }, [
          linkTo(path, { className: 'job-link', 'data-testid': 'job-link' }, [refs.type]),
          el('span', { className: 'job-id', text: id, title: id }),
        ]),
        el('td', { className: 'cell-status' }, [badge, stall]),
        el('td', { className: 'cell-progress' }, [el('div', { className: 'progress-cell' }, [progress.bar, progress.text])]),
        refs.processed, refs.failed, refs.warned, refs.rate, refs.duration,
        el('td', { className: 'cell-stage' }, [refs.stage, refs.message]),
      ]);
      const row = { tr: tr, refs: refs, job: null };
      updateRow(row, job);
      return row;
    }

    function updateRow(row, job) {
      const previous = row.job;
      // An older snapshot (a slow poll answer after a stream event) never overwrites a newer one.
      if (previous && previous.updated_at && job.updated_at && job.updated_at < previous.updated_at) return;
      row.job = job;
      const r = row.refs;
      r.type.textContent = job.job_type;
      setBadge(r.badge, job.status);
      setStallBadge(r.stall, job);
      setProgress(r.progress, job);
      r.processed.textContent = formatCount(job.processed_items) + ' / ' + formatCount(job.total_items);
      r.failed.textContent = formatCount(job.failed_items);
      r.failed.dataset.nonzero = String(job.failed_items > 0);
      r.warned.textContent = formatCount(job.warned_items);
      r.warned.dataset.nonzero = String(job.warned_items > 0);
      r.rate.textContent = formatPercent(successRateOf(job));
      durations.set(job.job_id, r.duration, job);
      const stage = stageOf(job);
      const message = messageOf(job);
      r.stage.textContent = stage || (message ? '' : '—');
      r.stage.hidden = !stage && !!message;
      r.message.textContent = message || '';
      r.message.title = message || '';
      r.message.hidden = !message;
      row.tr.dataset.status = job.status;
    }

    function upsert(job, atTop) {
      const existing = rows.get(job.job_id);
      if (existing) {
        updateRow(existing, job);
        return;
      }
      if (!matchesFilter(job)) return;
      const row = buildRow(job);
      rows.set(job.job_id, row);
      if (atTop) tbody.prepend(row.tr);
      else tbody.append(row.tr);
      updateCount();
    }

    function listURL(limit, cursor) {
      const q = new URLSearchParams();
      if (filter) q.set('status', filter);
      q.set('limit', String(limit));
      if (cursor) q.set('cursor', cursor);
      return '/api/jobs/?' + q.toString();
    }

    async function loadFirstPage() {
      const mine = ++generation;
      errorNode.hidden = true;
      try {
        const page = await api(listURL(PAGE_SIZE, null), { signal: signal });
        if (mine !== generation || signal.aborted) return;
        rows.clear();
        tbody.replaceChildren();
        for (const job of page.items) upsert(job, false);
        nextCursor = page.next_cursor;
        loadMore.hidden = !nextCursor;
        updateCount();
      } catch (e) {
        if (signal.aborted || e.status === 401) return;
        errorNode.textContent = 'Could not load the jobs: ' + e.message;
        errorNode.hidden = false;
      }
    }

    async function loadNextPage() {
      if (!nextCursor) return;
      const mine = generation;
      loadMore.disabled = true;
      try {
        const page = await api(listURL(PAGE_SIZE, nextCursor), { signal: signal });
        if (mine !== generation || signal.aborted) return;
        for (const job of page.items) upsert(job, false);
        nextCursor = page.next_cursor;
        loadMore.hidden = !nextCursor;
        updateCount();
      } catch (e) {
        if (signal.aborted || e.status === 401) return;
        errorNode.textContent = 'Could not load more jobs: ' + e.message;
        errorNode.hidden = false;
      } finally {
        loadMore.disabled = false;
      }
    }

    // Re-reads the newest jobs (as many as are shown, up to 200) and updates them in place or
    // inserts the new ones on top: after the stream (re)connects (changes made while it was not
    // open) and, without a stream, every 2 s.
    async function refreshInPlace() {
      const mine = generation;
      const limit = Math.min(200, Math.max(PAGE_SIZE, rows.size));
      const page = await api(listURL(limit, null), { signal: signal });
      if (mine !== generation || signal.aborted) return;
      const items = page.items.slice().reverse(); // oldest first, so new ones end up on top in order
      for (const job of items) upsert(job, true);
    }

    async function pollOnce() {
      if (signal.aborted) return;
      try {
        await refreshInPlace();
      } catch (e) { /* try again next time */ }
      if (!signal.aborted) pollTimer = setTimeout(pollOnce, POLL_MS);
    }

    function startPolling() {
      setLive('polling', 'Live updates unavailable — refreshing every 2 s');
      if (pollTimer === null) pollTimer = setTimeout(pollOnce, POLL_MS);
    }

    function startStream() {
      const q = new URLSearchParams();
      if (filter) q.set('status', filter);
      const url = '/api/jobs/events' + (q.toString() ? '?' + q.toString() : '');
      readEventStream(url, {
        open: function () { setLive('live', 'Live'); },
        dropped: function () { setLive('reconnecting', 'Reconnecting…'); },
        unavailable: function () { startPolling(); },
        event: function (type, data) {
          if (type === 'ready') {
            // The stream is subscribed: catch up on what changed before it was (first load, or
            // while it was reconnecting), in place.
            setLive('live', 'Live');
            refreshInPlace().catch(function () { /* the next event or resync corrects it */ });
          } else if (type === 'job') {
            let summary;
            try { summary = JSON.parse(data); } catch (e) { return; }
            if (summary && summary.job_id) upsert(summary, true);
          } else if (type === 'resync') {
            loadFirstPage();
          }
          return undefined;
        },
      }, signal);
    }

    statusSelect.addEventListener('change', function () {
      filter = statusSelect.value;
      const q = filter ? '?status=' + encodeURIComponent(filter) : '';
      history.replaceState(null, '', '/dashboard' + q);
      controller.abort();
      route(); // a fresh view: new list, new stream with the new filter
    });
    loadMore.addEventListener('click', loadNextPage);

    setLive('', 'Connecting…');
    loadFirstPage().then(function () {
      if (!signal.aborted) startStream();
    });

    return {
      stop: function () {
        controller.abort();
        durations.stop();
        if (pollTimer !== null) clearTimeout(pollTimer);
      },
    };
  }

  // ---------- a job ----------

  function jobView(main, jobID) {
    const controller = new AbortController();
    const signal = controller.signal;
    const durations = durationTracker();
    let pollTimer = null;
    let current = null;

    const back = linkTo('/dashboard', { className: 'back', 'data-testid': 'back' }, ['← All jobs']);
    main.append(back, el('p', { className: 'muted', text: 'Loading…' }));
    document.title = 'Job ' + jobID + ' — Jobs';

    const badge = makeBadge();
    const stallBadge = makeStallBadge();
    const progress = makeProgress('Progress of job ' + jobID, true);
    const title = el('h1', { 'data-testid': 'job-title' });
    const fields = {};
    function stat(key, label) {
      const dd = el('dd', { 'data-testid': key });
      fields[key] = dd;
      return el('div', null, [el('dt', { text: label }), dd]);
    }
    const stats = el('dl', { className: 'stats' }, [
      stat('processed', 'Processed'), stat('failed', 'Failed'), stat('warned', 'Warned'), stat('total', 'Total items'),
      stat('success-rate', 'Success rate'), stat('duration', 'Duration'), stat('eta', 'Estimated completion'),
      stat('last-report', 'Last report'), stat('error-count', 'Errors'),
      stat('warning-count', 'Warnings'), stat('stage', 'Stage'), stat('message', 'Last message'),
      stat('created', 'Created'), stat('started', 'Started'), stat('completed', 'Finished'), stat('triggered-by', 'Triggered by'),
    ]);
    const actionError = el('p', { className: 'alert', role: 'alert', hidden: true, 'data-testid': 'action-error' });
    const cancelButton = el('button', { type: 'button', className: 'button button-danger', 'data-testid': 'cancel-button', text: 'Cancel job' });
    const canCancel = state.permissions.indexOf('job:cancel') >= 0;
    const actions = el('div', { className: 'actions' }, [canCancel ? cancelButton : null]);
    const metadata = el('pre', { className: 'json', 'data-testid': 'metadata', tabindex: '0' });
    const errorsTable = itemsTable('errors', 'Errors');
    const warningsTable = itemsTable('warnings', 'Warnings');

    const header = el('section', { className: 'card job-header', 'aria-labelledby': 'job-heading' }, [
      el('div', { className: 'job-title' }, [title, badge, stallBadge]),
      el('span', { className: 'job-id', 'data-testid': 'job-id', text: jobID }),
      el('div', { className: 'progress-cell' }, [progress.bar, progress.text]),
      stats,
      actions,
      actionError,
    ]);
    title.id = 'job-heading';

    function render(job) {
      if (current && current.updated_at && job.updated_at && job.updated_at < current.updated_at) return;
      const before = current;
      current = job;
      title.textContent = job.job_type;
      setBadge(badge, job.status);
      setStallBadge(stallBadge, job);
      setProgress(progress, job);
      fields.eta.textContent = formatTime(job.estimated_completion_at);
      fields['last-report'].textContent = formatTime(job.last_reported_at);
      fields.processed.textContent = formatCount(job.processed_items);
      fields.failed.textContent = formatCount(job.failed_items);
      fields.warned.textContent = formatCount(job.warned_items);
      fields.total.textContent = formatCount(job.total_items);
      fields['success-rate'].textContent = formatPercent(successRateOf(job));
      durations.set('job', fields.duration, job);
      fields['error-count'].textContent = formatCount(job.error_count);
      fields['warning-count'].textContent = formatCount(job.warning_count);
      fields.stage.textContent = stageOf(job) || '—';
      fields.message.textContent = messageOf(job) || '—';
      fields.created.textContent = formatTime(job.created_at);
      fields.started.textContent = formatTime(job.started_at);
      fields.completed.textContent = formatTime(job.completed_at);
      fields['triggered-by'].textContent = job.triggered_by || '—';
      metadata.textContent = JSON.stringify(job.metadata || {}, null, 2);
      cancelButton.hidden = isTerminal(job.status);
      // New errors or warnings: a table still on its first, unfilled page shows them at once.
      if (before && before.error_count !== job.error_count) errorsTable.refreshIfOpenEnded();
      if (before && before.warning_count !== job.warning_count) warningsTable.refreshIfOpenEnded();
    }

    cancelButton.addEventListener('click', async function () {
      if (!current || isTerminal(current.status)) return;
      if (!window.confirm('Cancel job ' + current.job_type + ' (' + current.job_id + ')? Its worker will be told to stop on its next report.')) return;
      cancelButton.disabled = true;
      actionError.hidden = true;
      try {
        const job = await api('/api/jobs/' + encodeURIComponent(jobID) + '/cancel', {
          method: 'POST', body: { reason: 'Cancelled from the dashboard' },
        });
        render(job);
      } catch (e) {
        if (e.status === 401) return;
        actionError.textContent = 'Could not cancel: ' + e.message;
        actionError.hidden = false;
      } finally {
        cancelButton.disabled = false;
      }
    });

    // Errors and warnings: pages through the server's cursors (forward) and a stack of the
    // cursors already used (back).
    function itemsTable(kind, label) {
      const tbody = el('tbody', { 'data-testid': kind + '-body' });
      const pageLabel = el('span', { className: 'muted num', 'data-testid': kind + '-page' });
      const prev = el('button', { type: 'button', className: 'button', 'data-testid': kind + '-prev', text: 'Previous page' });
      const next = el('button', { type: 'button', className: 'button', 'data-testid': kind + '-next', text: 'Next page' });
      const empty = el('p', { className: 'muted', hidden: true, text: 'No ' + kind + '.', 'data-testid': kind + '-empty' });
      const problem = el('p', { className: 'alert', role: 'alert', hidden: true });
      const cursors = [null]; // cursor of each page shown so far; the last is the current page
      let nextCursor = null;
      let count = 0;
      const section = el('section', { 'aria-labelledby': kind + '-heading', 'data-testid': kind + '-section' }, [
        el('h2', { id: kind + '-heading', text: label }),
        el('div', { className: 'table-wrap' }, [
          el('table', { className: 'items-table', 'data-testid': kind + '-table' }, [
            el('colgroup', null, [
              el('col', { className: 'col-time' }), el('col', { className: 'col-entity' }),
              el('col', { className: 'col-type' }), el('col', { className: 'col-step' }), el('col'),
            ]),
            el('thead', null, [el('tr', null, ['Time', 'Entity', 'Type', 'Step', 'Message'].map(function (t) {
              return el('th', { scope: 'col', text: t });
            }))]),
            tbody,
          ]),
          empty,
        ]),
        problem,
        el('div', { className: 'pager' }, [prev, next, pageLabel]),
      ]);

      async function load(cursor) {
        const q = new URLSearchParams({ limit: String(ITEMS_PAGE_SIZE) });
        if (cursor) q.set('cursor', cursor);
        prev.disabled = true;
        next.disabled = true;
        try {
          const page = await api('/api/jobs/' + encodeURIComponent(jobID) + '/' + kind + '?' + q.toString(), { signal: signal });
          problem.hidden = true;
          tbody.replaceChildren.apply(tbody, page.items.map(function (item) {
            const entity = (item.entity_type || '') + ': ' + (item.entity_key || '');
            return el('tr', { 'data-testid': kind.slice(0, -1) + '-row' }, [
              el('td', { className: 'num', text: formatTime(item.timestamp, true), title: item.timestamp }),
              el('td', { text: entity }),
              el('td', { text: item.error_type || '' }),
              el('td', { text: item.step || '—' }),
              el('td', { text: item.message || '' }),
            ]);
          }));
          count = page.items.length;
          nextCursor = page.next_cursor;
          empty.hidden = count > 0 || cursors.length > 1;
        } catch (e) {
          if (signal.aborted || e.status === 401) return;
          problem.textContent = 'Could not load the ' + kind + ': ' + e.message;
          problem.hidden = false;
        }
        prev.disabled = cursors.length < 2;
        next.disabled = !nextCursor;
        pageLabel.textContent = 'Page ' + cursors.length;
      }

      next.addEventListener('click', function () {
        if (!nextCursor) return;
        cursors.push(nextCursor);
        load(nextCursor);
      });
      prev.addEventListener('click', function () {
        if (cursors.length < 2) return;
        cursors.pop();
        load(cursors[cursors.length - 1]);
      });

      return {
        section: section,
        load: function () { return load(null); },
        refreshIfOpenEnded: function () {
          if (cursors.length === 1 && !nextCursor && count < ITEMS_PAGE_SIZE) load(null);
        },
      };
    }

    function startPolling() {
      setLive('polling', 'Live updates unavailable — refreshing every 2 s');
      async function tick() {
        if (signal.aborted || (current && isTerminal(current.status))) return;
        try {
          render(await api('/api/jobs/' + encodeURIComponent(jobID), { signal: signal }));
        } catch (e) { /* try again */ }
        if (!signal.aborted && !(current && isTerminal(current.status))) pollTimer = setTimeout(tick, POLL_MS);
      }
      pollTimer = setTimeout(tick, POLL_MS);
    }

    function startStream() {
      if (current && isTerminal(current.status)) {
        setLive('', 'Finished');
        return;
      }
      readEventStream('/api/jobs/' + encodeURIComponent(jobID) + '/events', {
        open: function () { setLive('live', 'Live'); },
        dropped: function () { setLive('reconnecting', 'Reconnecting…'); },
        unavailable: function (status) {
          if (status === 404 && current === null) return;
          startPolling();
        },
        event: function (type, data) {
          if (type !== 'job') return undefined;
          let job;
          try { job = JSON.parse(data); } catch (e) { return undefined; }
          render(job);
          if (isTerminal(job.status)) {
            setLive('', 'Finished');
            return 'stop';
          }
          return undefined;
        },
      }, signal);
    }

    (async function () {
      setLive('', 'Connecting…');
      try {
        const job = await api('/api/jobs/' + encodeURIComponent(jobID), { signal: signal });
        if (signal.aborted) return;
        main.replaceChildren(back, header,
          el('section', { 'aria-labelledby': 'metadata-heading' }, [el('h2', { id: 'metadata-heading', text: 'Metadata' }), metadata]),
          errorsTable.section, warningsTable.section);
        render(job);
        errorsTable.load();
        warningsTable.load();
        startStream();
      } catch (e) {
        if (signal.aborted || e.status === 401) return;
        setLive('', '');
        const notFound = e.status === 404;
        main.replaceChildren(back, el('div', { className: 'card', 'data-testid': notFound ? 'not-found' : 'job-error' }, [
          el('h1', { text: notFound ? 'Job not found' : 'Could not load the job' }),
          el('p', { text: notFound ? 'There is no job ' + jobID + ' in this organization.' : e.message }),
        ]));
      }
    })();

    return {
      stop: function () {
        controller.abort();
        durations.stop();
        if (pollTimer !== null) clearTimeout(pollTimer);
      },
    };
  }

  // ---------- start ----------

  async function boot() {
    let me;
    try {
      me = await loadMe();
    } catch (e) {
      if (e.status === 401) return; // handleUnauthorized already showed the sign-in link
      const main = document.getElementById('main');
      main.replaceChildren(el('div', { className: 'card', 'data-testid': 'boot-error' }, [
        el('h1', { text: 'The dashboard could not start' }),
        el('p', { text: e.message }),
      ]));
      return;
    }
    state.me = me;
    let saved = null;
    try { saved = localStorage.getItem(ORG_KEY); } catch (e) { saved = null; }
    chooseOrg(saved);
    document.getElementById('sign-out-form').hidden = false;
    renderOrgSwitcher();
    if ((me.organizations || []).length === 0) {
      document.getElementById('main').replaceChildren(el('div', { className: 'card', 'data-testid': 'no-orgs' }, [
        el('h1', { text: 'No organization' }),
        el('p', { text: 'You are signed in but not a member of any organization. Ask an owner to add you.' }),
      ]));
      return;
    }
    window.addEventListener('popstate', route);
    route();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', boot);
  else boot();
})();
