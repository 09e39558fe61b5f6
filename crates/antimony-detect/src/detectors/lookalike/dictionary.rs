//! The dictionary kind: the words phishing and brand-abuse names put beside a brand
//! (`paypal-secure-login`, `verify-account-apple`), and the test that what surrounds a brand
//! in a label is made of them.

use ahash::AHashSet;

use super::fold::fold_label;

/// Words phishing campaigns put next to a brand, written from how those campaigns talk to
/// their victims (sign in, verify, pay, track a parcel, read a document), not from any test
/// list: a name made of a brand and only these words, in any order, hyphens or not, digits
/// allowed (`paypal-login2024`, `secureverify-dhl`), is a lookalike.
///
/// Left out on purpose: words that name the brands' own services (`mail`, `store`, `drive`,
/// `cdn`, `play`, `apps`, `news`, `video`, `live`, `data`: `googlemail.com`,
/// `microsoftstore.com`, `cdninstagram.com`, `googleapps.com` are real), words that
/// complete ordinary names more often than lures (`chat`, `now`, `page`, `link`: `livechat.com`,
/// `livehelpnow.net`, `mylivepage.com`, `link2gov.com`), and single letters.
/// Every word was checked against the benign lists of `shared/data` (see the module docs).
pub const DICTIONARY: &[&str] = &[
    // Signing in and proving who you are.
    "login",
    "logins",
    "logon",
    "signin",
    "signon",
    "sign-in",
    "sso",
    "auth",
    "oauth",
    "authenticate",
    "authentication",
    "authenticator",
    "authorize",
    "authorization",
    "password",
    "passwords",
    "passcode",
    "otp",
    "mfa",
    "credential",
    "credentials",
    "identity",
    "id",
    "verify",
    "verified",
    "verification",
    "validate",
    "validation",
    "confirm",
    "confirmation",
    "unlock",
    "locked",
    "reset",
    "recover",
    "recovery",
    "restore",
    "activate",
    "activation",
    "reactivate",
    "reactivation",
    "register",
    "registration",
    "signup",
    "enroll",
    "enrollment",
    "session",
    "webscr",
    // The account and its owner.
    "account",
    "accounts",
    "acct",
    "profile",
    "member",
    "members",
    "membership",
    "user",
    "users",
    "client",
    "clients",
    "customer",
    "customers",
    "my",
    "your",
    // Security scares.
    "secure",
    "secured",
    "security",
    "safe",
    "safety",
    "protect",
    "protection",
    "protected",
    "trust",
    "trusted",
    "ssl",
    "https",
    "alert",
    "alerts",
    "warning",
    "notice",
    "notification",
    "notifications",
    "notify",
    "fraud",
    "unusual",
    "activity",
    "suspicious",
    "incident",
    "blocked",
    "suspend",
    "suspended",
    "suspension",
    "limited",
    "restricted",
    "disabled",
    "review",
    "check",
    "compliance",
    "kyc",
    // Help and support.
    "support",
    "help",
    "helpdesk",
    "helpline",
    "helpcenter",
    "service",
    "services",
    "care",
    "assist",
    "assistance",
    "contact",
    "desk",
    "center",
    "centre",
    "team",
    "staff",
    "official",
    "info",
    "resolution",
    "resolve",
    "claim",
    "claims",
    "case",
    "ticket",
    "appeal",
    "dispute",
    // Money.
    "billing",
    "bill",
    "bills",
    "invoice",
    "invoices",
    "payment",
    "payments",
    "pay",
    "payout",
    "checkout",
    "order",
    "orders",
    "purchase",
    "refund",
    "refunds",
    "rebate",
    "cash",
    "cashback",
    "money",
    "funds",
    "transfer",
    "transaction",
    "transactions",
    "deposit",
    "withdraw",
    "withdrawal",
    "balance",
    "statement",
    "tax",
    "fee",
    "fees",
    "charge",
    "credit",
    "debit",
    "card",
    "cards",
    "bank",
    "banking",
    "wallet",
    "wallets",
    "crypto",
    "coin",
    "token",
    "reward",
    "rewards",
    "bonus",
    "gift",
    "gifts",
    "giftcard",
    "voucher",
    "coupon",
    "promo",
    "offer",
    "offers",
    "prize",
    "winner",
    "free",
    "giveaway",
    "airdrop",
    "lottery",
    // Updates, deadlines and urgency.
    "update",
    "updates",
    "updater",
    "upgrade",
    "renew",
    "renewal",
    "subscription",
    "subscribe",
    "cancel",
    "cancellation",
    "expire",
    "expired",
    "expiry",
    "required",
    "action",
    "urgent",
    "important",
    "pending",
    "today",
    // Documents, messages and files.
    "document",
    "documents",
    "doc",
    "file",
    "files",
    "share",
    "shared",
    "fileshare",
    "download",
    "install",
    "setup",
    "attachment",
    "pdf",
    "scan",
    "fax",
    "voicemail",
    "message",
    "messages",
    "inbox",
    "webmail",
    "email",
    "mailbox",
    "meeting",
    "invite",
    "invitation",
    "esign",
    "signature",
    "approve",
    "approval",
    "viewer",
    // Parcels.
    "delivery",
    "redelivery",
    "shipping",
    "shipment",
    "parcel",
    "package",
    "track",
    "tracking",
    "status",
    "express",
    "courier",
    "customs",
    "reschedule",
    "pickup",
    // The site itself.
    "online",
    "web",
    "www",
    "app",
    "get",
    "new",
    "cloud",
    "storage",
    "docs",
    "shop",
    "server",
    "system",
    "software",
    "manager",
    "dashboard",
    "meet",
    "tech",
    "portal",
    "gateway",
    "site",
    "mobile",
    "connect",
    "sync",
    "hub",
    "direct",
    "access",
    // Who seems to write.
    "corp",
    "corporate",
    "inc",
    "llc",
    "ltd",
    "group",
    "global",
    "intl",
    "hr",
    "payroll",
    "benefits",
    "employee",
    "admin",
    "it",
    "us",
    "usa",
    "uk",
    "eu",
];

