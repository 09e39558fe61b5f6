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
pub const ASSETS: &[Asset] = &[];

/// The asset called `name`, if there is one.
pub fn find(name: &str) -> Option<&'static Asset> {
    ASSETS.iter().find(|a| a.name == name)
}
