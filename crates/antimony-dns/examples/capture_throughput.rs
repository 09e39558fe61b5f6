//! Times the pcap or dnstap decoder on a file, as a peer for `tshark` and `tcpdump`.
//!
//! ```text
//! cargo run --release -p antimony-dns --example capture_throughput -- write /tmp/big.pcap 1000000
//! cargo run --release -p antimony-dns --example capture_throughput -- decode /tmp/big.pcap
//! time tshark -r /tmp/big.pcap -T fields -e dns.qry.name > /dev/null
//! time tcpdump -nr /tmp/big.pcap > /dev/null
//! ```
//!
//! `write-dnstap PATH TIMES` writes bind.dnstap's frames repeated.
//!
//! `write` builds a pcap of the lab's UDP packets with the servers' ports set to 53 (see
//! `benches/common`); `decode` reads a file in 64 KiB chunks, as the engine does, and
//! prints the counts and packets per second.

use std::io::Read;
use std::time::Instant;

use antimony_dns::DecodeOptions;
use antimony_dns::stream::BinaryFormat;

#[path = "../benches/common/mod.rs"]
mod common;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["write", path, packets] => {
            let (file, count) = common::big_pcap(packets.parse()?);
            std::fs::write(path, file)?;
            println!("{path}: {count} packets");
        }
        ["write-dnstap", path, times] => {
            let (file, count) = common::big_dnstap(times.parse()?);
            std::fs::write(path, file)?;
            println!("{path}: {count} frames");
        }
        ["decode", path] => {
            let start = Instant::now();
            let mut file = std::fs::File::open(path)?;
            let mut buf = vec![0u8; 64 * 1024];
            let n = file.read(&mut buf)?;
            let format = BinaryFormat::detect(&buf[..n]).ok_or("unknown format")?;
            let mut decoder = format.decoder(&DecodeOptions::default());
            let mut out = Vec::new();
            let mut names = 0usize;
            let mut chunk = &buf[..n];
            loop {
                decoder.push(chunk, &mut out);
                names += out.iter().flatten().map(|e| e.qname.len()).sum::<usize>();
                out.clear();
                let n = file.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                chunk = &buf[..n];
            }
            decoder.finish(&mut out);
            let elapsed = start.elapsed().as_secs_f64();
            let stats = decoder.stats();
            println!("{stats:?}");
            println!(
                "{} records, {} messages ({names} name bytes) in {elapsed:.3} s: {:.0} records/s",
                stats.records,
                stats.messages,
                stats.records as f64 / elapsed
            );
        }
        _ => {
            return Err(
                "usage: capture_throughput write PATH PACKETS | write-dnstap PATH TIMES \
                        | decode PATH"
                    .into(),
            );
        }
    }
    Ok(())
}
