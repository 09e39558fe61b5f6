"""Emits a fixed text line by line, then exits: the source is finished."""
import sys

import storm

LINES = [
    "the cow jumped over the moon",
    "an apple a day keeps the doctor away",
    "four score and seven years ago",
    "snow white and the seven dwarfs",
] * 5


class LineSpout(storm.Spout):
    OUTPUT_FIELDS = ["line"]

    def initialize(self, conf, context):
        self.next_line = 0

    def nextTuple(self):
        if self.next_line == len(LINES):
            sys.exit(0)
        storm.emit([LINES[self.next_line]], id=str(self.next_line))
        self.next_line += 1


if __name__ == "__main__":
    LineSpout().run()
