//! The dashboard's files, compiled in: it works offline, from any page the API serves.

/// A bundled file: its name under `/assets/`, its content type and its text.
pub struct Asset {
    /// The file's name.
    pub name: &'static str,
    /// Its content type.
    pub content_type: &'static str,
    /// Its contents.
    pub body: &'static str,
}

/// The page at `/`.
pub const INDEX: &str = include_str!("../assets/index.html");

/// The other files, served at `/assets/<name>`.
pub const ASSETS: &[Asset] = &[
    Asset {
        name: "app.js",
        content_type: "text/javascript; charset=utf-8",
        body: include_str!("../assets/app.js"),
    },
    Asset {
        name: "style.css",
        content_type: "text/css; charset=utf-8",
        body: include_str!("../assets/style.css"),
    },
];

/// The policy every answer carries: the page runs its own script and style and calls its
/// own API, nothing else; a domain that got into markup still could not run or load
/// anything (the page puts values in as text anyway).
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The asset called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}
