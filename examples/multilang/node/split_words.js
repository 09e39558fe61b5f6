/**
 * The word splitter of split_words.py, in Node.js with Storm's storm.js (vendored beside it):
 * the multilang protocol, not the language, is the contract.
 */
var storm = require('./storm');
var BasicBolt = storm.BasicBolt;

function SplitWordsBolt() {
    BasicBolt.call(this);
}

SplitWordsBolt.prototype = Object.create(BasicBolt.prototype);
SplitWordsBolt.prototype.constructor = SplitWordsBolt;

SplitWordsBolt.prototype.process = function(tup, done) {
    var self = this;
    tup.values[0].split(/\s+/).forEach(function(word) {
        word = word.replace(/^[.,;:!?"'()]+|[.,;:!?"'()]+$/g, '').toLowerCase();
        if (word) {
            // storm.js asks for the tasks each tuple went to: Antimony answers with none
            // (the engine, not the bolt, places records).
            self.emit({tuple: [word], anchorTupleId: tup.id}, function(taskIds) {});
        }
    });
    done();
};

new SplitWordsBolt().run();
