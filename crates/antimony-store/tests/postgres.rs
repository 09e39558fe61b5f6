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

/// A server that takes connections over TLS only: `sslmode=require` with the authority that
/// issued its certificate (`sslrootcert`) stores and reads alerts; without that authority,
/// or without `sslmode`, the connection is refused, and says why.
#[test]
fn postgres_over_tls_verifies_the_server_certificate() {
    let (server, ca) = PostgresServer::start_tls();
    let ca = ca.to_str().expect("utf-8");
    let url = format!("{}?sslmode=require&sslrootcert={ca}", server.url());
    common::exercise(Store::open(&Location::parse(&url)).expect("the store opens over TLS"));
    let mut again = Store::open_existing(&Location::parse(&url)).expect("opens again");
    assert_eq!(again.count(&Filter::default()).expect("count"), 3);

    // verify-full is libpq's name for what is always done here.
    let full = format!("{}?sslmode=verify-full&sslrootcert={ca}", server.url());
    assert!(Store::open_existing(&Location::parse(&full)).is_ok());

    let untrusted = format!("{}?sslmode=require", server.url());
    let e = Store::open(&Location::parse(&untrusted)).expect_err("an unknown authority");
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");

    // Plain TCP is not let in (pg_hba says hostssl): the server refuses it, by name.
    let e = Store::open(&Location::parse(&server.url())).expect_err("plain refused");
    assert!(
        e.to_string().contains("127.0.0.1") && !e.to_string().contains(server.password()),
        "{e}"
    );
}
