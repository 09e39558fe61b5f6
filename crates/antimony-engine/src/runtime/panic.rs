//! Containing panics in user components.
//!
//! The engine runs each `process` call under `catch_unwind`. A process-wide panic hook (installed
//! once, chaining to the previous hook) stays quiet for panics inside a component, and records
//! their message and location so the dead-letter entry can say what happened; any other panic
//! is reported by the previous hook as usual.

use std::any::Any;
use std::cell::{Cell, RefCell};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

thread_local! {
    static INSIDE_COMPONENT: Cell<bool> = const { Cell::new(false) };
    static LAST_LOCATION: RefCell<Option<String>> = const { RefCell::new(None) };
}

static INSTALL: Once = Once::new();

/// Installs the hook. Idempotent.
pub(crate) fn install_hook() {
    INSTALL.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if INSIDE_COMPONENT.with(Cell::get) {
                let location = info
                    .location()
                    .map(|l| format!("{}:{}", l.file(), l.line()));
                LAST_LOCATION.with(|cell| *cell.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
}

/// Runs `f`, turning a panic into a message (`"panicked at src/x.rs:10: index out of bounds"`).
#[inline]
pub(crate) fn contain<T>(f: impl FnOnce() -> T) -> Result<T, String> {
    INSIDE_COMPONENT.with(|c| c.set(true));
    let result = panic::catch_unwind(AssertUnwindSafe(f));
    INSIDE_COMPONENT.with(|c| c.set(false));
    result.map_err(|payload| {
        let message = payload_message(payload.as_ref());
        match LAST_LOCATION.with(|cell| cell.borrow_mut().take()) {
            Some(location) => format!("panicked at {location}: {message}"),
            None => format!("panicked: {message}"),
        }
    })
}

fn payload_message(payload: &(dyn Any + Send)) -> String {
    if let Some(s) = payload.downcast_ref::<&str>() {
        (*s).to_owned()
    } else if let Some(s) = payload.downcast_ref::<String>() {
        s.clone()
    } else {
        "(a panic with a non-text payload)".to_owned()
    }
}
