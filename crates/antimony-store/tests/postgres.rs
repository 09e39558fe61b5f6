//! The store on a real PostgreSQL server the test starts: the same checks as on SQLite,
//! and a refused connection reported without the password.

mod common;

use antimony_store::{Filter, Location, Retention, Store};
use common::postgres_server::PostgresServer;

#[test]
fn postgres_stores_replays_filters_and_expires_alerts() {
    let server = PostgresServer::start();
    let location = Location::parse(&server.url());
    common::exercise(Store::open(&location).expect("the store opens"));

    // Opening again finds the schema (and its version) in place.
    let mut again = Store::open_existing(&location).expect("opens again");
    assert_eq!(again.count(&Filter::default()).expect("count"), 3);
    // Size retention is SQLite's alone, and says so.
    let e = again
        .apply_retention(&Retention {
            max_bytes: Some(1 << 20),
            ..Default::default()
        })
        .expect_err("refused");
    assert!(e.to_string().contains("SQLite"), "{e}");

    // A refused connection (no password, a wrong one, a missing database) names the
    // server, never the password.
    for url in [
        server.url_without_password(),
        format!(
            "postgres://postgres:hunter2@127.0.0.1:{}/postgres",
            server.port()
        ),
        format!(
            "postgres://postgres:{}@127.0.0.1:{}/no_such_db",
            server.password(),
            server.port()
        ),
    ] {
        let e = Store::open(&Location::parse(&url)).expect_err("refused");
        let text = e.to_string();
        assert!(
            !text.contains("hunter2") && !text.contains(server.password()),
            "{text}"
        );
        assert!(text.contains("127.0.0.1"), "{text}");
    }
}
