"""Counts words and emits the counts that changed on each tick tuple (pyleus's word count).

Counts are kept per instance; the topology routes each word to one instance with a fields
grouping on `word`, so every count is whole.
"""
from collections import Counter

import storm


class CountWordsBolt(storm.Bolt):
    def initialize(self, conf, context):
        self.counts = Counter()
        self.changed = set()

    def process(self, tup):
        if tup.stream == "__tick":
            for word in sorted(self.changed):
                storm.emit([word, self.counts[word]])
            self.changed.clear()
            storm.ack(tup)
            return
        word = tup.values[0]
        self.counts[word] += 1
        self.changed.add(word)
        storm.ack(tup)


if __name__ == "__main__":
    CountWordsBolt().run()
