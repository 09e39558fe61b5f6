"""Splits each line into words: a Storm BasicBolt, as pyleus and storm-starter write them.

BasicBolt anchors every emit to the input tuple and acknowledges it when process returns,
so Antimony replays a line whose words a dying process had not finished.
"""
import storm


class SplitWordsBolt(storm.BasicBolt):
    def process(self, tup):
        for word in tup.values[0].split():
            word = word.strip(".,;:!?\"'()").lower()
            if word:
                storm.emit([word])


if __name__ == "__main__":
    SplitWordsBolt().run()
