//! The store on SQLite: the common checks, and what only SQLite has (size retention, a
//! reader while a writer holds the file, refusing what is not a store); output formats and
//! the alerts-file reader.

mod common;

use antimony_detect::Severity;
use antimony_store::alerts_file;
use antimony_store::output::{CSV_HEADER, write_csv, write_json};
use antimony_store::report::{ReportInput, render};
use antimony_store::{Filter, Location, Retention, Store, StoredAlert};

use common::{T0, alert, sample};

fn open(dir: &tempfile::TempDir) -> (Location, Store) {
    let location = Location::Sqlite(dir.path().join("alerts.db"));
    let store = Store::open(&location).expect("a new store opens");
    (location, store)
}

#[test]
fn stores_replays_filters_and_expires_alerts() {
    let dir = tempfile::tempdir().expect("a temp dir");
    common::exercise(open(&dir).1);
}

#[test]
fn a_reader_sees_what_a_writer_committed_while_it_writes() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (location, mut writer) = open(&dir);
    writer.insert(&sample()[..4]).expect("insert");
    let mut reader = Store::open_existing(&location).expect("a second connection");
    assert_eq!(reader.count(&Filter::default()).expect("count"), 4);
    writer.insert(&sample()[4..]).expect("insert");
    assert_eq!(reader.count(&Filter::default()).expect("count"), 12);
    writer.sync().expect("checkpoint");
}

#[test]
fn size_retention_shrinks_the_file_oldest_first() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (location, mut store) = open(&dir);
    let alerts: Vec<StoredAlert> = (0..3000)
        .map(|i| {
            let mut a = alert(
                i,
                "dga",
                Severity::Low,
                "10.0.0.9",
                &format!("n{i}-{}.example.com", "x".repeat(200)),
            );
            a.reason = "r".repeat(300);
            StoredAlert::from_alert(&a)
        })
        .collect();
    store.insert(&alerts).expect("insert");
    store.sync().expect("checkpoint");
    let Location::Sqlite(path) = &location else {
        unreachable!()
    };
    let before = std::fs::metadata(path).expect("the file").len();
    assert!(before > 1_000_000, "{before} bytes");
    let max = 256 * 1024;
    let removed = store
        .apply_retention(&Retention {
            max_bytes: Some(max),
            ..Default::default()
        })
        .expect("retention");
    assert!(removed.by_size > 2000, "{removed:?}");
    store.sync().expect("checkpoint");
    let after = std::fs::metadata(path).expect("the file").len();
    assert!(after <= max, "{after} bytes left, at most {max} wanted");
    let left = store.query(&Filter::default()).expect("query");
    assert_eq!(left.len() as u64, 3000 - removed.by_size);
    // The newest stayed.
    assert_eq!(left.last(), alerts.last());
    assert_eq!(left.first(), alerts.get(removed.by_size as usize));
}

#[test]
fn what_is_not_a_store_is_refused_clearly() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let missing = Location::Sqlite(dir.path().join("nope.db"));
    let e = Store::open_existing(&missing).expect_err("refused");
    assert!(e.to_string().contains("no such file"), "{e}");
    let text = dir.path().join("text.db");
    std::fs::write(&text, "hello, not a database\n".repeat(100)).expect("write");
    let e = Store::open_existing(&Location::Sqlite(text)).expect_err("refused");
    assert!(e.to_string().contains("not"), "{e}");
    // An empty SQLite database is no store either.
    let empty = dir.path().join("empty.db");
    rusqlite_free_empty(&empty);
    let e = Store::open_existing(&Location::Sqlite(empty)).expect_err("refused");
    assert!(e.to_string().contains("not an Antimony alert store"), "{e}");
}

/// An empty file: SQLite takes it as an empty database.
fn rusqlite_free_empty(path: &std::path::Path) {
    std::fs::write(path, b"").expect("write");
}

#[test]
fn postgres_passwords_are_never_shown() {
    let location = Location::parse(
        "postgres://antimony:s3cret@db.example:5432/alerts?sslmode=disable&password=other",
    );
    let shown = location.display();
    assert!(
        !shown.contains("s3cret") && !shown.contains("other"),
        "{shown}"
    );
    assert!(
        shown.contains("antimony:***@db.example:5432/alerts"),
        "{shown}"
    );
    assert_eq!(
        Location::parse("alerts.db"),
        Location::Sqlite("alerts.db".into())
    );
}

