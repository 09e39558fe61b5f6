//! What flows between components: the [`Record`] trait and the [`StreamType`] each stream carries.

use serde::{Serialize, de::DeserializeOwned};

/// The type of the records a topology moves between its components.
///
/// A topology has one record type, usually an enum with a variant per kind of record (raw text,
/// parsed events, alerts...). The engine never looks inside a record; it asks it for a key hash
/// when a stream uses fields grouping, and for a description when a record is set aside.
///
/// Records cross worker threads and, in cluster mode, process boundaries, so they must be
/// serialisable: nothing process-local (no `Rc`, no pointers into shared state) may hide in one.
pub trait Record: Clone + Default + Send + Serialize + DeserializeOwned + 'static {
    /// The kind of this record: the `kind` of the [`StreamType`] it travels on.
    fn kind(&self) -> &'static str;

    /// A hash of the fields at `fields` (indices into the stream type's field list), for fields
    /// grouping. It must depend on those fields only and be the same in every process: use
    /// [`StableHasher`](crate::StableHasher).
    fn key_hash(&self, fields: &[usize]) -> u64;

    /// A short description of the record, for the dead-letter output.
    fn describe(&self) -> String;

    /// A key for records that must stay in order with their siblings (the chunks of one binary
    /// file, decoded by one stateful decoder). Shuffle grouping spreads other records
    /// round-robin but sends all records with the same affinity to the same worker, in order.
    /// `None` (the default) means the record can go anywhere.
    fn affinity(&self) -> Option<u64> {
        None
    }
}

/// The type of a stream: the kind of record on it and the fields a fields grouping may name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StreamType {
    /// The record kind, as returned by [`Record::kind`].
    pub kind: &'static str,
    /// Field names usable in a fields grouping, in the order [`Record::key_hash`] indexes them.
    pub fields: &'static [&'static str],
}

impl StreamType {
    /// A stream type with no groupable fields.
    pub const fn new(kind: &'static str) -> Self {
        StreamType { kind, fields: &[] }
    }

    /// A stream type whose records can be grouped by `fields`.
    pub const fn with_fields(kind: &'static str, fields: &'static [&'static str]) -> Self {
        StreamType { kind, fields }
    }

    /// The index of a field, if this stream has it.
    pub fn field_index(&self, name: &str) -> Option<usize> {
        self.fields.iter().position(|field| *field == name)
    }
}