/// The dictionary as written and folded, and the test that a string is made of its words.
#[derive(Clone, Debug)]
pub(super) struct Words {
    raw: AHashSet<&'static str>,
    folded: AHashSet<String>,
    longest: usize,
}

impl Words {
    pub(super) fn new() -> Self {
        let folded: AHashSet<String> = DICTIONARY.iter().map(|w| fold_label(w)).collect();
        let longest = DICTIONARY
            .iter()
            .map(|w| w.len())
            .chain(folded.iter().map(String::len))
            .max()
            .unwrap_or(0);
        Words {
            raw: DICTIONARY.iter().copied().collect(),
            folded,
            longest,
        }
    }

    fn contains(&self, w: &str, folded: bool) -> bool {
        if folded {
            self.folded.contains(w)
        } else {
            self.raw.contains(w)
        }
    }

    /// True when `s` is one or more dictionary words, with hyphens and runs of up to four
    /// digits (`2024`, `365`) between or around them (`secure-login2`, `verifyaccount`).
    /// Digits alone are not enough: `paypal2024` is no dictionary hit.
    pub(super) fn covers(&self, s: &str, folded: bool) -> bool {
        const REACHED: u8 = 1;
        const WORD: u8 = 2;
        let b = s.as_bytes();
        let n = b.len();
        if n == 0 || n > 63 {
            return false;
        }
        // reach[i]: the first i bytes are covered (REACHED), with a word among them (WORD).
        let mut reach = [0u8; 64];
        reach[0] = REACHED;
        for i in 0..n {
            let r = reach[i];
            if r == 0 {
                continue;
            }
            if b[i] == b'-' {
                reach[i + 1] |= r;
                continue;
            }
            if b[i].is_ascii_digit() {
                let run = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
                if run <= 4 {
                    reach[i + run] |= r;
                }
                continue;
            }
            for len in 2..=self.longest.min(n - i) {
                if let Some(w) = s.get(i..i + len)
                    && self.contains(w, folded)
                {
                    reach[i + len] |= r | WORD;
                }
            }
        }
        reach[n] & WORD != 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn covers() {
        let w = Words::new();
        for (s, expected) in [
            ("login", true),
            ("secure-login", true),
            ("secureverifyaccount", true),
            ("login2024", true),
            ("-login-", true),
            ("2024", false),
            ("", false),
            ("logins-x", false),
            ("loginx", false),
            ("depot", false),
            ("login12345", false),
        ] {
            assert_eq!(w.covers(s, false), expected, "{s}");
        }
        assert!(w.covers(&fold_label("signin"), true));
    }
}
