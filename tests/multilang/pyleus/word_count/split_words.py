import storm


class SplitWordsBolt(storm.BasicBolt):
    OUTPUT_FIELDS = ["word"]

    def process(self, tup):
        for word in tup.values[0].split():
            storm.emit([word])


if __name__ == "__main__":
    SplitWordsBolt().run()
