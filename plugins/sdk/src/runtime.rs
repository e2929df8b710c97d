//! The configured scorer for the lifetime of one instance (used by the macro).

use crate::Scorer;
use std::any::Any;
use std::cell::RefCell;

thread_local! {
    static CONFIGURED: RefCell<Option<Box<dyn Any>>> = const { RefCell::new(None) };
}

pub fn configure<S: Scorer>(config: &str) -> Result<(), String> {
    let scorer = S::configure(config)?;
    CONFIGURED.with(|c| *c.borrow_mut() = Some(Box::new(scorer)));
    Ok(())
}

/// Run `f` with the configured scorer, configuring the defaults first when the
/// host did not call `configure`.
pub fn with<S: Scorer, R>(f: impl FnOnce(&S) -> Result<R, String>) -> Result<R, String> {
    let missing = CONFIGURED.with(|c| c.borrow().is_none());
    if missing {
        configure::<S>("{}")?;
    }
    CONFIGURED.with(|c| {
        let guard = c.borrow();
        let scorer = guard
            .as_ref()
            .and_then(|b| b.downcast_ref::<S>())
            .ok_or_else(|| "scorer is not configured".to_string())?;
        f(scorer)
    })
}
