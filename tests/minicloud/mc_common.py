"""Shared pieces of the minicloud server processes (keystone, placement, nova).

Imported by ``mc_server.py`` inside each server process. Keep imports of
OpenStack code inside the functions: each process must control what it
imports first (nova must select its threading backend before anything else).
"""

import contextlib
import json
import logging
import os
import signal
import sys
import threading
import time

BUSY_TIMEOUT_MS = 60000


def patch_oslo_db_sqlite():
    """Make SQLite usable under concurrent writers (oslo.db enginefacade).

    * WAL journal (readers never block the writer) and a long busy_timeout;
    * pysqlite's implicit transaction handling is switched off and every
      transaction is started by an explicit ``BEGIN``;
    * enginefacade *writer* transactions start with ``BEGIN IMMEDIATE`` so two
      read-then-write transactions queue on the write lock (busy_timeout)
      instead of failing at once with "database is locked". Readers stay
      deferred (a reader nested in a writer must not wait for the write lock).
    """
    from oslo_db.sqlalchemy import enginefacade
    from oslo_db.sqlalchemy import engines
    from sqlalchemy import event

    if getattr(engines, '_minicloud_patched', False):
        return
    tls = threading.local()
    orig_create_engine = engines.create_engine

    def create_engine(sql_connection, *args, **kwargs):
        engine = orig_create_engine(sql_connection, *args, **kwargs)
        if engine.dialect.name != 'sqlite':
            return engine

        @event.listens_for(engine, 'connect')
        def _on_connect(dbapi_conn, record):
            dbapi_conn.isolation_level = None
            cur = dbapi_conn.cursor()
            cur.execute('PRAGMA busy_timeout = %d' % BUSY_TIMEOUT_MS)
            if engine.url.database not in (None, '', ':memory:'):
                cur.execute('PRAGMA journal_mode = WAL')
                cur.execute('PRAGMA synchronous = NORMAL')
            cur.close()

        def _on_begin(conn):
            # The BEGIN itself is emitted lazily, right before the first
            # statement: nova opens `writer.independent` transactions inside
            # a writer that has not run any SQL yet (instance_create ->
            # security_group_ensure_default); an eager BEGIN IMMEDIATE in
            # the outer one would make the inner one wait for itself.
            immediate = (getattr(tls, 'immediate', False) or
                         conn.info.pop('minicloud_immediate', False))
            if 'in_transaction' not in conn.info:
                conn.info['minicloud_begin'] = ('BEGIN IMMEDIATE' if immediate
                                                else 'BEGIN')
                conn.info['in_transaction'] = True

        def _before_execute(conn, cursor, statement, parameters, context,
                            executemany):
            begin = conn.info.pop('minicloud_begin', None)
            if begin:
                cursor.execute(begin)

        def _on_end(conn):
            conn.info.pop('minicloud_begin', None)

        # Replace oslo.db's listener (same job, always a plain BEGIN).
        for fn in list(engine.dispatch.begin):
            if getattr(fn, '__name__', '') == '_sqlite_emit_begin':
                event.remove(engine, 'begin', fn)
        event.listen(engine, 'begin', _on_begin)
        event.listen(engine, 'before_cursor_execute', _before_execute)
        event.listen(engine, 'commit', _on_end)
        event.listen(engine, 'rollback', _on_end)

        return engine

    engines.create_engine = create_engine

    orig_create_connection = enginefacade._TransactionFactory._create_connection

    def _create_connection(self, mode):
        conn = orig_create_connection(self, mode)
        if mode is enginefacade._WRITER:
            conn.info['minicloud_immediate'] = True
        else:
            conn.info.pop('minicloud_immediate', None)
        return conn

    enginefacade._TransactionFactory._create_connection = _create_connection

    orig_session = enginefacade._TransactionContext._session

    @contextlib.contextmanager
    def _session(self, savepoint=False, context=None):
        outermost = self.session is None and self.connection is None
        with orig_session(self, savepoint, context) as session:
            if outermost and self.mode is enginefacade._WRITER:
                # Take the write lock now: the BEGIN is emitted when the
                # session first acquires its connection.
                tls.immediate = True
                try:
                    session.connection()
                finally:
                    tls.immediate = False
            yield session

    enginefacade._TransactionContext._session = _session
    engines._minicloud_patched = True


def serve_wsgi(app, port, name, host='127.0.0.1', log_requests=True):
    """Serve ``app`` on host:port with a threaded WSGI server (werkzeug).

    Returns the server; ``serve_forever`` runs in a daemon thread.
    log_requests: an access-log line per request at DEBUG (off for nova and
    placement, whose own requestlog middleware already logs each request).
    """
    from werkzeug import serving

    log = logging.getLogger('minicloud.wsgi.%s' % name)

    class Handler(serving.WSGIRequestHandler):
        def log_request(self, code='-', size='-'):
            if log_requests:
                log.debug('%s "%s" status: %s len: %s', self.address_string(),
                          self.requestline, code, size)

        def log(self, type, message, *args):  # noqa: A002
            getattr(log, type if type in ('info', 'warning', 'error')
                    else 'info')(message.rstrip(), *args)

    server = serving.make_server(host, port, app, threaded=True,
                                 request_handler=Handler)
    server.daemon_threads = True
    t = threading.Thread(target=server.serve_forever, name='wsgi-%s' % name,
                         daemon=True)
    t.start()
    return server


def install_sigterm_exit(name):
    """SIGTERM/SIGINT: flush the logs and leave at once (threads included)."""

    def _handler(signum, frame):
        try:
            logging.getLogger('minicloud').info(
                '%s: got signal %s, exiting', name, signum)
            for h in logging.getLogger().handlers:
                with contextlib.suppress(Exception):
                    h.flush()
        finally:
            os._exit(0)

    signal.signal(signal.SIGTERM, _handler)
    signal.signal(signal.SIGINT, _handler)


def wait_forever():
    while True:
        time.sleep(3600)


def write_json_atomic(path, data):
    tmp = '%s.tmp.%d' % (path, os.getpid())
    with open(tmp, 'w') as f:
        json.dump(data, f, indent=2, sort_keys=True)
    os.replace(tmp, path)


def fatal(msg):
    logging.getLogger('minicloud').error('%s', msg)
    sys.stderr.write('minicloud: %s\n' % msg)
    sys.stderr.flush()
    for h in logging.getLogger().handlers:
        with contextlib.suppress(Exception):
            h.flush()
    os._exit(1)
