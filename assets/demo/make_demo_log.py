#!/usr/bin/env python3
"""Writes dns-demo.log, the sample Windows DNS Server debug log `antimony demo` replays.

The log is synthetic but in the exact format of a real Windows DNS debug log: the header
Windows writes, then query-received / response-sent packet pairs from a few clients. It holds
the talk's examples (the ns1.ctc.gov.qa line verbatim, Carbanak's update-java.net,
systemsvc.net and adobe-update.net, Dyre's DGA names), two names from the bundled
maltrail sample list, and ordinary traffic to popular sites. Deterministic: no randomness.

    python3 assets/demo/make_demo_log.py > assets/demo/dns-demo.log
"""

HEADER = """DNS Server log file creation at 8/12/2017 9:35:31 AM
Log file wrap at 8/12/2017 9:35:31 AM

Message logging key (for packets - other items use a subset of these fields):
\tField #  Information         Values
\t-------  -----------         ------
\t   1     Date
\t   2     Time
\t   3     Thread ID
\t   4     Context
\t   5     Internal packet identifier
\t   6     UDP/TCP indicator
\t   7     Send/Receive indicator
\t   8     Remote IP
\t   9     Xid (hex)
\t  10     Query/Response      R = Response
\t                             blank = Query
\t  11     Opcode              Q = Standard Query
\t                             N = Notify
\t                             U = Update
\t                             ? = Unknown
\t  12     [ Flags (hex)
\t  13     Flags (char codes)  A = Authoritative Answer
\t                             T = Truncated Response
\t                             D = Recursion Desired
\t                             R = Recursion Available
\t  14     ResponseCode ]
\t  15     Question Type
\t  16     Question Name
"""

TALK_LINE = ("8/12/2017 9:35:32 AM 0490 PACKET  000000216EFFC910 UDP Snd 212.77.192.37   "
             "80a8 R Q [1080       NOERROR] A      (3)ns1(3)ctc(3)gov(2)qa(0)")

POPULAR = ["google.com", "www.google.com", "facebook.com", "www.youtube.com", "wikipedia.org",
           "en.wikipedia.org", "microsoft.com", "update.microsoft.com", "windowsupdate.com",
           "java.com", "www.adobe.com", "login.live.com", "outlook.office365.com",
           "www.bbc.co.uk", "github.com", "api.github.com", "ns1.ctc.gov.qa", "www.qatar.qa"]

# (client, name, qtype, rcode): the names an analyst must be told about.
SUSPICIOUS = [
    ("10.20.0.6", "update-java.net", "A", "NOERROR"),        # Carbanak, keyword rule
    ("10.20.0.6", "systemsvc.net", "A", "NOERROR"),          # Carbanak, keyword rule
    ("10.20.0.31", "adobe-update.net", "A", "NOERROR"),      # Carbanak, keyword rule, no list
    ("10.20.0.17", "afadsfasdfsafwerwqerqqiye.cn", "A", "NXDOMAIN"),  # Dyre DGA
    ("10.20.0.17", "jlaooireqieoruqoireqpwoiue.to", "A", "NXDOMAIN"),  # Dyre DGA
    ("10.20.0.44", "acnanz.net", "A", "NOERROR"),            # maltrail list
    ("10.20.0.44", "cdn.viva2299.com", "A", "NOERROR"),      # subdomain of a listed name
]

CLIENTS = ["10.20.0.6", "10.20.0.17", "10.20.0.31", "10.20.0.44", "10.20.0.52", "10.20.0.60"]
QTYPE_FLAGS = {"NOERROR": "8081   DR  NOERROR", "NXDOMAIN": "8381   DR NXDOMAIN"}


def encode(name):
    return "".join(f"({len(label)}){label}" for label in name.split(".")) + "(0)"


def clock(second):
    s = 33 + second
    minute, s = 35 + s // 60, s % 60
    return f"8/12/2017 9:{minute:02d}:{s:02d} AM"


def pair(second, packet, client, name, qtype, rcode):
    xid = (0x1000 + packet * 97) % 0x10000
    ident = f"{0x216EFFC000 + packet * 0x110:016X}"
    query = (f"{clock(second)} 0490 PACKET  {ident} UDP Rcv {client:<15} {xid:04x}   "
             f"Q [0001   D   NOERROR] {qtype:<6} {encode(name)}")
    answer = (f"{clock(second)} 0490 PACKET  {ident} UDP Snd {client:<15} {xid:04x} R "
              f"Q [{QTYPE_FLAGS[rcode]}] {qtype:<6} {encode(name)}")
    return [query, answer]


def main():
    lines = [HEADER, TALK_LINE]
    packet = 0
    suspicious = iter(SUSPICIOUS)
    for second in range(60):
        for i, client in enumerate(CLIENTS):
            name = POPULAR[(second * 5 + i * 7) % len(POPULAR)]
            qtype = "AAAA" if (second + i) % 4 == 0 else "A"
            lines += pair(second, packet, client, name, qtype, "NOERROR")
            packet += 1
        # A suspicious name every few seconds, each asked twice (dedup shows one alert).
        if second % 4 == 1:
            item = next(suspicious, None)
            if item:
                for repeat in range(2):
                    lines += pair(second, packet, *item)
                    packet += 1
    print("\n".join(lines))


if __name__ == "__main__":
    main()