#[test]
fn json_output_is_the_alerts_file_lines_and_csv_parses_back() {
    let alerts = sample();
    let mut json = Vec::new();
    write_json(&alerts, &mut json).expect("write");
    let lines: Vec<String> = alerts.iter().map(|a| a.json.clone()).collect();
    assert_eq!(
        String::from_utf8(json).expect("UTF-8"),
        lines.join("\n") + "\n"
    );

    let mut csv_bytes = Vec::new();
    write_csv(&alerts, &mut csv_bytes).expect("write");
    let text = String::from_utf8(csv_bytes).expect("UTF-8");
    // RFC 4180: CRLF, fields with quotes, commas or newlines quoted, quotes doubled.
    assert!(text.starts_with(
        "id,ts,detector,severity,score,client,domain,registered_domain,reason,evidence\r\n"
    ));
    assert!(
        text.contains("\"a0.evil.com looks bad, \"\"quoted\"\", with a comma\nand a newline\""),
        "{text}"
    );
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader
            .headers()
            .expect("a header")
            .iter()
            .collect::<Vec<_>>(),
        CSV_HEADER
    );
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("CSV parses");
    assert_eq!(rows.len(), alerts.len());
    for (row, a) in rows.iter().zip(&alerts) {
        assert_eq!(&row[0], a.id);
        assert_eq!(&row[2], a.detector);
        assert_eq!(&row[6], a.domain);
        assert_eq!(&row[8], a.reason);
        assert_eq!(&row[9], r#"{"lists":["maltrail"]}"#);
    }
}

/// Attacker-chosen text that a spreadsheet would run as a formula is defused in CSV, and only
/// there: the JSON lines keep it as it was.
#[test]
fn csv_cells_that_a_spreadsheet_would_run_are_defused() {
    let mut alerts = sample();
    alerts[0].reason = "=HYPERLINK(\"http://evil.example\",\"click\")".to_owned();
    alerts[0].domain = "@sum(1+1).evil.com".to_owned();
    alerts[1].reason = "-2+3".to_owned();
    let mut csv_bytes = Vec::new();
    write_csv(&alerts, &mut csv_bytes).expect("write");
    let mut reader = csv::Reader::from_reader(csv_bytes.as_slice());
    let rows: Vec<csv::StringRecord> = reader
        .records()
        .collect::<Result<_, _>>()
        .expect("CSV parses");
    assert_eq!(
        &rows[0][8],
        "'=HYPERLINK(\"http://evil.example\",\"click\")"
    );
    assert_eq!(&rows[0][6], "'@sum(1+1).evil.com");
    assert_eq!(&rows[1][8], "'-2+3");
    assert_eq!(&rows[2][8], alerts[2].reason, "plain text is left alone");
}

#[test]
fn an_alerts_file_reads_back_with_its_bad_lines_named() {
    let alerts = sample();
    let mut text = String::new();
    for (i, a) in alerts.iter().enumerate() {
        text.push_str(&a.json);
        text.push('\n');
        if i == 2 {
            text.push_str("{\"id\":\"x\",\"ts\":\"yesterday\"}\n\nnot json\n");
        }
    }
    text.push_str(&"z".repeat(alerts_file::MAX_LINE_BYTES + 10));
    text.push_str("\n{\"truncated\":");
    let read = alerts_file::read_from(text.as_bytes(), "alerts.jsonl").expect("reads");
    assert_eq!(read.alerts, alerts);
    let locations: Vec<&str> = read
        .unreadable
        .iter()
        .map(|u| u.location.as_str())
        .collect();
    assert_eq!(
        locations,
        [
            "alerts.jsonl:4",
            "alerts.jsonl:6",
            "alerts.jsonl:16",
            "alerts.jsonl:17"
        ]
    );
    assert!(read.unreadable[2].reason.contains("longer than"));
}

#[test]
fn the_report_shows_hostile_names_as_text() {
    let mut alerts = sample();
    let hostile = StoredAlert::from_alert(&{
        let mut a = alert(
            5,
            "keyword",
            Severity::Critical,
            "10.6.6.6",
            "<script>alert(1)</script>.evil.com",
        );
        a.reason = "\"onmouseover=alert(2) x=\" & more".into();
        a
    });
    alerts.push(hostile);
    alerts.sort_by_key(|a| (a.ts, a.id.clone()));
    let page = render(&ReportInput {
        source: "store <alerts>.db",
        filters: "",
        generated: T0,
        alerts: &alerts,
        unreadable: &[],
    });
    assert!(
        !page.contains("<script>"),
        "markup from an alert reached the page"
    );
    assert!(!page.contains("\"onmouseover"));
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt;.evil.com"));
    assert!(page.contains("&quot;onmouseover=alert(2) x=&quot; &amp; more"));
    assert!(page.contains("store &lt;alerts&gt;.db"));
    assert!(page.contains("<svg id=\"timeline\""));
    assert_eq!(
        page.matches("<tr><td>2017-").count(),
        13,
        "one row per alert"
    );
}
