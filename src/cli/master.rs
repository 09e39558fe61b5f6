//! The lifecycle commands: `status`, `deactivate`, `activate`, `kill` and `alerts`, each a
//! call to a running topology's Topology Master (`crates/antimony-web/API.md`).

use std::time::{Duration, Instant};

use antimony_store::command::{self, Format};
use antimony_web::client::{self, Master};
use anyhow::bail;
use clap::Args;
use serde_json::Value;

/// How often `alerts --follow` asks for new alerts: a call is a few hundred microseconds of
/// the master's time, and an alert shows within a quarter of a second.
const FOLLOW_POLL: Duration = Duration::from_millis(250);

/// Where the Topology Master is, and its token.
#[derive(Debug, Args)]
pub(super) struct MasterArgs {
    /// The running topology's API (`antimony run --api`).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8700")]
    api: String,
    /// Its token (needed when it listens beyond loopback).
    #[arg(
        long,
        env = "ANTIMONY_API_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    api_token: Option<String>,
}

impl MasterArgs {
    fn connect(&self) -> Master {
        Master::new(&self.api, self.api_token.clone())
    }
}

#[derive(Debug, Args)]
pub(super) struct StatusArgs {
    #[command(flatten)]
    master: MasterArgs,
    /// The plan and the statistics as JSON (`{"topology", "stats"}`).
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
pub(super) struct KillArgs {
    #[command(flatten)]
    master: MasterArgs,
    /// Return once asked, without waiting for the run to end.
    #[arg(long)]
    no_wait: bool,
}

#[derive(Debug, Args)]
pub(super) struct AlertsArgs {
    #[command(flatten)]
    master: MasterArgs,
    #[command(flatten)]
    filters: super::report::Filters,
    /// Keep printing alerts as they arrive, until the topology stops.
    #[arg(long, short, conflicts_with = "store")]
    follow: bool,
    /// One JSON object per alert (with `seq` and `received_at`; with --store, the alerts
    /// file's lines).
    #[arg(long)]
    json: bool,
    /// Ask this alert store (a SQLite file or a postgres:// URL) instead of a running topology.
    #[arg(long, value_name = "FILE|URL")]
    store: Option<String>,
    /// With --store: CSV (RFC 4180), with a header row.
    #[arg(long, requires = "store", conflicts_with = "json")]
    csv: bool,
    /// At most this many, the newest (without --follow; 1 to 1000 from a topology).
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

/// `antimony status`: the plan and its rates.
pub(super) fn status(args: StatusArgs) -> anyhow::Result<()> {
    let master = args.master.connect();
    let topology = master.get("/api/topology", &[])?;
    let stats = master.get("/api/stats", &[])?;
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "topology": topology, "stats": stats })
        );
        return Ok(());
    }
    print!("{}", client::status_table(&topology, &stats));
    Ok(())
}

/// `antimony deactivate` and `antimony activate`.
pub(super) fn control(args: MasterArgs, call: &str) -> anyhow::Result<()> {
    let master = args.connect();
    let answer = master.post(call)?;
    eprintln!(
        "antimony: the topology at {} is {}",
        master.url(),
        answer["state"].as_str().unwrap_or("?")
    );
    Ok(())
}

/// `antimony kill`: asks the run to drain and stop, and waits until it has.
pub(super) fn kill(args: KillArgs) -> anyhow::Result<()> {
    let master = args.master.connect();
    master.post("/api/kill")?;
    if args.no_wait {
        eprintln!("antimony: the topology at {} is stopping", master.url());
        return Ok(());
    }
    let asked = Instant::now();
    while master.answers() {
        std::thread::sleep(Duration::from_millis(100));
        if asked.elapsed() > Duration::from_secs(120) {
            bail!(
                "the topology at {} was asked to stop 2 minutes ago and still answers",
                master.url()
            );
        }
    }
    eprintln!("antimony: the topology at {} has stopped", master.url());
    Ok(())
}

/// `antimony alerts`: recent alerts, and with `--follow` the ones that arrive after.
pub(super) fn alerts(args: AlertsArgs) -> anyhow::Result<()> {
    if let Some(store) = &args.store {
        let format = [(args.json, Format::Json), (args.csv, Format::Csv)];
        let format = format.iter().find(|f| f.0).map_or(Format::Table, |f| f.1);
        let filters = args.filters.text(Some(args.limit));
        let footer = command::alerts(store, &filters, format, &mut std::io::stdout().lock())?;
        eprint!("{}", footer.map_or_else(String::new, |line| line + "\n"));
        return Ok(());
    }
    let f = &args.filters;
    anyhow::ensure!(
        f.until.is_none(),
        "--until needs --store (a topology keeps recent alerts)"
    );
    let master = args.master.connect();
    let mut query: Vec<(&str, String)> = [
        ("detector", &f.detector),
        ("client", &f.client),
        ("domain", &f.domain),
        ("severity", &f.severity),
        ("since", &f.since),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.clone().map(|v| (k, v)))
    .collect();
    if !args.follow {
        query.push(("limit", args.limit.to_string()));
        let answer = master.get("/api/alerts", &query)?;
        let alerts = answer["alerts"].as_array().cloned().unwrap_or_default();
        // Newest last, as a log reads.
        for alert in alerts.iter().rev() {
            print_alert(alert, args.json);
        }
        if !args.json {
            eprint!("{}", client::alerts_footer(&answer, alerts.len()));
        }
        return Ok(());
    }
    // Follow: page forward from a cursor, oldest first, so that nothing is skipped however
    // many alerts arrive between two calls. Without --since, from now on (as `tail -f`
    // would with no lines asked for).
    let mut after: Option<u64> = None;
    if args.filters.since.is_none() {
        let now = master.get("/api/alerts", &[("limit", "1".to_owned())])?;
        after = Some(now["last_seq"].as_u64().unwrap_or(0));
    }
    query.push(("order", "oldest".to_owned()));
    query.push(("limit", antimony_web::alerts::MAX_LIMIT.to_string()));
    loop {
        let mut page = query.clone();
        if let Some(after) = after {
            page.retain(|(k, _)| *k != "since");
            page.push(("after", after.to_string()));
        }
        let answer = match master.get("/api/alerts", &page) {
            Ok(answer) => answer,
            // The topology ended (killed, or its input done): so does following it.
            Err(_) if after.is_some() && !master.answers() => {
                eprintln!("antimony: the topology at {} has stopped", master.url());
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let alerts = answer["alerts"].as_array().cloned().unwrap_or_default();
        for alert in &alerts {
            print_alert(alert, args.json);
        }
        let last = alerts
            .last()
            .and_then(|a| a["seq"].as_u64())
            .or(after)
            .unwrap_or_else(|| answer["last_seq"].as_u64().unwrap_or(0));
        after = Some(last);
        if alerts.len() < antimony_web::alerts::MAX_LIMIT {
            std::thread::sleep(FOLLOW_POLL);
        }
    }
}

fn print_alert(alert: &Value, json: bool) {
    if json {
        println!("{alert}");
    } else {
        println!("{}", client::alert_line(alert));
    }
}
