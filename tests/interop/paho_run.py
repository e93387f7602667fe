"""Runs one of Eclipse Paho's interoperability suites against a broker on 127.0.0.1:PORT.

The suites are not part of this repository: clone eclipse/paho.mqtt.testing and point this
script at its `interoperability` folder (docs/broker.md, "Paho interoperability suites").

    python3 tests/interop/paho_run.py DIR client_test.py PORT [Test.test_name ...]
    python3 tests/interop/paho_run.py DIR client_test5.py PORT [Test.test_name ...]

The suites run unchanged; this wrapper only does what their command lines cannot:

* `client_test.py` parses `-p PORT` itself and then calls `unittest.main()`, which parses the
  same arguments again and stops at `-p`. Here `unittest.main` gets only `-v` and the test
  names. The host stays the scripts' default `localhost`: both test `o in ("--help")`, a
  string, so `-h` matches it and prints the usage instead.
* Some tests loop until the server disconnects them (`test_flow_control2`), which never ends
  against a server that does not. Every test gets a watchdog (`PAHO_TEST_LIMIT`, default 90 s)
  that turns a hang into an error.
"""

import os
import runpy
import signal
import sys
import unittest


class Watchdog(Exception):
    """A test ran past its limit (not TimeoutError: that is `socket.timeout`, which the
    Paho receiver swallows)."""


def main() -> None:
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    folder, suite, port, names = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
    folder = os.path.abspath(folder)
    os.chdir(folder)
    sys.path.insert(0, folder)

    limit = int(os.environ.get("PAHO_TEST_LIMIT", "90"))

    def on_alarm(_signum, _frame):
        raise Watchdog(f"test ran longer than {limit} s")

    signal.signal(signal.SIGALRM, on_alarm)
    plain_run = unittest.TestCase.run

    def guarded_run(self, result=None):
        signal.alarm(limit)
        try:
            return plain_run(self, result)
        finally:
            signal.alarm(0)

    unittest.TestCase.run = guarded_run

    plain_main = unittest.main

    def suite_main(*args, **kwargs):
        kwargs["argv"] = [suite, "-v"] + names
        kwargs["exit"] = False
        return plain_main(*args, **kwargs)

    unittest.main = suite_main
    sys.argv = [suite, "-p", port]
    runpy.run_path(suite, run_name="__main__")


if __name__ == "__main__":
    main()
