from collections import Counter

import storm


class CountWordsBolt(storm.Bolt):
    OUTPUT_FIELDS = ["word", "count"]

    def initialize(self, conf, context):
        self.counts = Counter()
        self.changed = set()

    def process(self, tup):
        if tup.stream == "__tick":
            for word in sorted(self.changed):
                storm.emit([word, self.counts[word]])
            self.changed.clear()
        else:
            self.counts[tup.values[0]] += 1
            self.changed.add(tup.values[0])
        storm.ack(tup)


if __name__ == "__main__":
    CountWordsBolt().run()
