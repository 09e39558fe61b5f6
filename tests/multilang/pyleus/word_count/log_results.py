"""Appends each tuple to the file its pyleus options name (`--options '{"path": ...}'`)."""
import argparse
import json

import storm


class LogResultsBolt(storm.BasicBolt):
    OUTPUT_FIELDS = []

    def initialize(self, conf, context):
        parser = argparse.ArgumentParser()
        parser.add_argument("--options", default="{}")
        options = json.loads(parser.parse_args().options)
        self.out = open(options["path"], "a")

    def process(self, tup):
        self.out.write(json.dumps(tup.values) + "\n")
        self.out.flush()


if __name__ == "__main__":
    LogResultsBolt().run()
