"""A word-splitting Storm bolt that misbehaves on request, for Antimony's supervision tests.

- `KILL`: SIGKILLs itself the first time it sees the line (a marker file, named by the
  topology's `conf.marker`, remembers it did), then splits it like any line.
- `HANG`: sleeps forever, every time.
- `GARBAGE`: writes a line that is not the protocol to standard output, every time.
- `HUGE`: writes a 4 MiB line (beyond the 1 MiB cap), every time.
- `FAIL`: raises, so that storm.py's BasicBolt reports the error and fails the tuple.
"""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "multilang"))
import storm  # noqa: E402


class MoodySplitBolt(storm.BasicBolt):
    def initialize(self, conf, context):
        self.marker = conf.get("marker")

    def process(self, tup):
        line = tup.values[0]
        if line == "KILL" and self.marker and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            os.kill(os.getpid(), signal.SIGKILL)
        if line == "HANG":
            time.sleep(3600)
        if line == "FAIL":
            raise ValueError("this line cannot be split")
        if line == "HUGE":
            sys.stdout.write("x" * (4 << 20) + "\n")
            sys.stdout.flush()
        if line == "GARBAGE":
            print("this is not the multilang protocol")
            sys.stdout.flush()
        for word in line.split():
            storm.emit([word.lower()])


if __name__ == "__main__":
    MoodySplitBolt().run()
