"""Helpers of test_foundation_startup.py and test_foundation_serving.py: running bffd to
completion, starting it on prepared profile folders, stopping it cleanly, and checking that it
failed cleanly (an exit status, no crash, no sanitizer report)."""
import os
import signal
import socket
import subprocess
import textwrap

import harness
from harness import check, eq

HELLO = """\
    endpoint: GET /hello
    response:
      msg: { $value: hi }
"""
SIMPLE = "name: %s\nlisten: 127.0.0.1:@PORT@\naccess_log: off\n"


def run_bffd(args, env=None, timeout=20):
    """Runs bffd to completion: (exit status, stdout, stderr)."""
    full_env = dict(os.environ)
    for k, v in (env or {}).items():
        if v is None:
            full_env.pop(k, None)
        else:
            full_env[k] = v
    r = subprocess.run([harness.BFFD] + list(args), capture_output=True, text=True,
                       timeout=timeout, env=full_env)
    return r.returncode, r.stdout, r.stderr


def no_crash(status, output):
    """A clean failure: an exit status (not a signal, so no core) and no sanitizer report."""
    check(status >= 0, "bffd was killed by signal %d\n%s" % (-status, output))
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "Segmentation fault"):
        check(marker not in output, "sanitizer/crash output:\n%s" % output)


def make_profile(profile, endpoints=None, files=None, port=None):
    """Writes a profile folder; @PORT@ in profile.yaml becomes a free port. Returns (dir, port)."""
    d = os.path.join(harness.tmpdir(), "profile")
    os.makedirs(os.path.join(d, "endpoints"))
    port = port or harness.free_port()
    harness.write(os.path.join(d, "profile.yaml"),
                  textwrap.dedent(profile).replace("@PORT@", str(port)))
    for name, text in (endpoints or {}).items():
        harness.write(os.path.join(d, "endpoints", name), textwrap.dedent(text))
    for name, text in (files or {}).items():
        harness.write(os.path.join(d, name), text)
    return d, port


class Server:
    """bffd started on prepared profile folders; waits until every port in `ports` accepts."""

    def __init__(self, args, ports, env=None, preexec_fn=None):
        self.dir = harness.tmpdir()
        self.log_path = os.path.join(self.dir, "bffd.log")
        self.log = open(self.log_path, "wb")
        full_env = dict(os.environ)
        full_env.update(env or {})
        self.proc = subprocess.Popen([harness.BFFD] + list(args), stdout=self.log,
                                     stderr=subprocess.STDOUT, env=full_env, preexec_fn=preexec_fn)
        harness._processes.append(self.proc)
        for p in ports:
            harness.wait_port(p, proc=self.proc)

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def stop(self, sig=signal.SIGTERM, timeout=15):
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=timeout)


def stop_clean(srv, sig=signal.SIGTERM):
    status = srv.stop(sig)
    eq(status, 0, "bffd exit status after %s\n%s" % (signal.Signals(sig).name, srv.output()))
    no_crash(status, srv.output())


def port_is_closed(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return False
    except (ConnectionRefusedError, ConnectionResetError):
        return True
