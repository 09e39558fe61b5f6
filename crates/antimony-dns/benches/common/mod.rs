//! Benchmark inputs built in memory from the lab captures (shared by `benches/wire.rs` and
//! `examples/capture_throughput.rs`).

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data");

/// A pcap of about `packets` packets: the lab's UDP packets (four servers answering 818
/// queries each), repeated, with the servers' ports 5301-5304 rewritten to 53 so that
/// tcpdump and tshark decode them as DNS too. Returns the file and its packet count.
pub fn big_pcap(packets: usize) -> (Vec<u8>, u64) {
    let lab = std::fs::read(format!("{DATA}/pcaps/lab/lab_dns.pcap")).unwrap_or_default();
    let mut records: Vec<Vec<u8>> = Vec::new();
    let mut at = 24;
    while let Some(header) = lab.get(at..at + 16) {
        let caplen = u32::from_le_bytes([header[8], header[9], header[10], header[11]]) as usize;
        let Some(record) = lab.get(at..at + 16 + caplen) else {
            break;
        };
        // Ethernet + IPv4 (IHL 5) + UDP: ports at 16 + 14 + 20.
        let mut record = record.to_vec();
        if record.get(16 + 23) == Some(&17) {
            for port_at in [16 + 34, 16 + 36] {
                let port = u16::from_be_bytes([record[port_at], record[port_at + 1]]);
                if (5300..=5304).contains(&port) {
                    record[port_at..port_at + 2].copy_from_slice(&53u16.to_be_bytes());
                }
            }
            records.push(record);
        }
        at += 16 + caplen;
    }
    let mut file = lab.get(..24).unwrap_or_default().to_vec();
    let mut count = 0u64;
    while (count as usize) < packets && !records.is_empty() {
        for record in &records {
            file.extend_from_slice(record);
            count += 1;
        }
    }
    (file, count)
}

/// A dnstap file: bind.dnstap's data frames repeated `times` times between one START and
/// one STOP. Returns the file and its data frame count.
pub fn big_dnstap(times: usize) -> (Vec<u8>, u64) {
    let bind = std::fs::read(format!("{DATA}/dnstap/bind.dnstap")).unwrap_or_default();
    // START is 42 bytes (escape, length, type, content type field); STOP the last 12.
    let Some(frames) = bind.get(42..bind.len().saturating_sub(12)) else {
        return (Vec::new(), 0);
    };
    let mut count = 0;
    let mut at = 0;
    while let Some(len) = frames.get(at..at + 4) {
        at += 4 + u32::from_be_bytes([len[0], len[1], len[2], len[3]]) as usize;
        count += 1;
    }
    let mut file = bind[..42].to_vec();
    for _ in 0..times {
        file.extend_from_slice(frames);
    }
    file.extend_from_slice(&bind[bind.len() - 12..]);
    (file, count * times as u64)
}
