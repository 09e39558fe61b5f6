"""Emits each tuple as it came: the least a Storm bolt can do, to measure what the multilang
protocol itself costs (bench/run.sh)."""
import storm


class EchoBolt(storm.BasicBolt):
    def process(self, tup):
        storm.emit(tup.values)


if __name__ == "__main__":
    EchoBolt().run()
