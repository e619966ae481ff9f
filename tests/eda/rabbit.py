"""A throwaway RabbitMQ (Debian's rabbitmq-server) on loopback for the EDA tests.

Its own node name, ports, Erlang cookie (HOME), mnesia, logs and config under a state
directory; its own epmd on its own port. Started and stopped by pid: the system service is
never touched.
"""

import os
import shutil
import signal
import socket
import subprocess
import time

RABBIT_BIN = '/usr/lib/rabbitmq/bin/rabbitmq-server'
USER = 'stackops'
PASSWORD = 'eda-test-secret-3141'


def port_open(port, host='127.0.0.1'):
    """Whether something holds the port: a bind test, never a connect (a connect to a free port in
    the ephemeral range can connect to itself and then block the port for a minute)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        return False
    except OSError:
        return True
    finally:
        sock.close()


def find_epmd():
    found = shutil.which('epmd')
    if found:
        return found
    for root in ('/usr/lib/erlang/erts-*/bin/epmd', '/usr/lib/erlang/bin/epmd'):
        import glob
        hits = sorted(glob.glob(root))
        if hits:
            return hits[-1]
    raise RuntimeError('epmd not found (is erlang-base installed?)')


def _alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(') ', 1)[1][0] != 'Z'
    except OSError:
        return False


class RabbitMQ:
    def __init__(self, state_dir, port):
        self.state_dir = os.path.abspath(state_dir)
        self.port = port                # AMQP
        self.dist_port = port + 1       # Erlang distribution
        self.epmd_port = port + 2
        self.node = 'eda%d@localhost' % port
        self.proc = None
        self.epmd = None

    @property
    def url(self):
        return 'amqp://%s:%s@127.0.0.1:%d/' % (USER, PASSWORD, self.port)

    @property
    def oslo_url(self):
        return 'rabbit://%s:%s@127.0.0.1:%d/' % (USER, PASSWORD, self.port)

    def env(self):
        d = self.state_dir
        env = {k: v for k, v in os.environ.items() if not k.startswith(('RABBITMQ_', 'ERL_'))}
        env.update(
            HOME=os.path.join(d, 'home'),
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_NODE_IP_ADDRESS='127.0.0.1',
            RABBITMQ_NODE_PORT=str(self.port),
            RABBITMQ_DIST_PORT=str(self.dist_port),
            ERL_EPMD_PORT=str(self.epmd_port),
            ERL_EPMD_ADDRESS='127.0.0.1',
            RABBITMQ_MNESIA_BASE=os.path.join(d, 'mnesia'),
            RABBITMQ_LOG_BASE=os.path.join(d, 'log'),
            RABBITMQ_CONFIG_FILE=os.path.join(d, 'rabbitmq.conf'),
            RABBITMQ_ADVANCED_CONFIG_FILE=os.path.join(d, 'advanced.config'),
            RABBITMQ_ENABLED_PLUGINS_FILE=os.path.join(d, 'enabled_plugins'),
            RABBITMQ_ENABLED_PLUGINS='',
            RABBITMQ_PID_FILE=os.path.join(d, 'rabbit.pid'),
            RABBITMQ_CONF_ENV_FILE=os.path.join(d, 'rabbitmq-env.conf'),
            RABBITMQ_ALLOW_INPUT='',
        )
        return env

    def _write_config(self):
        d = self.state_dir
        for sub in ('home', 'mnesia', 'log'):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        cookie = os.path.join(d, 'home', '.erlang.cookie')
        if not os.path.exists(cookie):
            with open(cookie, 'w') as f:
                f.write('EDATESTCOOKIE%d' % self.port)
            os.chmod(cookie, 0o400)
        with open(os.path.join(d, 'rabbitmq.conf'), 'w') as f:
            f.write('listeners.tcp.1 = 127.0.0.1:%d\n'
                    'default_user = %s\n'
                    'default_pass = %s\n'
                    'loopback_users = none\n'
                    'disk_free_limit.absolute = 50MB\n'
                    'log.console = false\n'
                    'log.file.level = info\n' % (self.port, USER, PASSWORD))
        with open(os.path.join(d, 'advanced.config'), 'w') as f:
            f.write('[].\n')
        with open(os.path.join(d, 'enabled_plugins'), 'w') as f:
            f.write('[].\n')
        with open(os.path.join(d, 'rabbitmq-env.conf'), 'w') as f:
            f.write('')

    def start(self, timeout=90):
        if not os.path.exists(RABBIT_BIN):
            raise RuntimeError('%s missing: install Debian\'s rabbitmq-server' % RABBIT_BIN)
        ours = self.epmd is not None and self.epmd.poll() is None
        for p in (self.port, self.dist_port) + (() if ours else (self.epmd_port,)):
            if port_open(p):
                raise RuntimeError('port %d is taken: choose another EDA_RABBIT_PORT' % p)
        self._write_config()
        env = self.env()
        try:
            with open(os.path.join(self.state_dir, 'log', self.node + '.log'), errors='replace') as f:
                self._log_offset = len(f.read())
        except OSError:
            self._log_offset = 0
        log = open(os.path.join(self.state_dir, 'log', 'stdout.log'), 'ab')
        if self.epmd is None or self.epmd.poll() is not None:
            self.epmd = subprocess.Popen([find_epmd(), '-address', '127.0.0.1', '-port', str(self.epmd_port)],
                                         env=env, stdout=log, stderr=log, start_new_session=True)
        self.proc = subprocess.Popen([RABBIT_BIN], env=env, stdout=log, stderr=log, cwd=self.state_dir,
                                     start_new_session=True)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError('rabbitmq-server exited with %s; see %s' % (
                    self.proc.returncode, os.path.join(self.state_dir, 'log')))
            if self._listening() and self._amqp_ok():  # noqa
                return self
            time.sleep(0.3)
        self.stop()
        raise RuntimeError('rabbitmq-server did not open port %d within %ds' % (self.port, timeout))

    def _listening(self):
        marker = 'started TCP listener on 127.0.0.1:%d' % self.port
        try:
            with open(os.path.join(self.state_dir, 'log', self.node + '.log'), errors='replace') as f:
                return marker in f.read()[self._log_offset:]
        except OSError:
            return False

    def _amqp_ok(self):
        try:
            import amqp
        except ImportError:
            return True
        try:
            conn = amqp.Connection('127.0.0.1:%d' % self.port, userid=USER, password=PASSWORD,
                                   connect_timeout=2)
            conn.connect()
            conn.close()
            return True
        except Exception:  # noqa: BLE001 - not up yet
            return False

    def stop(self, timeout=30):
        """Stop the broker (SIGTERM to its pid, SIGKILL after timeout). epmd stays for a restart."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        # the shell wrapper may exit before the Erlang VM: wait for the VM's pid too
        beam = self._beam_pid()
        deadline = time.time() + timeout
        while beam and _alive(beam) and time.time() < deadline:
            time.sleep(0.2)
        if beam and _alive(beam):
            os.kill(beam, signal.SIGKILL)
        while port_open(self.port) and time.time() < deadline + 10:
            time.sleep(0.2)
        self.proc = None

    def _beam_pid(self):
        try:
            with open(os.path.join(self.state_dir, 'rabbit.pid')) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def close(self):
        self.stop()
        if self.epmd is not None and self.epmd.poll() is None:
            self.epmd.terminate()
            try:
                self.epmd.wait(10)
            except subprocess.TimeoutExpired:
                self.epmd.kill()
        self.epmd = None
