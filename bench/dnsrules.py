"""The DNS job the peers run, in plain Python: parse a Windows DNS debug log line, then the
threat-intel list, the keyword rules and the long-name rule, with Antimony's own rule file
(crates/antimony-detect/rules/keywords.toml), list file and thresholds.

Used as is by the Bytewax job; the Flink job builds its SQL from the same rules
(`sql_*` functions). Antimony also runs its DGA model on every name, which neither peer does.
"""

import os
import re
import tomllib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KEYWORDS = os.path.join(ROOT, "crates/antimony-detect/rules/keywords.toml")
# Long-name limits: Antimony's defaults (LengthConfig).
MAX_NAME, MAX_LABEL, MAX_LABELS = 100, 50, 10
LENGTH_IGNORE = ("in-addr.arpa", "ip6.arpa")
WINDOW_S = 3600

_LENGTH_PREFIX = re.compile(r"\(\d+\)")


def parse_windows(line):
    """(hour bucket, client or None, qname) of a PACKET line, or None for other lines.

    Fields as Antimony's decoder reads them: date, time, [AM/PM], thread, PACKET, packet id,
    protocol, Snd/Rcv, remote IP, xid, [R], opcode, [flags letters rcode], qtype, qname.
    """
    parts = line.split()
    if len(parts) < 12 or not line[:1].isdigit():
        return None
    i = 3 if parts[2] in ("AM", "PM") else 2
    if parts[i + 1] != "PACKET":
        return None
    sent = parts[i + 4] == "Snd"
    remote = parts[i + 5]
    response = parts[i + 7] == "R"
    client = remote if sent == response else None
    qname = _LENGTH_PREFIX.sub(".", parts[-1]).strip(".").lower()
    # The hour of the day stands for the dedup window (the date and hour fields).
    hour = parts[0] + " " + parts[1].split(":")[0] + (parts[2] if i == 3 else "")
    return hour, client, qname


class PublicSuffixList:
    """Registered domain (eTLD+1) by the Public Suffix List's algorithm: rules, wildcards,
    exceptions; the default rule `*` when nothing matches."""

    def __init__(self, path):
        self.rules, self.wild, self.exceptions = set(), set(), set()
        with open(path, encoding="utf-8") as f:
            for line in f:
                rule = line.strip().split(" ")[0]
                if not rule or rule.startswith("//"):
                    continue
                rule = rule.encode("idna").decode() if not rule.isascii() else rule
                if rule.startswith("!"):
                    self.exceptions.add(rule[1:])
                elif rule.startswith("*."):
                    self.wild.add(rule[2:])
                else:
                    self.rules.add(rule)

    def registered_domain(self, name):
        labels = name.split(".")
        n = len(labels)
        suffix_len = 1
        for i in range(n):
            cand = ".".join(labels[i:])
            if cand in self.exceptions:
                suffix_len = n - i - 1
                break
            if cand in self.rules:
                suffix_len = n - i
                break
            if i + 1 < n and ".".join(labels[i + 1 :]) in self.wild:
                suffix_len = n - i
                break
        if suffix_len >= n:
            return None
        return ".".join(labels[n - suffix_len - 1 :])


def load_rules(path=KEYWORDS):
    with open(path, "rb") as f:
        doc = tomllib.load(f)
    allow = set(doc.get("allow", {}).get("domains", []))
    rules = []
    for r in doc["rule"]:
        rules.append({
            "name": r["name"],
            "scope": r.get("match", "registered_domain"),
            "keywords": r.get("keywords", []),
            "with": r.get("with", []),
            "patterns": r.get("patterns", []),
            "regexes": [re.compile(p) for p in r.get("patterns", [])],
            "allow": allow | set(r.get("allow", [])),
        })
    return rules


def load_list(path):
    with open(path) as f:
        return {l.strip().lower() for l in f if l.strip() and not l.startswith("#")}


class Detector:
    def __init__(self, blocklist_path, psl_path):
        self.blocklist = load_list(blocklist_path)
        self.psl = PublicSuffixList(psl_path)
        self.rules = load_rules()

    def detect(self, qname):
        """Names of the detectors (and rules) that fire on `qname`."""
        hits = []
        # Threat intel: the name or any parent domain on the list.
        suffix = qname
        while suffix:
            if suffix in self.blocklist:
                hits.append("threat_intel")
                break
            _, _, suffix = suffix.partition(".")
        reg = self.psl.registered_domain(qname)
        if reg:
            # Keyword rules look at the registered domain without its public suffix.
            label = reg.split(".")[0]
            for rule in self.rules:
                if reg in rule["allow"]:
                    continue
                text = label if rule["scope"] == "registered_domain" else qname[: len(qname) - len(reg) + len(label)]
                # Keywords (with a companion word when the rule names some), or a pattern.
                words = rule["keywords"] and any(k in text for k in rule["keywords"]) and (
                    not rule["with"] or any(w in text for w in rule["with"])
                )
                if words or any(r.search(text) for r in rule["regexes"]):
                    hits.append("keyword:" + rule["name"])
        if not qname.endswith(LENGTH_IGNORE):
            labels = qname.split(".")
            if len(qname) > MAX_NAME or len(labels) > MAX_LABELS or max(map(len, labels)) > MAX_LABEL:
                hits.append("long_name")
        return hits


# ---- Flink SQL built from the same rules ------------------------------------------------

def sql_str(s):
    return "'" + s.replace("'", "''") + "'"


def sql_any_like(column, words):
    return "(" + " OR ".join(f"POSITION({sql_str(w)} IN {column}) > 0" for w in words) + ")"


def sql_keyword_rules(reg_label, reg, name_text):
    """(rule name, SQL condition) per rule; `reg_label` and `name_text` are the two scopes."""
    out = []
    for rule in load_rules():
        text = reg_label if rule["scope"] == "registered_domain" else name_text
        parts = []
        if rule["keywords"]:
            words = sql_any_like(text, rule["keywords"])
            if rule["with"]:
                words += " AND " + sql_any_like(text, rule["with"])
            parts.append("(" + words + ")")
        parts += [f"REGEXP({text}, {sql_str(p)})" for p in rule["patterns"]]
        allow = ", ".join(sql_str(d) for d in sorted(rule["allow"]))
        out.append((rule["name"], "(" + " OR ".join(parts) + f") AND {reg} NOT IN ({allow})"))
    return out
