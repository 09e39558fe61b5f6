"""A Storm spout that emits ten lines, then exits (the source is finished), and the first
time it runs writes garbage in the middle (a marker file, `conf.marker`, remembers)."""
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples", "multilang"))
import storm  # noqa: E402


class FlakySpout(storm.Spout):
    def initialize(self, conf, context):
        self.marker = conf["marker"]
        self.sent = 0

    def nextTuple(self):
        if self.sent == 5 and not os.path.exists(self.marker):
            open(self.marker, "w").close()
            print("garbage from a spout")
            sys.stdout.flush()
            return
        if self.sent == 10:
            sys.exit(0)
        storm.emit(["line %d" % self.sent], id=str(self.sent))
        self.sent += 1


if __name__ == "__main__":
    FlakySpout().run()
