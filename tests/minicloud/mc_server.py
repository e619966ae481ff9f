"""minicloud server processes: ``mc_server.py {keystone|placement|nova} --state-dir DIR``.

Started (detached) by ``minicloudctl start``; reads DIR/run/config.json that
minicloudctl wrote. Not meant to be run by hand.
"""

import argparse
import json
import os
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def _load(state_dir):
    with open(os.path.join(state_dir, 'run', 'config.json')) as f:
        return json.load(f)


# --------------------------------------------------------------- keystone
def run_keystone(state_dir, cfg):
    import mc_common
    mc_common.install_sigterm_exit('keystone')
    os.environ['OS_KEYSTONE_CONFIG_DIR'] = os.path.join(state_dir, 'etc')
    os.environ['OS_KEYSTONE_CONFIG_FILES'] = 'keystone.conf'
    mc_common.patch_oslo_db_sqlite()
    from keystone.server import wsgi as ks_wsgi
    app = ks_wsgi.initialize_public_application()
    mc_common.serve_wsgi(app, cfg['ports']['keystone'], 'keystone')
    import logging
    logging.getLogger('minicloud').info(
        'keystone listening on 127.0.0.1:%d', cfg['ports']['keystone'])
    mc_common.wait_forever()


# -------------------------------------------------------------- placement
def run_placement(state_dir, cfg):
    import mc_common
    mc_common.install_sigterm_exit('placement')
    os.environ['OS_PLACEMENT_CONFIG_DIR'] = os.path.join(state_dir, 'etc')
    mc_common.patch_oslo_db_sqlite()
    from placement import wsgi as pl_wsgi
    app = pl_wsgi.init_application()
    mc_common.serve_wsgi(app, cfg['ports']['placement'], 'placement',
                         log_requests=False)
    import logging
    logging.getLogger('minicloud').info(
        'placement listening on 127.0.0.1:%d', cfg['ports']['placement'])
    mc_common.wait_forever()


# ------------------------------------------------------------------- nova
def run_nova(state_dir, cfg):
    # Native threading, never eventlet: must happen before any nova import.
    os.environ['OS_NOVA_DISABLE_EVENTLET_PATCHING'] = '1'
    from nova import monkey_patch
    monkey_patch.patch(backend='threading')
    import mc_common
    mc_common.install_sigterm_exit('nova')
    mc_common.patch_oslo_db_sqlite()
    import mc_nova
    mc_nova.main(state_dir, cfg)


def own_config_search():
    """Only the config files minicloud names: every service gets its files
    explicitly, so oslo.config's fallback search (<project>.conf and
    <project>.conf.d/ in ~/.<project>, ~, /etc/<project>, /etc) must find
    nothing, whatever this machine has there."""
    from oslo_config import cfg
    cfg.find_config_files = lambda *a, **k: []
    cfg.find_config_dirs = lambda *a, **k: []


def main():
    p = argparse.ArgumentParser()
    p.add_argument('service', choices=['keystone', 'placement', 'nova'])
    p.add_argument('--state-dir', required=True)
    a = p.parse_args()
    state_dir = os.path.abspath(a.state_dir)
    cfg = _load(state_dir)
    # `kill -USR1 PID` dumps every thread's stack to run/SERVICE-threads.txt
    import faulthandler
    import signal
    dump = open(os.path.join(state_dir, 'run', '%s-threads.txt' % a.service),
                'a')
    faulthandler.register(signal.SIGUSR1, file=dump, all_threads=True)
    sys.argv = [sys.argv[0]]  # oslo.config parses sys.argv in places
    own_config_search()
    if HERE not in sys.path:
        sys.path.insert(0, HERE)
    {'keystone': run_keystone, 'placement': run_placement,
     'nova': run_nova}[a.service](state_dir, cfg)


if __name__ == '__main__':
    sys.stdout.write('minicloud server starting at %s\n' % time.ctime())
    sys.stdout.flush()
    main()
