"""Offline stand-in for ansible-test's pip bootstrap script (get-pip.py).

ansible-test downloads get-pip.py from a host this project cannot reach; this script
does the same job with the interpreter's bundled pip (ensurepip), then installs the
pinned pip and packages ansible-test asks for from the package index pip is set up with.
"""
import subprocess
import sys

# In a child process: ensurepip sets PIP_CONFIG_FILE=/dev/null in its own environment,
# which would hide the machine's pip configuration from the install below.
subprocess.check_call([sys.executable, "-m", "ensurepip", "--upgrade", "--default-pip"])
args = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
sys.exit(subprocess.call([sys.executable, "-m", "pip", "install"] + args))
