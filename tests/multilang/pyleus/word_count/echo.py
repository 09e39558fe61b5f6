import storm


class EchoBolt(storm.BasicBolt):
    OUTPUT_FIELDS = ["word", "count"]

    def process(self, tup):
        storm.emit(tup.values)


if __name__ == "__main__":
    EchoBolt().run()
